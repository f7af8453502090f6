// Headers that make the hub act for the caller (auth/hub_headers.ts), with our
// leaf link's permissions: Nats-Trace-Dest is held to the caller's own reply
// namespace (an _INBOX mapped into it) or a subject it may publish to;
// Nats-Schedule-Target to a subject it may publish to; Nats-Schedule-Source to
// a subject it may read. Any of them given twice is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHubHeaders } from "../../../src/auth/hub_headers.js";
import { CallerPolicy } from "../../../src/auth/caller_policy.js";
import { md5Hex } from "../../../src/auth/reply_namespace.js";

const me = "up=alice";
const ns = `choria.reply.${md5Hex(me)}`;
const other = `choria.reply.${md5Hex("up=mallory")}`;
const perms = new CallerPolicy(me, "choria", {
  publish: { allow: ["orders.>", "traces.>"], deny: [] },
  subscribe: { allow: [`*.reply.${md5Hex(me)}.>`, "orders.>"], deny: [] },
  policies: ["test"],
});
const msg = (lines: string[], body = "hello") => {
  const hdr = Buffer.from(`NATS/1.0\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`);
  return { hdrLen: hdr.length, payload: Buffer.concat([hdr, Buffer.from(body)]) };
};
const check = (lines: string[]) => {
  const m = msg(lines);
  return checkHubHeaders(m.hdrLen, m.payload, perms);
};

test("no trace destination: passes untouched", () => {
  assert.equal(check(["X: y"]).action, "pass");
  assert.equal(check(["Nats-Trace-Dest:"]).action, "pass", "an empty value traces nothing on the hub either");
  assert.equal(check(["X-Note: Nats-Trace-Dest: not a header name"]).action, "pass");
});

test("refused: another caller's namespace, lifecycle, fleet subjects, wildcards, ungranted", () => {
  for (const dest of [`${other}.x`, "choria.lifecycle.event.alive.n1", "choria.broadcast.agent.rpcutil", `${ns}.*`, "orders.>", "$SYS.REQ.x", "_GR_.x.y"]) {
    for (const name of ["Nats-Trace-Dest", "nats-trace-dest", "NATS-TRACE-DEST"]) {
      const v = check([`${name}: ${dest}`]);
      assert.equal(v.action, "refuse", `${name}: ${dest}`);
      if (v.action === "refuse") assert.equal(v.subject, dest);
    }
  }
});

test("two destinations are refused, even when one is allowed", () => {
  assert.equal(check([`Nats-Trace-Dest: ${ns}.t`, `nats-trace-dest: ${other}.t`]).action, "refuse");
  assert.equal(check([`Nats-Trace-Dest: orders.t`, "Nats-Trace-Dest: orders.u"]).action, "refuse");
});

test("allowed: own namespace and publishable subjects as they are; _INBOX mapped into the namespace", () => {
  assert.equal(check([`Nats-Trace-Dest: ${ns}.t1`]).action, "pass");
  assert.equal(check(["Nats-Trace-Dest: traces.t1"]).action, "pass");
  const m = msg(["A: 1", "Nats-Trace-Dest:  _INBOX.abc.1  ", "B: 2"], "body bytes");
  const v = checkHubHeaders(m.hdrLen, m.payload, perms);
  assert.equal(v.action, "rewrite");
  if (v.action !== "rewrite") return;
  assert.equal(Buffer.from(v.payload).toString(), `NATS/1.0\r\nA: 1\r\nNats-Trace-Dest:  ${ns}._INBOX.abc.1  \r\nB: 2\r\n\r\nbody bytes`);
});

