// WriteBuffer: bytes come out in order whatever mix of small writes, strings,
// reserved regions and large payloads went in; take() empties it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WriteBuffer } from "../../../src/protocol/write_buffer.js";

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
