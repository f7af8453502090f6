// `npm test` (after `npm run check`): the whole suite on every Node version the package
// supports (`engines`), one after the other: the machine's Node (20), under c8 with the
// coverage floor of .c8rc.json, and Node 24 LTS (installed once from the npm registry by
// scripts/node24.sh); then the gateway's JSON reader against Go's encoding/json
// (test/fuzz/go_json_diff.ts, 100,000 bodies, a new seed each run, printed); then the
// packed-install check (scripts/check-package.mjs: npm pack from a clean copy, npm install -g
// into a temporary prefix, --version and check run with both Nodes). `pretest` has already
// installed dependencies and built build/ once; both suite runs execute the same compiled
// files. Every phase runs even when an earlier one failed, so one CI run reports everything;
// the exit status is non-zero if any phase failed. Prints each phase's wall time at the end
// (CI must stay well under 90 min).
import { spawnSync } from "node:child_process";

const phases = [];

function phase(name, fn) {
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  let ok;
  try {
    ok = fn();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    ok = false;
  }
  phases.push({ name, ok, seconds: Math.round((Date.now() - started) / 1000) });
}

function runs(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.error) throw r.error;
  return r.status === 0;
}

function node24() {
  const r = spawnSync("bash", ["scripts/node24.sh"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error("scripts/node24.sh could not provide Node 24");
  return r.stdout.trim();
}

const nodes = [process.execPath];
phase("Node 24 LTS (npm registry, cached)", () => {
  const n24 = node24();
  if (!process.version.startsWith("v24.")) nodes.push(n24);
  return true;
});
for (const [i, node] of nodes.entries()) {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  // Coverage is measured once, on the machine's Node; the same code runs on the other.
  if (i === 0) phase(`test suite on Node ${version} (c8 coverage, npm run coverage)`, () => runs("npm", ["run", "--silent", "coverage"]));
  else phase(`test suite on Node ${version}`, () => runs(node, ["scripts/run-tests.mjs"]));
}

phase("JSON reader against Go's encoding/json (test/fuzz/go_json_diff.ts, 100,000 bodies)", () =>
  runs(process.execPath, ["build/test/fuzz/go_json_diff.js", "100000"]));

phase("packed package installs and runs (npm pack, npm install -g, --version, check)", () =>
  runs(process.execPath, ["scripts/check-package.mjs", ...nodes]));

console.log("\n=== summary ===");
for (const p of phases) console.log(`${p.ok ? "pass" : "FAIL"}  ${String(p.seconds).padStart(5)} s  ${p.name}`);
const total = phases.reduce((s, p) => s + p.seconds, 0);
console.log(`total ${total} s`);
process.exit(phases.every((p) => p.ok) ? 0 : 1);