test("property: whatever the header block, a destination the hub would read is one the caller may use", () => {
  const name = fc.constantFrom("Nats-Trace-Dest", "nats-trace-dest", "X", "Nats-Trace-Only");
  const value = fc.constantFrom(`${ns}.a`, `${other}.b`, "_INBOX.c", "orders.d", "choria.lifecycle.e", "fleet.f", "");
  fc.assert(fc.property(fc.array(fc.tuple(name, value), { maxLength: 4 }), (pairs) => {
    const m = msg(pairs.map(([n, v]) => `${n}: ${v}`));
    const v = checkHubHeaders(m.hdrLen, m.payload, perms);
    if (v.action === "refuse") return true;
    const sent = Buffer.from(v.action === "rewrite" ? v.payload : m.payload).toString();
    // What nats-server reads: the first line named exactly Nats-Trace-Dest with a value.
    const line = sent.split("\r\n").find((l) => l.startsWith("Nats-Trace-Dest:") && l.slice(16).trim() !== "");
    if (line === undefined) return true;
    const dest = line.slice(16).trim();
    return dest.startsWith(`${ns}.`) || dest === "orders.d";
  }));
});

test("schedules: the target must be publishable, the source readable, each named once", () => {
  assert.equal(check(["Nats-Schedule: @every 1m", "Nats-Schedule-Target: orders.later"]).action, "pass");
  assert.equal(check(["Nats-Schedule: @every 1m", "Nats-Schedule-Target: orders.later", "Nats-Schedule-Source: orders.last"]).action, "pass");
  for (const target of ["choria.lifecycle.event.alive.n1", `${other}.x`, "choria.broadcast.agent.rpcutil", "orders.*", "_INBOX.x", `${ns}.x`]) {
    for (const name of ["Nats-Schedule-Target", "nats-schedule-target", "NATS-SCHEDULE-TARGET"]) {
      const v = check(["Nats-Schedule: @every 1m", `${name}: ${target}`]);
      assert.equal(v.action, "refuse", `${name}: ${target}`);
      if (v.action === "refuse") assert.equal(v.subject, target);
    }
  }
  for (const source of ["choria.lifecycle.event.alive.n1", `${other}.x`, "traces.x", "orders.*", "_INBOX.x"]) {
    assert.equal(check(["Nats-Schedule-Target: orders.later", `nats-schedule-source: ${source}`]).action, "refuse", source);
  }
  assert.equal(check(["Nats-Schedule-Target: orders.a", "Nats-Schedule-Target: orders.b"]).action, "refuse", "two targets");
  assert.equal(check(["Nats-Schedule-Source: orders.a", "nats-schedule-source: orders.b"]).action, "refuse", "two sources");
  assert.equal(check(["Nats-Schedule-Target:", "Nats-Schedule-Source:  "]).action, "pass", "empty values: the hub refuses the schedule itself");
});

test("property: a schedule the hub would read targets what the caller may publish and reads what it may read", () => {
  const name = fc.constantFrom("Nats-Schedule-Target", "nats-schedule-target", "Nats-Schedule-Source", "NATS-SCHEDULE-SOURCE", "Nats-Schedule", "X");
  const value = fc.constantFrom("orders.a", "traces.b", `${ns}.c`, `${other}.d`, "choria.lifecycle.e", "_INBOX.f", "orders.>", "");
  fc.assert(fc.property(fc.array(fc.tuple(name, value), { maxLength: 5 }), (pairs) => {
    const m = msg(pairs.map(([n, v]) => `${n}: ${v}`));
    const v = checkHubHeaders(m.hdrLen, m.payload, perms);
    if (v.action === "refuse") return true;
    const lines = Buffer.from(m.payload).toString().split("\r\n");
    // What nats-server reads: the first line named exactly so, with a value.
    const read = (n: string) => lines.find((l) => l.startsWith(`${n}:`) && l.slice(n.length + 1).trim() !== "")?.slice(n.length + 1).trim();
    const target = read("Nats-Schedule-Target");
    const source = read("Nats-Schedule-Source");
    const mayPublish = (s: string) => s.startsWith("orders.") && !s.includes(">") || s.startsWith("traces.");
    const mayRead = (s: string) => (s.startsWith("orders.") || s.startsWith(`${ns}.`)) && !s.includes(">");
    return (target === undefined || mayPublish(target)) && (source === undefined || mayRead(source));
  }));
});
