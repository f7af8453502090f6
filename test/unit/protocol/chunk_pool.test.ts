// The outbound chunk pool: what it takes in, what it hands out, and how it
// gives memory back (sweep() is called directly; no test waits on its timer).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_CHUNK, MIN_CHUNK, poolStats, recycle, setPoolShare, sweep, takeChunk } from "../../../src/protocol/chunk_pool.js";

const MiB = 1024 * 1024;
const FLOOR = 4 * MiB;
const RETAIN_MAX = 256 * MiB;

/** Sweeps until the pool is back at its floor (what sits unused long enough). */
function sweepToFloor(): void {
  for (let i = 0; i < 64 && poolStats().bytes > FLOOR; i++) sweep();
}

test("a chunk given back is handed out again; foreign buffers, slices and doubles are not taken in", () => {
  const a = takeChunk(10_000);
  assert.equal(a.length, 16 * 1024, "the smallest class that holds the request");
  recycle([a]);
  const before = poolStats();
  recycle([a]);
  assert.deepEqual(poolStats(), before, "given back twice, kept once");
  recycle([Buffer.from("tiny"), new Uint8Array(16 * 1024), Buffer.allocUnsafeSlow(16 * 1024), a.subarray(1)]);
  assert.deepEqual(poolStats(), before, "only whole chunks the pool made");
  const b = takeChunk(16 * 1024);
  assert.equal(b.buffer, a.buffer);
  const c = takeChunk(16 * 1024);
  assert.notEqual(c.buffer, a.buffer, "one spare chunk is handed out once");
  assert.equal(takeChunk(MAX_CHUNK + 1).length, MAX_CHUNK + 1, "past the largest class: a buffer of its own");
});

test("spare chunks never exceed the retention bound", () => {
  const chunks = Array.from({ length: RETAIN_MAX / MAX_CHUNK + 16 }, () => takeChunk(MAX_CHUNK));
  recycle(chunks);
  assert.ok(poolStats().bytes <= RETAIN_MAX, `${poolStats().bytes} spare bytes`);
  assert.ok(poolStats().bytes > RETAIN_MAX - MAX_CHUNK);
  // Give everything back to the GC for the tests after this one.
  sweepToFloor();
  assert.ok(poolStats().bytes <= FLOOR);
});

test("in worker mode each worker keeps its share of the bound, so the gateway keeps at most 256 MiB", () => {
  for (const workers of [4, 16, 1000]) {
    setPoolShare(workers);
    const share = Math.max(FLOOR, Math.floor(RETAIN_MAX / workers));
    const chunks = Array.from({ length: share / MAX_CHUNK + 8 }, () => takeChunk(MAX_CHUNK));
    recycle(chunks);
    assert.ok(poolStats().bytes <= share, `${workers} workers: ${poolStats().bytes} spare bytes against a share of ${share}`);
    assert.ok(poolStats().bytes > share - MAX_CHUNK, "the share is used");
    sweepToFloor();
  }
  setPoolShare(1);
  const chunks = Array.from({ length: 64 }, () => takeChunk(MAX_CHUNK));
  recycle(chunks);
  assert.ok(poolStats().bytes >= 64 * MiB, "one process: the whole bound again");
  sweepToFloor();
});

test("a sweep gives back half of what sat unused since the last, down to the floor", () => {
  sweepToFloor();
  assert.ok(poolStats().bytes <= FLOOR);
  // Going past the floor starts a period with every spare chunk idle.
  const chunks = Array.from({ length: 64 }, () => takeChunk(MAX_CHUNK));
  recycle(chunks);
  const full = poolStats().bytes;
  assert.ok(full >= 64 * MiB);
  sweep();
  const half = full - (full - FLOOR) / 2;
  const afterOne = poolStats().bytes;
  assert.ok(afterOne <= half && afterOne > half - MAX_CHUNK, `${full} → ${afterOne}, expected about ${half}`);
  // What is taken during a period was not idle: only the rest counts.
  const busy = Array.from({ length: 8 }, () => takeChunk(MAX_CHUNK));
  recycle(busy);
  const low = afterOne - 8 * MiB;
  sweep();
  const afterTwo = poolStats().bytes;
  const expected = afterOne - (low - FLOOR) / 2;
  assert.ok(afterTwo <= expected && afterTwo > expected - MAX_CHUNK, `${afterOne} → ${afterTwo}, expected about ${expected}`);
  sweepToFloor();
  assert.ok(poolStats().bytes <= FLOOR, "idle long enough, the pool is back at its floor");
  const kept = poolStats();
  sweep();
  assert.deepEqual(poolStats(), kept, "the floor is kept however long it sits");
});

test("property: a chunk in use is never handed out twice, and the books balance", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("take" as const), size: fc.integer({ min: 1, max: 2 * MAX_CHUNK }) }),
    fc.record({ kind: fc.constant("give" as const), pick: fc.nat(), twice: fc.boolean() }),
    fc.record({ kind: fc.constant("sweep" as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const inUse: Buffer[] = [];
      for (const o of ops) {
        if (o.kind === "take") {
          const c = takeChunk(o.size);
          assert.ok(c.length >= o.size);
          if (o.size <= MAX_CHUNK) assert.ok(c.length >= MIN_CHUNK && (c.length & (c.length - 1)) === 0, "a size class");
          assert.ok(!inUse.some((u) => u.buffer === c.buffer), "a chunk in use was handed out again");
          c[0] = inUse.length & 0xff;
          inUse.push(c);
        } else if (o.kind === "give" && inUse.length > 0) {
          const [c] = inUse.splice(o.pick % inUse.length, 1);
          recycle(o.twice ? [c!, c!] : [c!]);
        } else if (o.kind === "sweep") sweep();
        const s = poolStats();
        assert.ok(s.bytes >= 0 && s.bytes <= RETAIN_MAX);
        assert.ok(s.chunks * MIN_CHUNK <= s.bytes && s.bytes <= s.chunks * MAX_CHUNK);
      }
      recycle(inUse);
    }),
    { numRuns: 200 },
  );
});
