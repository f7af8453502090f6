/**
 * The command table as an operator meets it: `--help` for every command
 * (exit 0, its own usage), `--version` from package.json, the overview listing
 * every command, and an unknown command refused with exit 2.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, runCli } from "../../src/devkit/cli_process.js";

const COMMANDS = ["run", "check", "token", "login", "demo"];

describe("aaa-leafnode help and version", () => {
  for (const name of COMMANDS) {
    test(`${name} --help prints its usage and exits 0`, async () => {
      const r = await runCli([name, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage:/);
      assert.ok(r.stdout.includes(`aaa-leafnode ${name}`), r.stdout);
      assert.equal(r.stderr, "");
    });
  }

  test("token mint --help shows the token usage", async () => {
    const r = await runCli(["token", "mint", "client", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /aaa-leafnode token mint client --signer/);
  });

  test("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
    const r = await runCli(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `aaa-leafnode ${pkg.version}\n`);
  });

  test("--help lists every command", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} +\\S`, "m"));
  });

  test("an unknown command exits 2 with the overview", async () => {
    const r = await runCli(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /Commands:/);
  });
});
