// Heap headroom: the growing factor asked of V8 for a live heap (table and
// property), the operator's own flag left alone, and a real process whose
// factor follows its live heap after full collections.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { HEADROOM_BYTES, growingPercentFor, operatorSetsGrowingFactor } from "../../../src/heap_headroom.js";

const MiB = 1024 * 1024;

test("growingPercentFor: enough for the headroom, in steps of 10, capped at V8's own 4x", () => {
  const rows: [live: number, percent: number][] = [
    [22 * MiB, 300], // 64/22 = 2.9x: capped
    [32 * MiB, 200],
    [40 * MiB, 160],
    [63 * MiB, 110],
    [64 * MiB, 0], // from the headroom up, V8 decides
    [500 * MiB, 0],
    [1, 300],
    [0, 300],
    [Number.NaN, 300],
  ];
  for (const [live, percent] of rows) assert.equal(growingPercentFor(live), percent, `live ${live}`);
  assert.equal(HEADROOM_BYTES, 64 * MiB);
});

test("growingPercentFor: the next limit leaves the headroom, or the cap is reached", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 * HEADROOM_BYTES }), fc.integer({ min: 1, max: 1024 }), (live, headroomMiB) => {
      const headroom = headroomMiB * MiB;
      const p = growingPercentFor(live, headroom);
      if (live >= headroom) return p === 0;
      assert.ok(p % 10 === 0 && p >= 10 && p <= 300, `percent ${p}`);
      // The limit V8 computes from it, live × (1 + p/100), leaves the headroom unless capped.
      assert.ok(p === 300 || live * (p / 100) >= headroom, `live ${live} headroom ${headroom} percent ${p}`);
      // And it asks for no more than one step beyond what is needed.
      assert.ok(live * ((p - 10) / 100) < headroom, `live ${live} headroom ${headroom} percent ${p} is a step too many`);
      return true;
    }),
  );
});

test("operatorSetsGrowingFactor: the flag on node's command line, in either spelling", () => {
  assert.equal(operatorSetsGrowingFactor([]), false);
  assert.equal(operatorSetsGrowingFactor(["--max-old-space-size=512", "--enable-source-maps"]), false);
  assert.equal(operatorSetsGrowingFactor(["--heap-growing-percent=50"]), true);
  assert.equal(operatorSetsGrowingFactor(["--heap_growing_percent=50"]), true);
  assert.equal(operatorSetsGrowingFactor(["--heap-growing-percent", "50"]), true);
  assert.equal(operatorSetsGrowingFactor(["--heap-growing-percent-x=1"]), false);
  assert.equal(operatorSetsGrowingFactor(["--no-heap-growing-percent"]), false);
});

const MODULE = fileURLToPath(new URL("../../../src/heap_headroom.js", import.meta.url));

/** Runs a script in a fresh node with --expose-gc; returns its last stdout line as JSON. */
function inChild(script: string, nodeArgs: string[] = []): Record<string, unknown> {
  const out = execFileSync(process.execPath, ["--expose-gc", ...nodeArgs, "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("a real process: the factor follows the live heap after each full collection", () => {
  const result = inChild(`
    import { startHeapHeadroom } from ${JSON.stringify(MODULE)};
    const tick = () => new Promise((r) => setTimeout(r, 20));
    const h = startHeapHeadroom();
    const small = h.percent;
    // Hold about 100 MiB of live objects, collect, and let the observer run.
    globalThis.hold = Array.from({ length: 100 }, (_, i) => Array.from({ length: 1024 * 16 }, (_, j) => ({ i, j })));
    globalThis.gc(); await tick();
    const big = h.percent;
    globalThis.hold = null;
    globalThis.gc(); await tick();
    const again = h.percent;
    h.stop();
    console.log(JSON.stringify({ active: h.active, small, big, again }));
  `);
  assert.equal(result["active"], true);
  assert.equal(result["small"], 300, "a fresh process's heap is far under the headroom");
  assert.equal(result["big"], 0, "with ~100 MiB live V8 picks the factor itself");
  assert.equal(result["again"], 300, "back to a small heap, the headroom is kept again");
});

test("a real process started with --heap-growing-percent keeps the operator's value", () => {
  const result = inChild(
    `
    import { startHeapHeadroom } from ${JSON.stringify(MODULE)};
    const h = startHeapHeadroom();
    globalThis.gc(); await new Promise((r) => setTimeout(r, 20));
    console.log(JSON.stringify({ active: h.active, percent: h.percent }));
  `,
    ["--heap-growing-percent=50"],
  );
  assert.deepEqual(result, { active: false, percent: 0 });
});
