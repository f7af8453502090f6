// Router and interest map alone: delivery to plain and queue subscribers, echo,
// upstream forwarding with served queues, hub deliveries naming queue groups,
// the LS+/LS- transitions the interest map emits, and several upstreams
// (interest to all, queue groups to one hub, reply routes, refusals).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Router } from "../../../src/router/router.js";
import type { Subscriber, Subscription, Upstream, UpstreamMatch } from "../../../src/router/types.js";

class Recorder implements Subscriber {
  static next = 1;
  readonly cid = Recorder.next++;
  got: { sid: string; subject: string; reply?: string; data: string }[] = [];
  accept = true;
  deliver(sub: Subscription, subject: string, reply: string | undefined, _hdr: number, payload: Uint8Array): boolean {
    if (!this.accept) return false;
    this.got.push({ sid: sub.sid, subject, reply, data: Buffer.from(payload).toString() });
    return true;
  }
  sub(subject: string, sid: string, queue?: string): Subscription {
    return { subject, queue, sid, owner: this };
  }
}

class FakeUpstream implements Upstream {
  static next = 1;
  readonly id: string;
  live = true;
  interest: string[] = [];
  forwarded: { subject: string; served: string[] | null }[] = [];
  hubHasInterest = true;
  /** What the hub subscribed to, for match(). */
  hubQueues: string[] = [];
  hubPlain = true;
  refuses: (subject: string) => boolean = () => false;
  constructor(id?: string) {
    this.id = id ?? `hub${FakeUpstream.next++}`;
  }
  match(_subject: string): UpstreamMatch {
    return { plain: this.hubPlain, queues: this.hubQueues };
  }
  refusesInterest(subject: string): boolean {
    return this.refuses(subject);
  }
  setInterest(subject: string, queue: string | undefined, weight: number): void {
    this.interest.push(`${weight > 0 ? "LS+" : "LS-"} ${subject}${queue ? ` ${queue}` : ""}${queue && weight > 0 ? ` ${weight}` : ""}`);
  }
  forward(subject: string, _r: string | undefined, _h: number, _p: Uint8Array, served: ReadonlySet<string> | null): boolean {
    this.forwarded.push({ subject, served: served ? [...served].sort() : null });
    return this.hubHasInterest;
  }
  replies: { subject: string; reply?: string }[] = [];
  linkUp = true;
  forwardReply(subject: string, reply: string | undefined): boolean {
    this.replies.push({ subject, reply });
    return this.linkUp;
  }
}

const data = Buffer.from("hi");

