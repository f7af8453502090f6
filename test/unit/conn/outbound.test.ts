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

/** A held transport that counts what it holds, as a socket does: up on write, down once written. */
function countingTransport(): { t: ReturnType<typeof heldTransport>["t"]; writes: ReturnType<typeof heldTransport>["writes"]; held: { bytes: number } } {
  const { t, writes } = heldTransport();
  const held = { bytes: 0 };
  const plain = t as unknown as { bufferedBytes: number; write: (c: Uint8Array, w?: () => void) => boolean };
  Object.defineProperty(t, "bufferedBytes", { get: () => held.bytes });
  const write = plain.write.bind(t);
  plain.write = (chunk, written) => {
    held.bytes += chunk.length;
    return write(chunk, () => {
      held.bytes -= chunk.length;
      written?.();
    });
  };
  return { t, writes, held };
}

// max_pending counts the bytes the transport still holds as well as the
// batch, including bytes it took on by itself (a WebSocket answering pings):
// try to slip bytes past it.
test("max_pending: bytes the transport still holds from the last turn count against the next write", async () => {
  const { t } = countingTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1_000, writeDeadline: 60_000, onSlowConsumer: (why) => failures.push(why) });
  assert.ok(out.writeMsg("a.b", "1", undefined, -1, Buffer.alloc(600)));
  await untilTurn(); // handed over, never written: the transport holds ~620 bytes
  assert.deepEqual(failures, []);
  assert.equal(out.writeMsg("a.b", "1", undefined, -1, Buffer.alloc(600)), false);
  assert.deepEqual(failures, ["pending_bytes"]);
  out.close();
});

test("max_pending: a write that completed no longer counts", async () => {
  const { t, writes } = countingTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1_000, writeDeadline: 60_000, onSlowConsumer: (why) => failures.push(why) });
  out.writeMsg("a.b", "1", undefined, -1, Buffer.alloc(600));
  await untilTurn();
  writes[0]!.written!();
  assert.ok(out.writeMsg("a.b", "1", undefined, -1, Buffer.alloc(600)));
  assert.deepEqual(failures, []);
  out.close();
});

test("max_pending: bytes the transport took on without our writes (a WebSocket's own control frames) count against the next write", async () => {
  const { t, held } = countingTransport();
  const failures: string[] = [];
  const out = new Outbound(t, { maxPending: 1_000, writeDeadline: 60_000, onSlowConsumer: (why) => failures.push(why) });
  assert.ok(out.writeMsg("a.b", "1", undefined, -1, payload));
  await untilTurn();
  held.bytes += 990; // not written through the batch
  assert.equal(out.writeMsg("a.b", "1", undefined, -1, payload), false);
  assert.deepEqual(failures, ["pending_bytes"]);
  assert.ok(out.pendingBytes > 1_000);
  out.close();
});
