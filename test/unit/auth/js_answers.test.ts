// JetStream acks and flow-control answers (auth/js_answers.ts): a connection
// may answer only a consumer that delivered to it, whatever sequences it
// guesses; every other subject is not this module's business.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CONSUMERS_PER_CONNECTION, JsAnswerGrants, jsAnswerKey } from "../../../src/auth/js_answers.js";

const ack = (stream: string, consumer: string, dc = 1, sseq = 7, dseq = 3, ts = "1796603448672000000", pending = 0) =>
  `$JS.ACK.${stream}.${consumer}.${dc}.${sseq}.${dseq}.${ts}.${pending}`;

test("the consumer part of each answer shape; other subjects are not answers", () => {
  assert.equal(jsAnswerKey(ack("ORDERS", "WORK")), "$JS.ACK.ORDERS.WORK");
  assert.equal(jsAnswerKey("$JS.ACK.hub.ACCHASH.ORDERS.WORK.1.7.3.1796603448672000000.0.rnd"), "$JS.ACK.hub.ACCHASH.ORDERS.WORK");
  assert.equal(jsAnswerKey("$JS.FC.ORDERS.WORK.abc123"), "$JS.FC.ORDERS.WORK");
  for (const odd of ["$JS.ACK.ORDERS.WORK.1.1.1", "$JS.ACK.ORDERS", "$JS.FC.ORDERS.WORK", "$JS.ACK.a.b.c.d.e.f.g.h", "$JS.ACK.a.b.c.d.e.f.g.h.i.j.k"]) {
    assert.equal(jsAnswerKey(odd), odd, `${odd}: only as a whole`);
  }
  for (const other of ["orders.new", "$JS.API.CONSUMER.INFO.S.C", "$JS.EVENT.ADVISORY.x", "$JSX.ACK.a.b", "$js.ack.ORDERS.WORK.1.1.1.0.0", "$KV.B.k"]) {
    assert.equal(jsAnswerKey(other), null, other);
  }
});

test("a connection answers the consumers that delivered to it, with any sequences, and no other", () => {
  const g = new JsAnswerGrants();
  assert.equal(g.mayAnswer(ack("ORDERS", "WORK")), false, "nothing delivered yet");
  assert.equal(g.mayAnswer("orders.new"), true, "not an answer");
  g.noteDelivery(ack("ORDERS", "WORK", 1, 1, 1));
  g.noteDelivery("$JS.FC.ORDERS.PUSH.x1");
  g.noteDelivery("_INBOX.abc.1");
  assert.equal(g.size, 2);
  assert.equal(g.mayAnswer(ack("ORDERS", "WORK", 1, 1, 1)), true, "the delivery's own subject");
  assert.equal(g.mayAnswer(ack("ORDERS", "WORK", 2, 9, 8, "0", 5)), true, "a later delivery of the same consumer");
  assert.equal(g.mayAnswer("$JS.FC.ORDERS.PUSH.x2"), true);
  assert.equal(g.mayAnswer(ack("ORDERS", "OTHER")), false, "another consumer of the stream");
  assert.equal(g.mayAnswer(ack("OTHER", "WORK")), false, "the same name on another stream");
  assert.equal(g.mayAnswer("$JS.ACK.ORDERS.WORK.1.1.1"), false, "an odd shape is matched whole");
  assert.equal(g.mayAnswer("$JS.FC.ORDERS.WORK.x"), false, "a flow-control answer is its own grant");
  assert.equal(g.mayAnswer(`$JS.ACK.hub.H.ORDERS.WORK.1.1.1.0.0.r`), false, "the domain form names another key");
});

test("bounded: the least recently used consumer goes first; long subjects are never granted", () => {
  const g = new JsAnswerGrants();
  for (let i = 0; i < CONSUMERS_PER_CONNECTION; i++) g.noteDelivery(ack("S", `C${i}`));
  assert.equal(g.mayAnswer(ack("S", "C0")), true, "C0 used: now the most recent");
  g.noteDelivery(ack("S", "NEW"));
  assert.equal(g.size, CONSUMERS_PER_CONNECTION);
  assert.equal(g.mayAnswer(ack("S", "C1")), false, "C1 was the least recently used");
  assert.equal(g.mayAnswer(ack("S", "C0")), true);
  assert.equal(g.mayAnswer(ack("S", "NEW")), true);
  const long = ack("S", "L".repeat(600));
  g.noteDelivery(long);
  assert.equal(g.mayAnswer(long), false);
});

test("property: an answer is allowed exactly when its consumer delivered here", () => {
  const name = fc.constantFrom("ORDERS", "WORK", "KV_B", "C1", "c1", "OBJ_X");
  const num = fc.nat({ max: 1_000_000 });
  const answer = fc.record({ stream: name, consumer: name, fc: fc.boolean(), dc: num, sseq: num, dseq: num, ts: num, pending: num });
  const subjectOf = (a: { stream: string; consumer: string; fc: boolean; dc: number; sseq: number; dseq: number; ts: number; pending: number }) =>
    a.fc ? `$JS.FC.${a.stream}.${a.consumer}.${a.ts}` : ack(a.stream, a.consumer, a.dc, a.sseq, a.dseq, String(a.ts), a.pending);
  fc.assert(fc.property(fc.array(answer, { maxLength: 6 }), answer, (delivered, tried) => {
    const g = new JsAnswerGrants();
    for (const d of delivered) g.noteDelivery(subjectOf(d));
    const granted = delivered.some((d) => d.fc === tried.fc && d.stream === tried.stream && d.consumer === tried.consumer);
    return g.mayAnswer(subjectOf(tried)) === granted;
  }));
});
