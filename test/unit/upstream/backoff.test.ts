/**
 * Reconnect backoff: exponential growth from the base, capped, with equal
 * jitter (between half and all of the ceiling), reset after success.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffCeiling } from "../../../src/upstream/backoff.js";

test("ceilings double from the base and stop at the cap", () => {
  const table: [number, number][] = [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1000], [10, 1000], [64, 1000]];
  for (const [attempt, want] of table) assert.equal(backoffCeiling(100, 1000, attempt), want, `attempt ${attempt}`);
});

test("random 0 gives half the ceiling, random near 1 the whole ceiling", () => {
  const low = new Backoff({ baseDelay: 100, maxDelay: 1000, random: () => 0 });
  assert.deepEqual([low.next(), low.next(), low.next(), low.next(), low.next()], [50, 100, 200, 400, 500]);
  const high = new Backoff({ baseDelay: 100, maxDelay: 1000, random: () => 0.999999 });
  assert.deepEqual([high.next(), high.next(), high.next(), high.next(), high.next()], [100, 200, 400, 800, 1000]);
});

test("jittered delays stay within [ceiling/2, ceiling] and vary", () => {
  const b = new Backoff({ baseDelay: 1000, maxDelay: 30000 });
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const ceiling = backoffCeiling(1000, 30000, b.attempts);
    const d = b.next();
    assert.ok(d >= ceiling / 2 && d <= ceiling, `delay ${d} outside [${ceiling / 2}, ${ceiling}]`);
    if (ceiling === 30000) seen.add(d);
  }
  assert.ok(seen.size > 10, "jitter should spread delays");
});

test("reset starts again from the base", () => {
  const b = new Backoff({ baseDelay: 10, maxDelay: 1000, random: () => 0 });
  b.next(); b.next(); b.next();
  assert.equal(b.attempts, 3);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 5);
});
