/**
 * `aaa-leafnode run` with Choria's process keys: `--pid FILE` holds the
 * running process id and is removed on exit, and `logfile = stdout` /
 * `discard` send the log where Choria would (standard output, nowhere)
 * instead of to a file of that name. `run` keeps V8's heap headroom
 * (src/heap_headroom.ts) unless node was given the factor.
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

async function runWith(t: Parameters<typeof opsDir>[0], logfile: string, extra: string[] = []) {
  const pki = await getPki();
  const dir = opsDir(t, "aaa-run-keys-");
  const signer = writeSignerFiles(tokenWorld().signer, dir, "signer").publicKeyPath;
  const conf = join(dir, "broker.conf");
  writeFileSync(conf, [...baseConf(pki, [signer]), `logfile = ${logfile}`, ...extra].join("\n") + "\n");
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
  // The suite runs on Node 20 and on Node 24: only the first is past its end of life.
  const eolWarned = child.stdout().includes("past its end of life");
  assert.equal(eolWarned, process.versions.node.startsWith("20."), `end-of-life warning on Node ${process.version}`);
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

/** The debug lines of the heap headroom in a run's standard output. */
function headroomLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.includes("heap growing factor"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("run sets V8's heap growing factor for its small heap, and says so at debug level", async (t) => {
  const { child } = await runWith(t, "stdout", ["loglevel = debug"]);
  await waitFor("the started line on stdout", () => (child.stdout().includes('"msg":"aaa-leafnode started"') ? true : undefined), 10_000);
  child.process.kill("SIGTERM");
  assert.equal((await child.done).code, 0);
  const lines = headroomLines(child.stdout());
  assert.ok(lines.length >= 1, "a heap growing factor line");
  const first = lines[0]!;
  assert.equal(first["msg"], "heap growing factor set");
  const percent = Number(first["growingPercent"]);
  // A fresh gateway's heap is well under the 64 MiB headroom, so V8 is asked for 2x to 4x.
  assert.ok(percent >= 100 && percent <= 300 && percent % 10 === 0, `growingPercent ${percent}`);
});
