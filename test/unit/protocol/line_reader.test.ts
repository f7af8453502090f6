// LineReader.split() against nats-server's argument rule; LineReader.subject: the shared subject cache never returns another subject's
// string, whatever collides in it, and non-ASCII or long subjects bypass it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { asBuffer, LineReader } from "../../../src/protocol/line_reader.js";

function subjectOf(line: string): string {
  const src = asBuffer(Buffer.from(line, "utf8"));
  const r = new LineReader(4);
  r.split(src, 0, src.length);
  return r.subject(src, 0);
}

test("subjects that share length, first, middle and last byte (one cache slot) stay apart", () => {
  const subjects = ["a.bXc.dXe.z", "a.bYc.dYe.z", "a.bZc.dXe.z", "a.bXc.dZe.z"];
  for (let round = 0; round < 3; round++) {
    for (const s of subjects) assert.equal(subjectOf(`${s} 12`), s);
  }
});

test("long, UTF-8 and Choria reply subjects come back exactly", () => {
  const reply = `choria.reply.${"0123456789abcdef".repeat(2)}.${"9".repeat(40)}`;
  for (const s of [reply, reply, "x".repeat(200), "ünï.cødé", "ünï.cødé", "a"]) assert.equal(subjectOf(`${s} 5`), s);
});

test("property: whatever sequence of subjects, each comes back as itself", () => {
  const token = fc.stringMatching(/^[a-zA-Z0-9_\-ü]{1,12}$/);
  const subject = fc.array(token, { minLength: 1, maxLength: 8 }).map((t) => t.join("."));
  fc.assert(
    fc.property(fc.array(subject, { minLength: 1, maxLength: 200 }), (list) => {
      for (const s of list) assert.equal(subjectOf(`${s} 0`), s);
    }),
    { numRuns: 300 },
  );
});

test("property: split() finds nats-server's arguments (runs of space, tab, CR apart) and notes non-ASCII", () => {
  // Bytes below the blank that are not blanks (NUL, vertical tab, form feed) belong to a token, like letters.
  const byte = fc.oneof(fc.constantFrom(0x20, 0x09, 0x0d, 0x00, 0x0b, 0x0c, 0x1f, 0x21, 0x7f, 0x80, 0xff), fc.integer({ min: 0x41, max: 0x5a }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.nat(5), (bytes, capacity, pad) => {
      const src = Buffer.alloc(pad * 2 + bytes.length, 0x41);
      src.set(bytes, pad); // letters either side: split() must keep to [start, end)
      const r = new LineReader(capacity);
      const count = r.split(src, pad, pad + bytes.length);
      const want: Array<[number, number]> = [];
      let at = -1;
      bytes.forEach((b, k) => {
        const blank = b === 0x20 || b === 0x09 || b === 0x0d;
        if (!blank && at < 0) at = k;
        if (blank && at >= 0) {
          want.push([at, k]);
          at = -1;
        }
      });
      if (at >= 0) want.push([at, bytes.length]);
      assert.equal(count, want.length);
      for (let k = 0; k < Math.min(count, capacity); k++) assert.deepEqual([r.argStart[k]! - pad, r.argEnd[k]! - pad], want[k]);
      assert.equal(r.argsAscii, bytes.every((b) => b < 0x80));
    }),
    { numRuns: 3000 },
  );
});
