// LineReader.subject: the shared subject cache never returns another subject's
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
