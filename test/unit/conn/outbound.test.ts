// Outbound limits: a reader whose writes never complete is closed as a slow
// consumer once the write deadline passes (the deadline runs while batches
// wait behind a pending write), one that catches up is not, and pending bytes
// past max_pending close it at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Outbound } from "../../../src/conn/outbound.js";
import { heldTransport } from "../../helpers/held_transport.js";

const payload = Buffer.from("hello");

async function untilTurn(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

test("a write that never completes: closed as a slow consumer (write_deadline) while data keeps waiting", async () => {
  const { t } = heldTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1 << 20, writeDeadline: 300, onSlowConsumer: (why) => failures.push(why) });
  out.writeMsg("a.b", "1", undefined, -1, payload);
  await untilTurn(); // the first batch is in flight and never completes
  out.writeMsg("a.b", "1", undefined, -1, payload);
  await untilTurn(); // the second waits behind it: the deadline runs
  for (let i = 0; i < 100 && failures.length === 0; i++) await sleep(100);
  assert.deepEqual(failures, ["write_deadline"]);
  out.close();
});

test("a reader that catches up is not closed: the deadline lapses once the write completes", async () => {
  const { t, writes } = heldTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1 << 20, writeDeadline: 1_000, onSlowConsumer: (why) => failures.push(why) });
  out.writeMsg("a.b", "1", undefined, -1, payload);
  await untilTurn();
  out.writeMsg("a.b", "1", undefined, -1, payload);
  await untilTurn(); // blocked behind the first write
  writes[0]!.written!(); // the first completes: the waiting batch leaves, and completes too
  await untilTurn();
  for (const w of writes.slice(1)) w.written!();
  assert.equal(out.pendingBytes, 0);
  await sleep(2_000); // well past the deadline
  assert.deepEqual(failures, []);
  out.close();
});

test("pending bytes past max_pending: slow consumer at once", async () => {
  const { t } = heldTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1_000, writeDeadline: 60_000, onSlowConsumer: (why) => failures.push(why) });
  let accepted = 0;
  for (let i = 0; i < 100; i++) if (out.writeMsg("a.b", "1", undefined, -1, payload)) accepted++;
  assert.deepEqual(failures, ["pending_bytes"]);
  assert.ok(accepted < 100);
  out.close();
});
