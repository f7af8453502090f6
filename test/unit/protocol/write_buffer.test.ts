// WriteBuffer: bytes come out in order whatever mix of small writes, strings,
// reserved regions and large payloads went in; take() empties it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { recycle, spareChunks, WriteBuffer } from "../../../src/protocol/write_buffer.js";

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

test("recycled chunks are reused, and only whole chunks this module made", () => {
  const before = spareChunks();
  const wb = new WriteBuffer();
  // Enough to seal several full chunks, plus a large payload with a buffer of its own.
  for (let i = 0; i < 3000; i++) wb.writeBytes(Buffer.alloc(100, i & 0xff));
  wb.writeBytes(Buffer.alloc(20_000, 7));
  const batch = wb.take();
  const full = batch.filter((c) => c.byteOffset === 0 && c.buffer.byteLength === 32 * 1024);
  assert.ok(full.length >= 2, `expected full chunks, got ${batch.map((c) => c.length)}`);
  // A slice of Node's shared pool and a foreign 32 KiB buffer are never taken in.
  recycle([Buffer.from("tiny"), new Uint8Array(32 * 1024)]);
  assert.equal(spareChunks(), before);
  recycle(batch);
  const kept = spareChunks() - before;
  assert.equal(kept, full.length);
  // Handing the same batch back twice does not put a chunk in the pool twice.
  recycle(batch);
  assert.equal(spareChunks() - before, kept);
  // The next buffer writes into a recycled chunk, and its bytes are its own.
  const reused = new Set(full.map((c) => c.buffer));
  const wb2 = new WriteBuffer();
  for (let i = 0; i < 400; i++) wb2.writeBytes(Buffer.alloc(100, 0x41));
  const out = wb2.take();
  assert.ok(out.some((c) => reused.has(c.buffer)), "a recycled chunk was used");
  assert.equal(Buffer.concat(out).toString("latin1"), "A".repeat(40_000));
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
  // A small batch stays small.
  wb.writeString("PONG\r\n");
  const small = wb.take();
  assert.equal(small.length, 1);
  assert.ok(small[0]!.buffer.byteLength < 32 * 1024);
});
