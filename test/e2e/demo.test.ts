/**
 * `aaa-leafnode demo` as a child process with the real nats-server, openssl
 * and NATS client: it runs to `demo: OK` with every reply counted; on SIGINT
 * it stops the hub it started and removes its temp folder; on --timeout it
 * gives up with `demo: FAILED timed out` and still cleans up (a stand-in
 * nats-server that never comes up makes the timeout certain). It also runs
 * from a copy of the package whose node_modules holds the production
 * dependencies only, as `npm install -g` leaves it (scripts/check-package.mjs
 * does the real install in CI).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { packageRoot, runCli, spawnCli } from "../../src/devkit/cli_process.js";
import { waitFor } from "../../src/devkit/wait.js";

/**
 * The folders (relative to `root`) of the production dependencies of the
 * package at `root` and of theirs, each found as Node finds it: in the
 * depending package's own node_modules, else in the root's.
 */
function productionDeps(root: string): string[] {
  const found = new Set<string>();
  const visit = (pkgDir: string) => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const dir = [join(pkgDir, "node_modules", name), join(root, "node_modules", name)].find((d) => existsSync(join(d, "package.json")));
      assert.ok(dir, `dependency ${name} of ${pkgDir} is installed`);
      const rel = relative(root, dir);
      if (found.has(rel)) continue;
      found.add(rel);
      visit(dir);
    }
  };
  visit(root);
  return [...found];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("aaa-leafnode demo", () => {
  const scratch = mkdtempSync(join(tmpdir(), "aaa-demo-test-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("runs to completion: every node replies, bob is refused, demo: OK", async () => {
    const r = await runCli(["demo", "--nodes", "10", "--timeout", "60"], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^alice: 10 of 10 nodes replied to the broadcast$/m);
    assert.equal(r.stdout.match(/^ {2}reply from node-\d+\.example\.net$/gm)?.length, 10);
    assert.match(r.stdout, /^alice: request\(\) to choria\.node\.node-3\.example\.net answered by node-3\.example\.net/m);
    for (const s of ["choria.reply.>", ">", "choria.lifecycle.>"]) {
      assert.ok(r.stdout.includes(`refused: Permissions Violation for Subscription to "${s}"`), `bob's ${s}`);
    }
    assert.match(r.stdout, /bob received 0 of them$/m);
    assert.match(r.stdout, /delivered to alice: 0, to bob: 0$/m);
    assert.match(r.stdout, /\ndemo: OK\n$/);
    const dir = /^demo: working in (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(dir && !existsSync(dir), "the temp folder is removed");
  });

  test("runs from the package with production dependencies only (no @nats-io client, no jose)", async () => {
    const root = packageRoot();
    const pkg = join(scratch, "installed");
    for (const part of ["package.json", "bin", "policies", "build/src"]) cpSync(join(root, part), join(pkg, part), { recursive: true });
    // The production dependency tree: package.json's dependencies and theirs, resolved as Node does.
    const deps = productionDeps(root);
    assert.ok(deps.includes(join("node_modules", "ws")) && !deps.some((d) => d.includes("@nats-io") || d.endsWith("jose")), deps.join(" "));
    // A nested dependency comes along with the package it is nested in (a link to the real folder).
    for (const d of deps.filter((x) => x.split("node_modules").length === 2)) {
      mkdirSync(dirname(join(pkg, d)), { recursive: true });
      symlinkSync(join(root, d), join(pkg, d), "dir");
    }
    // The copy really lacks the dev dependencies the demo used to import.
    const probe = spawnSync(process.execPath, ["--input-type=module", "-e", "await import('@nats-io/transport-node')"], { cwd: join(pkg, "build", "src"), encoding: "utf8" });
    assert.match(probe.stderr, /ERR_MODULE_NOT_FOUND/);
    const r = await runCli(["demo", "--nodes", "5", "--timeout", "60"], { root: pkg, cwd: scratch, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^alice: 5 of 5 nodes replied to the broadcast$/m);
    assert.match(r.stdout, /bob received 0 of them$/m);
    assert.match(r.stdout, /\ndemo: OK\n$/);
  });

  test("SIGINT stops the hub and removes the temp folder", async () => {
    const child = spawnCli(["demo", "--nodes", "5", "--timeout", "60"], { timeoutMs: 90_000 });
    const hubPid = await waitFor("the hub line", () => {
      const m = /^hub: nats-server pid (\d+)/m.exec(child.stdout());
      return m ? Number(m[1]) : undefined;
    }, 60_000).catch((err: unknown) => {
      child.process.kill("SIGKILL");
      throw err;
    });
    assert.ok(isAlive(hubPid));
    child.process.kill("SIGINT");
    const r = await child.done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /demo: SIGINT received, stopping/);
    assert.match(r.stdout, /\ndemo: FAILED interrupted by SIGINT\n$/);
    assert.equal(isAlive(hubPid), false, "the hub is stopped");
    const dir = /^demo: working in (\S+)$/m.exec(r.stdout)![1]!;
    assert.equal(existsSync(dir), false);
  });

  test("--timeout: gives up, says why, kills what it started", async () => {
    // A nats-server stand-in that records its pid and never writes a ports file.
    const pidFile = join(scratch, "fake.pid");
    const fake = join(scratch, "fake-nats-server.sh");
    writeFileSync(fake, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 300\n`);
    chmodSync(fake, 0o755);
    // 10 s: the PKI is made before the stand-in starts, which takes seconds on a loaded machine under coverage.
    const r = await runCli(["demo", "--nodes", "3", "--timeout", "10"], { env: { NATS_SERVER_BIN: fake }, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /\ndemo: FAILED timed out after 10s\n$/);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    await waitFor("the stand-in to be gone", () => (isAlive(pid) ? undefined : true), 10_000);
    const dir = /^demo: working in (\S+)$/m.exec(r.stdout)![1]!;
    assert.equal(existsSync(dir), false);
  });
});
