// BatchWriter: one flush per turn, one batch in flight, the next batch grows
// in one buffer meanwhile and follows once the first is reported written;
// blocked/unblocked follow that; close drops what was not handed over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as turn } from "node:timers/promises";
import { BatchWriter } from "../../../src/transport/batch_writer.js";
import { heldTransport } from "../../helpers/held_transport.js";

test("one write per turn, and nothing more while it is in flight; the rest follows as one batch", async () => {
  const { t, writes, text } = heldTransport();
  const events: string[] = [];
  const bw = new BatchWriter(t, { blocked: () => events.push("blocked"), unblocked: () => events.push("unblocked") });
  bw.wb.writeString("a1 ");
  bw.schedule();
  bw.wb.writeString("a2 ");
  bw.schedule();
  assert.equal(writes.length, 0, "nothing leaves before the turn's flush");
  await turn();
  assert.equal(writes.length, 1);
  assert.equal(text(0), "a1 a2 ");
  // Two more turns while the first batch is in flight: nothing is written, the bytes wait in one batch.
  for (const s of ["b1 ", "b2 "]) {
    bw.wb.writeString(s);
    bw.schedule();
    await turn();
  }
  assert.equal(writes.length, 1);
  assert.equal(bw.size, 6);
  // Each turn that found the write still pending says so (the owner's write deadline keeps running).
  assert.deepEqual(events, ["blocked", "blocked"]);
  writes[0]!.written!();
  assert.equal(writes.length, 2, "the waiting batch leaves when the first is written");
  assert.equal(text(1), "b1 b2 ");
  assert.equal(writes[1]!.chunks.length, 1);
  assert.deepEqual(events, ["blocked", "blocked", "unblocked"]);
  writes[1]!.written!();
  assert.equal(writes.length, 2);
  assert.equal(bw.size, 0);
});

test("flush() writes at once even behind a batch in flight (before a close), and close() drops the rest", async () => {
  const { t, writes, text } = heldTransport();
  const bw = new BatchWriter(t);
  bw.wb.writeString("first");
  bw.flush();
  bw.wb.writeString("-ERR 'x'\r\n");
  bw.flush();
  assert.equal(writes.length, 2);
  assert.equal(text(1), "-ERR 'x'\r\n");
  bw.wb.writeString("never");
  bw.schedule();
  bw.close();
  await turn();
  writes[0]!.written!();
  writes[1]!.written!();
  assert.equal(writes.length, 2);
  assert.equal(bw.size, 0);
});

test("back-pressure on a write is reported as blocked", async () => {
  const { t } = heldTransport(true);
  let blocked = 0;
  const bw = new BatchWriter(t, { blocked: () => blocked++, unblocked: () => {} });
  bw.wb.writeString("x");
  bw.schedule();
  await turn();
  assert.equal(blocked, 1);
});

test("a batch past the largest chunk leaves one chunk per write, in order", async () => {
  const { t, writes } = heldTransport();
  const bw = new BatchWriter(t);
  const parts: string[] = [];
  for (let i = 0; i < 30; i++) {
    const part = String.fromCharCode(0x41 + i).repeat(100_000);
    parts.push(part);
    bw.wb.writeString(part);
  }
  bw.schedule();
  await turn();
  let got = "";
  for (let i = 0; i < 10 && writes.length > i; i++) {
    assert.equal(writes[i]!.chunks.length, 1, "one buffer per write");
    assert.equal(writes.length, i + 1, "the next chunk waits for the previous one");
    got += Buffer.from(writes[i]!.chunks[0]!).toString("latin1");
    writes[i]!.written!();
  }
  assert.equal(bw.size, 0);
  assert.equal(got, parts.join(""));
});
