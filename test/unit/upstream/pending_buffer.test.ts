/**
 * The outage buffer: FIFO order, a byte bound that refuses (not evicts), and
 * private copies of payloads and served-queue sets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PendingBuffer } from "../../../src/upstream/pending_buffer.js";

const b = (s: string): Uint8Array => Buffer.from(s);

test("messages come out in the order they went in", () => {
  const p = new PendingBuffer(1 << 20);
  for (let i = 0; i < 3000; i++) assert.equal(p.push(`s.${i}`, undefined, -1, b(String(i)), null), true);
  assert.equal(p.length, 3000);
  for (let i = 0; i < 3000; i++) assert.equal(p.shift()!.subject, `s.${i}`);
  assert.equal(p.shift(), undefined);
  assert.equal(p.byteSize, 0);
});

test("past the bound new messages are refused and what is kept is unchanged", () => {
  const p = new PendingBuffer(1000);
  let accepted = 0;
  while (p.push("foo", "r", -1, new Uint8Array(100), null)) accepted++;
  assert.ok(accepted > 0 && accepted < 10);
  const bytes = p.byteSize;
  assert.ok(bytes <= 1000);
  assert.equal(p.push("foo", undefined, -1, new Uint8Array(100), null), false);
  assert.equal(p.length, accepted);
  assert.equal(p.byteSize, bytes);
  p.shift();
  assert.ok(p.byteSize < bytes);
  assert.equal(p.push("foo", "r", -1, new Uint8Array(100), null), true);
});

test("payloads and served queues are copied", () => {
  const p = new PendingBuffer(1 << 20);
  const payload = b("hello");
  const served = new Set(["q1"]);
  p.push("foo", undefined, -1, payload, served);
  payload.fill(0);
  served.add("q2");
  const m = p.shift()!;
  assert.equal(Buffer.from(m.payload).toString(), "hello");
  assert.deepEqual([...m.servedQueues!], ["q1"]);
});
