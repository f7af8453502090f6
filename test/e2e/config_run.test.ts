/**
 * `aaa-leafnode run` with Choria's process keys: `--pid FILE` holds the
 * running process id and is removed on exit, and `logfile = stdout` /
 * `discard` send the log where Choria would (standard output, nowhere)
 * instead of to a file of that name.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli } from "../../src/devkit/cli_process.js";
import { getPki } from "../helpers/pki.js";
import { waitFor } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { baseConf, opsDir } from "./ops_world.js";

async function runWith(t: Parameters<typeof opsDir>[0], logfile: string) {
  const pki = await getPki();
  const dir = opsDir(t, "aaa-run-keys-");
  const signer = writeSignerFiles(tokenWorld().signer, dir, "signer").publicKeyPath;
  const conf = join(dir, "broker.conf");
  writeFileSync(conf, [...baseConf(pki, [signer]), `logfile = ${logfile}`].join("\n") + "\n");
  const pid = join(dir, "gateway.pid");
  const child = spawnCli(["run", "--config", conf, "--pid", pid], { timeoutMs: 60_000 });
  t.after(() => {
    if (child.process.exitCode === null) child.process.kill("SIGKILL");
  });
  await waitFor("the pid file", () => (existsSync(pid) ? true : undefined), 30_000);
  return { child, pid, dir };
}

test("run --pid writes the process id while running and removes it on exit; logfile = stdout logs to standard output", async (t) => {
  const { child, pid, dir } = await runWith(t, "stdout");
  assert.equal(readFileSync(pid, "utf8").trim(), String(child.process.pid));
  await waitFor("the started line on stdout", () => (child.stdout().includes('"msg":"aaa-leafnode started"') ? true : undefined), 10_000);
  assert.equal(child.stderr().includes('"msg"'), false, "nothing logged to standard error");
  assert.equal(existsSync(join(dir, "stdout")), false, "no file named stdout");
  child.process.kill("SIGTERM");
  const result = await child.done;
  assert.equal(result.code, 0);
  assert.equal(existsSync(pid), false, "the pid file is removed on exit");
});

test("logfile = discard logs nowhere", async (t) => {
  const { child, dir } = await runWith(t, "DISCARD");
  child.process.kill("SIGTERM");
  const result = await child.done;
  assert.equal(result.code, 0);
  assert.equal(result.stdout.includes('"msg"'), false);
  assert.equal(result.stderr.includes('"msg"'), false);
  assert.equal(existsSync(join(dir, "DISCARD")) || existsSync(join(dir, "discard")), false);
});
