// The header-line walk (protocol/headers.ts): every `Name: value` line after
// the status line, name and value split at the line's first colon, CR LF left
// out, and the colon looked for only inside its own line.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { forEachHeaderLine } from "../../../src/protocol/headers.js";

/** The lines the walk visits, as [name, value] strings. */
function walk(block: string, stopAfter = Number.POSITIVE_INFINITY): [string, string][] {
  const hdr = Buffer.from(block, "latin1");
  const out: [string, string][] = [];
  forEachHeaderLine(hdr, (start, colon, end) => {
    out.push([hdr.toString("latin1", start, colon), hdr.toString("latin1", colon + 1, end)]);
    return out.length < stopAfter;
  });
  return out;
}

test("lines after the status line, split at the first colon, without CR LF", () => {
  assert.deepEqual(walk("NATS/1.0\r\nA: 1\r\nB:2:3\r\n\r\n"), [["A", " 1"], ["B", "2:3"]]);
  assert.deepEqual(walk("NATS/1.0 503\r\n\r\n"), [], "a status line only");
  assert.deepEqual(walk("NATS/1.0\nA: 1\nB: 2"), [["A", " 1"], ["B", " 2"]], "bare LF, no final line end");
  assert.deepEqual(walk("NATS/1.0\r\nA: 1\r"), [["A", " 1\r"]], "a CR is left out only before its LF");
  assert.deepEqual(walk("A: 0\r\nB: 1\r\n\r\n"), [["B", " 1"]], "the first line is the status line whatever it says");
  assert.deepEqual(walk("NATS/1.0\r\nno colon here\r\n: empty name\r\nC:\r\n\r\n"), [["C", ""]], "lines without a name are skipped");
  assert.deepEqual(walk("NATS/1.0\r\nA\r\nB: x\r\n\r\n"), [["B", " x"]], "a colon on a later line is not the first line's");
  assert.deepEqual(walk("NATS/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 2), [["A", " 1"], ["B", " 2"]], "false stops the walk");
});

test("a block of many colon-less lines is walked once (the colon is not looked for past its line)", () => {
  const lines = 100_000;
  const got = walk(`NATS/1.0\r\n${"aaaaaaa\r\n".repeat(lines)}Nats-Trace-Dest: x.y\r\n\r\n`);
  assert.deepEqual(got, [["Nats-Trace-Dest", " x.y"]]);
});

test("property: the same lines as splitting the block by hand", () => {
  const piece = fc.constantFrom("A", "b", ":", " ", "\r", "\n", "\r\n", "x", "Nats-Subject");
  fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
    const block = pieces.join("");
    const lines = block.split("\n");
    const expected: [string, string][] = [];
    for (let i = 1; i < lines.length; i++) {
      // A CR goes with the LF after it; the block's last line, without one, keeps its CR.
      const raw = lines[i]!;
      const line = i < lines.length - 1 && raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const colon = line.indexOf(":");
      if (colon > 0) expected.push([line.slice(0, colon), line.slice(colon + 1)]);
    }
    assert.deepEqual(walk(block), expected);
  }), { numRuns: 2000 });
});
