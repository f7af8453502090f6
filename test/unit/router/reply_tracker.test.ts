// The reply tracker alone: remember/route, refresh on use, expiry, the entry
// and byte bounds (property-tested against a model), forgetting a link, and
// the JetStream `@` reply form.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ReplyTracker, isHubWithheldJetStreamSubject, jsDeliveredSubjectAt } from "../../../src/router/reply_tracker.js";

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe("reply tracker", () => {
  test("routes a remembered reply to its link; unknown subjects route nowhere", () => {
    const r = new ReplyTracker<string>();
    r.remember("$JS.ACK.a", "eu");
    r.remember("_INBOX.b", "us");
    assert.equal(r.route("$JS.ACK.a"), "eu");
    assert.equal(r.route("_INBOX.b"), "us");
    assert.equal(r.route("_INBOX.c"), undefined);
    assert.equal(r.stats.routed, 2);
  });

  test("entries expire unless used; a use refreshes", () => {
    const c = clock();
    const r = new ReplyTracker<string>({ ttlMs: 1000, now: c.now });
    r.remember("a", "L");
    r.remember("b", "L");
    c.advance(900);
    assert.equal(r.route("a"), "L");
    c.advance(900);
    assert.equal(r.route("a"), "L", "refreshed by the previous use");
    assert.equal(r.route("b"), undefined, "expired");
    assert.equal(r.stats.expired, 1);
    c.advance(1001);
    r.remember("c", "L");
    assert.equal(r.size, 1, "expired entries leave on the next insert");
    assert.equal(r.bytes, "c".length + 64);
  });

  test("bounded in entries and bytes: the oldest leave first", () => {
    const r = new ReplyTracker<number>({ maxEntries: 3, maxBytes: 1_000_000 });
    for (let i = 0; i < 5; i++) r.remember(`r${i}`, i);
    assert.equal(r.size, 3);
    assert.equal(r.route("r0"), undefined);
    assert.equal(r.route("r4"), 4);
    assert.equal(r.stats.evicted, 2);
    const b = new ReplyTracker<number>({ maxEntries: 1000, maxBytes: 3 * (100 + 64) });
    for (let i = 0; i < 10; i++) b.remember("x".repeat(99) + i, i);
    assert.equal(b.size, 3);
    assert.ok(b.bytes <= 3 * 164);
    // A single reply larger than the whole budget is not kept at all.
    b.remember("y".repeat(1000), 0);
    assert.equal(b.route("y".repeat(1000)), undefined);
  });

  test("forgetLink drops that link's replies only", () => {
    const r = new ReplyTracker<string>();
    r.remember("a", "eu");
    r.remember("b", "us");
    r.forgetLink("eu");
    assert.equal(r.route("a"), undefined);
    assert.equal(r.route("b"), "us");
    assert.equal(r.bytes, 1 + 64);
  });

  test("property: never over its bounds; a route answer is the link last remembered", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("remember" as const), s: fc.string({ minLength: 1, maxLength: 40 }), l: fc.nat(3) }),
      fc.record({ k: fc.constant("route" as const), s: fc.string({ minLength: 1, maxLength: 40 }) }),
      fc.record({ k: fc.constant("tick" as const), ms: fc.nat(600) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 64, max: 2000 }), (ops, maxEntries, maxBytes) => {
      const c = clock();
      const r = new ReplyTracker<number>({ maxEntries, maxBytes, ttlMs: 1000, now: c.now });
      const last = new Map<string, number>();
      for (const o of ops) {
        if (o.k === "remember") {
          r.remember(o.s, o.l);
          last.set(o.s, o.l);
        } else if (o.k === "route") {
          const got = r.route(o.s);
          if (got !== undefined && got !== last.get(o.s)) return false;
        } else c.advance(o.ms);
        if (r.size > maxEntries || r.bytes > maxBytes) return false;
      }
      return true;
    }));
  });
});

describe("JetStream reply forms", () => {
  test("the @ of a leafnode JetStream delivery", () => {
    const reply = "$JS.ACK.ORDERS.C.1.2.2.1700000000.0@orders.new";
    assert.equal(reply.slice(jsDeliveredSubjectAt(reply) + 1), "orders.new");
    assert.equal(jsDeliveredSubjectAt("$JS.ACK.a@b@c"), "$JS.ACK.a@b".length, "the last @");
    for (const no of ["$JS.ACK.x", "$JS.ACK.x@", "_INBOX.a@b", "$JS.FC.a@b", "$JS.ACK.@x".slice(0, 8)]) assert.equal(jsDeliveredSubjectAt(no), -1, no);
  });

  test("subjects the hub withholds from a leafnode", () => {
    assert.ok(isHubWithheldJetStreamSubject("$KV.B.k"));
    assert.ok(isHubWithheldJetStreamSubject("$OBJ.x"));
    assert.ok(!isHubWithheldJetStreamSubject("$O.B.C.x"));
    assert.ok(!isHubWithheldJetStreamSubject("$JS.API.INFO"));
    assert.ok(!isHubWithheldJetStreamSubject("KV.x"));
  });
});
