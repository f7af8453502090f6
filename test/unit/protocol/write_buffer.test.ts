// WriteBuffer: bytes come out in order whatever mix of small writes, strings,
// reserved regions and large payloads went in; take() empties it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { poolStats, recycle } from "../../../src/protocol/chunk_pool.js";
import { WriteBuffer } from "../../../src/protocol/write_buffer.js";

const spareChunks = (): number => poolStats().chunks;

test("mixed writes come out in order and take() empties the buffer", () => {
  const wb = new WriteBuffer();
  let expected = "";
  for (let i = 0; i < 5000; i++) {
    const line = `MSG subject.${i} ${i} 3\r\n`;
    wb.writeString(line);
    const big = i % 997 === 0 ? "y".repeat(20000) : "abc";
    wb.writeBytes(Buffer.from(big));
    wb.writeCrlf();
    expected += line + big + "\r\n";
  }
  const offset = wb.reserve(10);
  const buf = wb.current;
  buf.write("RESERVED!!", offset, "latin1");
  wb.advance(10);
  expected += "RESERVED!!";
  assert.equal(wb.size, Buffer.byteLength(expected));
  const out = Buffer.concat(wb.take()).toString("latin1");
  assert.equal(out, expected);
  assert.equal(wb.size, 0);
  assert.deepEqual(wb.take(), []);
});

test("UTF-8 strings are written as UTF-8", () => {
  const wb = new WriteBuffer();
  wb.writeString("LMSG ünïcødé.subject 0");
  wb.writeCrlf();
  assert.equal(Buffer.concat(wb.take()).toString("utf8"), "LMSG ünïcødé.subject 0\r\n");
});

test("a reservation larger than a chunk gets a chunk of its own size", () => {
  const wb = new WriteBuffer();
  wb.writeString("x");
  const offset = wb.reserve(100_000);
  const buf = wb.current;
  assert.ok(buf.length - offset >= 100_000);
  buf.fill(0x7a, offset, offset + 100_000);
  wb.advance(100_000);
  const out = Buffer.concat(wb.take());
  assert.equal(out.length, 100_001);
  assert.equal(out[0], 0x78);
  assert.equal(out[100_000], 0x7a);
});

test("recycled chunks are reused, and only chunks this module made", () => {
  const before = spareChunks();
  const wb = new WriteBuffer();
  // A batch past the largest chunk: it comes out as several chunks, the last partly filled.
  for (let i = 0; i < 12_000; i++) wb.writeBytes(Buffer.alloc(100, i & 0xff));
  const batch = wb.take();
  assert.ok(batch.length >= 2, `expected several chunks, got ${batch.map((c) => c.length)}`);
  assert.equal(Buffer.concat(batch).length, 1_200_000);
  // Chunks it outgrew while the batch was written are in the pool already.
  const beforeBatch = spareChunks();
  assert.ok(beforeBatch > before);
  // A slice of Node's shared pool and a foreign 32 KiB buffer are never taken in.
  recycle([Buffer.from("tiny"), new Uint8Array(32 * 1024)]);
  assert.equal(spareChunks(), beforeBatch);
  recycle(batch);
  assert.equal(spareChunks() - beforeBatch, batch.length);
  // Handing the same batch back twice does not put a chunk in the pool twice.
  recycle(batch);
  assert.equal(spareChunks() - beforeBatch, batch.length);
  // A later batch writes into a recycled chunk, and its bytes are its own.
  const reused = new Set(batch.map((c) => c.buffer));
  const wb2 = new WriteBuffer();
  for (let i = 0; i < 1_500; i++) wb2.writeBytes(Buffer.alloc(100, 0x41));
  const out = wb2.take();
  assert.ok(out.some((c) => reused.has(c.buffer)), "a recycled chunk was used");
  assert.equal(Buffer.concat(out).toString("latin1"), "A".repeat(150_000));
});