describe("router", () => {
  test("plain subscribers all receive; wildcards match", () => {
    const r = new Router();
    const a = new Recorder();
    const b = new Recorder();
    r.subscribe(a.sub("foo.bar", "1"));
    r.subscribe(b.sub("foo.*", "2"));
    r.subscribe(b.sub("foo.>", "3"));
    const pub = new Recorder();
    assert.equal(r.publish(pub, true, "foo.bar", undefined, -1, data), 3);
    assert.deepEqual(a.got.map((m) => m.sid), ["1"]);
    assert.deepEqual(b.got.map((m) => m.sid).sort(), ["2", "3"]);
    assert.equal(r.publish(pub, true, "other", undefined, -1, data), 0);
  });

  test("echo false keeps a publisher's own messages away from it", () => {
    const r = new Router();
    const a = new Recorder();
    r.subscribe(a.sub("x", "1"));
    assert.equal(r.publish(a, false, "x", undefined, -1, data), 0);
    assert.equal(r.publish(a, true, "x", undefined, -1, data), 1);
  });

  test("one member per queue group, distributed, and a refusing member is skipped", () => {
    const r = new Router();
    const members = [new Recorder(), new Recorder(), new Recorder()];
    members.forEach((m, i) => r.subscribe(m.sub("work", String(i), "q")));
    const other = new Recorder();
    r.subscribe(other.sub("work", "9", "q2"));
    const pub = new Recorder();
    for (let i = 0; i < 300; i++) assert.equal(r.publish(pub, true, "work", undefined, -1, data), 2);
    assert.equal(members.reduce((n, m) => n + m.got.length, 0), 300);
    for (const m of members) assert.ok(m.got.length > 30, "each member gets a share");
    assert.equal(other.got.length, 300);
    members[0]!.accept = false;
    members[1]!.accept = false;
    const before = members[2]!.got.length;
    r.publish(pub, true, "work", undefined, -1, data);
    assert.equal(members[2]!.got.length, before + 1);
  });

  test("upstream gets every publish with the queue groups served locally", () => {
    const r = new Router();
    const up = new FakeUpstream();
    r.addUpstream(up);
    const m = new Recorder();
    r.subscribe(m.sub("work", "1", "q"));
    const pub = new Recorder();
    assert.equal(r.publish(pub, true, "work", undefined, -1, data), 2);
    assert.equal(r.publish(pub, true, "none", undefined, -1, data), 1);
    up.hubHasInterest = false;
    assert.equal(r.publish(pub, true, "none", undefined, -1, data), 0);
    assert.deepEqual(up.forwarded[0], { subject: "work", served: ["q"] });
    assert.deepEqual(up.forwarded[1], { subject: "none", served: null });
  });

  test("hub messages reach queue subscribers only when the group is named", () => {
    const r = new Router();
    const plain = new Recorder();
    const q = new Recorder();
    r.subscribe(plain.sub("job", "1"));
    r.subscribe(q.sub("job", "2", "workers"));
    const hub = new FakeUpstream();
    assert.equal(r.deliverFromUpstream(hub, "job", undefined, null, -1, data), 1);
    assert.equal(q.got.length, 0);
    assert.equal(r.deliverFromUpstream(hub, "job", "rep", ["workers"], -1, data), 2);
    assert.equal(q.got.length, 1);
    assert.equal(q.got[0]!.reply, "rep");
    assert.equal(r.deliverFromUpstream(hub, "job", undefined, ["others"], -1, data), 1);
  });

  test("interest is aggregated: LS+ on first, LS- on last, queue weights on change", () => {
    const r = new Router();
    const up = new FakeUpstream();
    r.addUpstream(up);
    const subs: Subscription[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = new Recorder().sub("same.subject", "1");
      subs.push(s);
      r.subscribe(s);
    }
    assert.deepEqual(up.interest, ["LS+ same.subject"]);
    const q1 = new Recorder().sub("w", "1", "q");
    const q2 = new Recorder().sub("w", "1", "q");
    r.subscribe(q1);
    r.subscribe(q2);
    r.unsubscribe(q1);
    r.unsubscribe(q2);
    for (const s of subs) r.unsubscribe(s);
    assert.deepEqual(up.interest, ["LS+ same.subject", "LS+ w q 1", "LS+ w q 2", "LS+ w q 1", "LS- w q", "LS- same.subject"]);
    assert.deepEqual([...r.interestSnapshot()], []);
  });

  test("unsubscribing twice does not drive interest negative", () => {
    const r = new Router();
    const up = new FakeUpstream();
    r.addUpstream(up);
    const a = new Recorder().sub("a", "1");
    const b = new Recorder().sub("a", "1");
    r.subscribe(a);
    r.subscribe(b);
    r.unsubscribe(a);
    r.unsubscribe(a);
    assert.deepEqual(up.interest, ["LS+ a"]);
    assert.deepEqual([...r.interestSnapshot()], [{ subject: "a", queue: undefined, weight: 1 }]);
  });

  test("findOwnSubscription finds the owner's plain subscription only", () => {
    const r = new Router();
    const a = new Recorder();
    const b = new Recorder();
    r.subscribe(b.sub("reply.>", "7"));
    assert.equal(r.findOwnSubscription(a, "reply.x"), undefined);
    const mine = a.sub("reply.*", "3");
    r.subscribe(mine);
    assert.equal(r.findOwnSubscription(a, "reply.x"), mine);
  });
  test("replies of hub messages go back through the link they came from, advertised or not", () => {
    const r = new Router();
    const eu = new FakeUpstream();
    const us = new FakeUpstream();
    eu.hubHasInterest = false;
    us.hubHasInterest = false;
    r.addUpstream(eu);
    r.addUpstream(us);
    const client = new Recorder();
    r.subscribe(client.sub("work", "1"));
    assert.equal(r.deliverFromUpstream(us, "work", "$JS.ACK.S.C.1.1.1.1.0", null, -1, data), 1);
    // The ack reaches the US link, and only it, although no hub advertised interest.
    assert.equal(r.publish(client, true, "$JS.ACK.S.C.1.1.1.1.0", undefined, -1, data), 1);
    assert.deepEqual(us.replies, [{ subject: "$JS.ACK.S.C.1.1.1.1.0", reply: undefined }]);
    assert.equal(eu.forwarded.length + us.forwarded.length + eu.replies.length, 0);
    // Used again (progress, then ack): still routed.
    r.publish(client, true, "$JS.ACK.S.C.1.1.1.1.0", "_INBOX.x", -1, data);
    assert.equal(us.replies.length, 2);
    // A link that cannot take it: counted as not delivered (no-responders for a request).
    us.linkUp = false;
    assert.equal(r.publish(client, true, "$JS.ACK.S.C.1.1.1.1.0", undefined, -1, data), 0);
    // Never remembered: a reply of a hub message nobody received.
    assert.equal(r.deliverFromUpstream(us, "nobody", "$JS.FC.S.x.1", null, -1, data), 0);
    assert.equal(r.publish(client, true, "$JS.FC.S.x.1", undefined, -1, data), 0);
    assert.equal(us.replies.length, 3);
  });

  test("a JetStream delivery over the leafnode shows its stream subject and the bare ack reply", () => {
    const r = new Router();
    const up = new FakeUpstream();
    r.addUpstream(up);
    const c = new Recorder();
    r.subscribe(c.sub("choria.reply.abc._INBOX.d", "9"));
    r.deliverFromUpstream(up, "choria.reply.abc._INBOX.d", "$JS.ACK.ORDERS.C.1.5.5.17.0@orders.new", null, -1, data);
    assert.deepEqual(c.got[0], { sid: "9", subject: "orders.new", reply: "$JS.ACK.ORDERS.C.1.5.5.17.0", data: "hi" });
    // Other replies and a trailing @ are left as they are, as nats-server does.
    r.deliverFromUpstream(up, "choria.reply.abc._INBOX.d", "_INBOX.a@b", null, -1, data);
    r.deliverFromUpstream(up, "choria.reply.abc._INBOX.d", "$JS.ACK.S.C.1.1.1.1.0@", null, -1, data);
    assert.deepEqual(c.got.slice(1).map((g) => [g.subject, g.reply]), [
      ["choria.reply.abc._INBOX.d", "_INBOX.a@b"],
      ["choria.reply.abc._INBOX.d", "$JS.ACK.S.C.1.1.1.1.0@"],
    ]);
    r.publish(c, true, "$JS.ACK.ORDERS.C.1.5.5.17.0", undefined, -1, data);
    assert.deepEqual(up.replies, [{ subject: "$JS.ACK.ORDERS.C.1.5.5.17.0", reply: undefined }]);
  });

  test("lifecycle events from the hub reach nobody: streamed ones are terminated, carried ones withheld", () => {
    const r = new Router();
    const up = new FakeUpstream();
    r.addUpstream(up);
    const c = new Recorder();
    r.subscribe(c.sub("inbox", "1"));
    assert.equal(r.deliverFromUpstream(up, "inbox", "$JS.ACK.EV.C.1.1.1.1.0@choria.lifecycle.event.alive.n1", null, -1, data), 0);
    assert.deepEqual(up.replies, [{ subject: "$JS.ACK.EV.C.1.1.1.1.0", reply: undefined }], "+TERM sent back");
    const hdr = Buffer.from("NATS/1.0\r\nNats-Subject: choria.lifecycle.event.alive.n1\r\n\r\n");
    assert.equal(r.deliverFromUpstream(up, "inbox", undefined, null, hdr.length, Buffer.concat([hdr, data])), 0);
    assert.equal(c.got.length, 0);
    assert.equal(r.lifecycleWithheld, 2);
    assert.equal(r.deliverFromUpstream(up, "inbox", "$JS.ACK.EV.C.1.2.2.1.0@audit.x", null, -1, data), 1);
    assert.equal(c.got[0]!.subject, "audit.x");
  });

  test("several hubs: interest goes to all, a plain publish once to each, the count once", () => {
    const r = new Router();
    const a = new FakeUpstream(), b = new FakeUpstream();
    r.addUpstream(a);
    r.addUpstream(b);
    assert.throws(() => r.addUpstream(new FakeUpstream(a.id)), /attached twice/);
    r.subscribe(new Recorder().sub("x.>", "1"));
    assert.deepEqual(a.interest, ["LS+ x.>"]);
    assert.deepEqual(b.interest, ["LS+ x.>"]);
    assert.equal(r.publish(new Recorder(), true, "job", undefined, -1, data), 1);
    assert.deepEqual(a.forwarded, [{ subject: "job", served: null }]);
    assert.deepEqual(b.forwarded, [{ subject: "job", served: null }]);
  });

  test("several hubs: each unserved queue group goes to exactly one hub, and both hubs are used", () => {
    const r = new Router();
    const a = new FakeUpstream(), b = new FakeUpstream();
    a.hubPlain = b.hubPlain = false;
    a.hubQueues = ["workers"];
    b.hubQueues = ["workers", "only-b"];
    r.addUpstream(a);
    r.addUpstream(b);
    const pub = new Recorder();
    for (let i = 0; i < 200; i++) r.publish(pub, true, "job", undefined, -1, data);
    let toA = 0, toB = 0;
    for (let i = 0; i < 200; i++) {
      const sa = a.forwarded[i]!.served ?? [], sb = b.forwarded[i]!.served ?? [];
      // "workers" is excluded on exactly one side; "only-b" never excluded on b.
      assert.equal(sa.includes("workers") !== sb.includes("workers"), true);
      assert.equal(sb.includes("only-b"), false);
      if (!sa.includes("workers")) toA++;
      else toB++;
    }
    assert.equal(toA + toB, 200);
    assert.ok(toA > 20 && toB > 20, `both hubs used (${toA}/${toB})`);
    // A group served by a local member goes to no hub.
    r.subscribe(new Recorder().sub("job", "1", "workers"));
    r.publish(pub, true, "job", undefined, -1, data);
    assert.ok(a.forwarded.at(-1)!.served!.includes("workers") && b.forwarded.at(-1)!.served!.includes("workers"));
  });

  test("several hubs: a hub that is down buffers with the groups other hubs served excluded", () => {
    const r = new Router();
    const a = new FakeUpstream(), b = new FakeUpstream();
    a.hubPlain = false;
    a.hubQueues = ["workers"];
    b.live = false;
    r.addUpstream(a);
    r.addUpstream(b);
    r.publish(new Recorder(), true, "job", undefined, -1, data);
    assert.deepEqual(a.forwarded.at(-1), { subject: "job", served: null });
    assert.deepEqual(b.forwarded.at(-1), { subject: "job", served: ["workers"] });
  });

  test("a reply subject recorded from a hub request goes back through that hub only", () => {
    const r = new Router();
    const a = new FakeUpstream(), b = new FakeUpstream();
    r.addUpstream(a);
    r.addUpstream(b);
    const noted: string[] = [];
    r.setReplyRoutes({ noteRequest: (id, reply) => noted.push(`${id} ${reply}`), upstreamFor: (s) => (s === "rep.1" ? b.id : undefined) });
    r.subscribe(new Recorder().sub("svc", "1"));
    r.deliverFromUpstream(b, "svc", "rep.1", null, -1, data);
    assert.deepEqual(noted, [`${b.id} rep.1`]);
    r.publish(new Recorder(), true, "rep.1", undefined, -1, data);
    assert.equal(a.forwarded.length + a.replies.length, 0);
    assert.deepEqual(b.replies, [{ subject: "rep.1", reply: undefined }], "sent whatever the hub advertised");
  });

  test("upstreamRefuses is true only when every hub refuses; refuseInterest reaches each subscriber", () => {
    const r = new Router();
    assert.equal(r.upstreamRefuses("$KV.x"), false, "standalone refuses nothing here");
    const a = new FakeUpstream(), b = new FakeUpstream();
    a.refuses = (s) => s.startsWith("$KV.");
    r.addUpstream(a);
    r.addUpstream(b);
    assert.equal(r.upstreamRefuses("$KV.x"), false);
    b.refuses = (s) => s.startsWith("$KV.");
    assert.equal(r.upstreamRefuses("$KV.x"), true);
    const refused: string[] = [];
    class Refusable extends Recorder {
      refuseSubscription(sub: Subscription): void {
        refused.push(sub.sid);
        r.unsubscribe(sub);
      }
    }
    const s1 = new Refusable().sub("bad.subject", "1"), s2 = new Refusable().sub("bad.subject", "2"), other = new Refusable().sub("bad.subject", "3", "q");
    r.subscribe(s1);
    r.subscribe(s2);
    r.subscribe(other);
    assert.equal(r.refuseInterest(a, "bad.subject", undefined), 2);
    assert.deepEqual(refused, ["1", "2"]);
    assert.deepEqual([...r.interestSnapshot()].map((e) => `${e.subject} ${e.queue}`), ["bad.subject q"]);
    assert.deepEqual(a.interest.slice(-1), ["LS- bad.subject"]);
  });
});