test("batches up to the largest chunk stay one buffer, whatever the mix of writes", () => {
  const wb = new WriteBuffer();
  for (const total of [100, 3_000, 40_000, 300_000, 1_000_000]) {
    let expected = "";
    let i = 0;
    while (expected.length < total - 64) {
      const line = i % 50 === 49 ? `HMSG big.${i} 9 ${"q".repeat(Math.min(9000, total - expected.length - 40))}\r\n` : `MSG a.${i} 1 8\r\nzzzzzzzz\r\n`;
      if (i % 3 === 0) wb.writeBytes(Buffer.from(line, "latin1"));
      else wb.writeString(line);
      expected += line;
      i++;
    }
    const out = wb.take();
    assert.equal(out.length, 1, `a batch of ${expected.length} bytes came out in ${out.length} buffers`);
    assert.equal(out[0]!.toString("latin1"), expected);
  }
});

test("a batch of up to one chunk comes out as one buffer, growing out of the small first chunk", () => {
  const wb = new WriteBuffer();
  wb.writeString("PONG\r\n");
  let expected = "PONG\r\n";
  for (let i = 0; i < 300; i++) {
    const line = `MSG a.${i} 1 64\r\n${"z".repeat(64)}\r\n`;
    wb.writeString(line);
    expected += line;
  }
  const out = wb.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.toString("latin1"), expected);
  // The next batch starts with room for as much as the last; once batches are small, so is their buffer.
  wb.writeString("PONG\r\n");
  assert.ok(wb.take()[0]!.buffer.byteLength >= expected.length);
  wb.writeString("PONG\r\n");
  const small = wb.take();
  assert.equal(small.length, 1);
  // A slice of Node's shared pool (8 KiB slabs on Node 20, 64 KiB on Node 24), not a chunk of its own.
  assert.equal(small[0]!.buffer.byteLength, Buffer.poolSize);
  // After a very big batch the next one starts with a bounded buffer, not a megabyte for a PONG.
  wb.writeBytes(Buffer.alloc(900_000, 1));
  assert.equal(wb.take()[0]!.length, 900_000);
  wb.writeString("PONG\r\n");
  assert.ok(wb.take()[0]!.buffer.byteLength <= 32 * 1024);
});

test("property: batches keep their bytes until recycled, whatever other buffers write meanwhile", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("bytes" as const), wb: fc.nat(2), size: fc.oneof(fc.nat(200), fc.nat(70_000), fc.constant(1_100_000)) }),
    fc.record({ kind: fc.constant("string" as const), wb: fc.nat(2), size: fc.nat(300) }),
    fc.record({ kind: fc.constant("take" as const), wb: fc.nat(2) }),
    fc.record({ kind: fc.constant("recycle" as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const bufs = [new WriteBuffer(), new WriteBuffer(), new WriteBuffer()];
      const expected = ["", "", ""];
      // Batches taken and not yet recycled ("in flight"), with what they must still hold.
      const inFlight: { batch: Buffer[]; text: string }[] = [];
      let fill = 0;
      for (const o of ops) {
        if (o.kind === "bytes" || o.kind === "string") {
          const ch = String.fromCharCode(0x41 + (fill++ % 26));
          const text = ch.repeat(o.size);
          if (o.kind === "bytes") bufs[o.wb]!.writeBytes(Buffer.from(text, "latin1"));
          else bufs[o.wb]!.writeString(text);
          expected[o.wb] += text;
        } else if (o.kind === "take") {
          const batch = bufs[o.wb]!.take();
          assert.equal(Buffer.concat(batch).toString("latin1"), expected[o.wb]);
          inFlight.push({ batch, text: expected[o.wb]! });
          expected[o.wb] = "";
        } else if (inFlight.length > 0) {
          const [done] = inFlight.splice(o.pick % inFlight.length, 1);
          recycle(done!.batch);
        }
        for (const f of inFlight) assert.equal(Buffer.concat(f.batch).toString("latin1"), f.text);
      }
      for (let i = 0; i < 3; i++) assert.equal(Buffer.concat(bufs[i]!.take()).toString("latin1"), expected[i]);
    }),
    { numRuns: 150 },
  );
});
