// One attack per JetStream isolation hole, each tried the way a caller would
// try it, against a real JetStream hub (and one with a JetStream domain):
// 1. a key given twice in a consumer-create body (Go merges both on the hub);
// 2. an escaped deliver subject beside the same text elsewhere in the body;
// 3. the domain-qualified API `$JS.<domain>.API.…`;
// 4. a stream capturing other callers' replies, read back by message get;
// 5. a stream snapshot delivered to an arbitrary subject;
// 6. KV values poisoned with a lifecycle `Nats-Subject` header or a body posing
//    as a message-get answer, which must not hide them from anyone;
// 7. a `Nats-Trace-Dest` header naming another caller's namespace;
// 8. message-schedule headers naming a target or source outside the caller's rights;
// 9. a guessed JetStream ack subject for another caller's pending message.
// Each asserts what reached the hub, not only what the gateway answered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { headers, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { startJsWorld, waitFor, type JsWorld } from "./js_world.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const VIOLATION = /Permissions Violation for Publish to/;

/** The names of the consumers the hub holds on a stream. */
async function hubConsumers(hub: NatsConnection, stream: string): Promise<string[]> {
  const jsm = await jetstreamManager(hub);
  const names: string[] = [];
  for await (const c of jsm.consumers.list(stream)) names.push(c.name);
  return names.sort();
}

/** Nothing arrives on `subject` at the hub for a second (the victim's side). */
async function silentFor(hub: NatsConnection, subject: string, action: () => Promise<unknown>): Promise<number> {
  let got = 0;
  const sub = hub.subscribe(subject, { callback: () => void got++ });
  await hub.flush();
  await action().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  sub.unsubscribe();
  return got;
}

/** Publishes on `subject` with `h` from `nc` until the hub sees it; the value the hub read for `header`. */
async function hubReads(hub: NatsConnection, nc: NatsConnection, subject: string, h: MsgHdrs, header: string): Promise<string> {
  const seen: string[] = [];
  const sub = hub.subscribe(subject, { callback: (_e, m) => void seen.push(m.headers?.get(header) ?? "") });
  await hub.flush();
  await waitFor(`the message on ${subject} reaches the hub`, async () => {
    nc.publish(subject, enc("x"), { headers: h });
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    return seen.length > 0 || undefined;
  }, 10000);
  sub.unsubscribe();
  return seen[0]!;
}

/** Messages the hub got on `subject` within a second of `nc` publishing there with `h` (0: refused). */
function hubGetsWith(hub: NatsConnection, nc: NatsConnection, subject: string, h: MsgHdrs): Promise<number> {
  return silentFor(hub, subject, async () => {
    nc.publish(subject, enc("x"), { headers: h });
    await nc.flush();
  });
}

async function world(t: Parameters<typeof startJsWorld>[0], domain?: string): Promise<{ w: JsWorld; hub: NatsConnection }> {
  const w = await startJsWorld(t, domain ? { hub: { jetstream: { domain } } } : {});
  const hub = await w.hubClient();
  const hjsm = await jetstreamManager(hub);
  await hjsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], allow_direct: true });
  await hub.request("orders.new", enc("order 1"), { timeout: 5000 }).catch(() => undefined);
  return { w, hub };
}

test("JetStream isolation: every hole tried against a real hub", async (t) => {
  const { w, hub } = await world(t);
  const victim = `choria.reply.${md5Hex("up=alice")}`;
  const mallory = w.caller("up=mallory", { streams_user: true });
  const mnc = await w.connect(mallory, "plain-inbox");
  const admin = w.caller("up=root", { streams_admin: true, streams_user: true });
  const anc = await w.connect(admin, "plain-inbox");

  await t.test("1. a config given twice is refused; the hub gets no consumer, the victim no message", async () => {
    for (const body of [
      `{"stream_name":"ORDERS","config":{"deliver_subject":"${victim}.stolen"},"config":{"ack_policy":"none"}}`,
      `{"stream_name":"ORDERS","config":{"ack_policy":"none","deliver_policy":"all"},"Config":{"deliver_subject":"choria.lifecycle.event.alive.x"}}`,
    ]) {
      const got = await silentFor(hub, `${victim}.>`, () =>
        assert.rejects(mnc.request("$JS.API.CONSUMER.CREATE.ORDERS", enc(body), { timeout: 3000 }), VIOLATION));
      assert.equal(got, 0, body);
    }
    assert.deepEqual(await hubConsumers(hub, "ORDERS"), []);
    // The same for streams: a second mirror cannot slip a filter past the check.
    await assert.rejects(
      anc.request("$JS.API.STREAM.CREATE.M2", enc('{"name":"M2","mirror":{"name":"ORDERS"},"mirror":{"name":"ORDERS","filter_subject":"choria.reply.>"}}'), { timeout: 3000 }),
      VIOLATION,
    );
  });

  await t.test("2. an escaped deliver subject is rewritten into the caller's namespace, not the text beside it", async () => {
    const body = '{"stream_name":"ORDERS","config":{"name":"ESC","description":"_INBOX.x.1","deliver_subject":"_INBOX\\u002ex.1","ack_policy":"none"}}';
    const r = await mnc.request("$JS.API.CONSUMER.CREATE.ORDERS.ESC", enc(body), { timeout: 5000 });
    const answer = JSON.parse(dec(r.data));
    assert.equal(answer.error, undefined, dec(r.data));
    assert.equal(answer.config.deliver_subject, "_INBOX.x.1", "the caller sees its own subject back");
    const info = await (await jetstreamManager(hub)).consumers.info("ORDERS", "ESC");
    assert.equal(info.config.deliver_subject, `choria.reply.${md5Hex("up=mallory")}._INBOX.x.1`, "the hub pushes into mallory's namespace");
    assert.equal(info.config.description, "_INBOX.x.1", "the description is left as written");
    await (await jetstreamManager(hub)).consumers.delete("ORDERS", "ESC");
  });

  await t.test("4. a stream capturing other callers' replies or lifecycle is refused; own namespace and ordinary subjects are not", async () => {
    const ajsm = await jetstreamManager(anc, { timeout: 5000 });
    for (const subjects of [["choria.reply.>"], [`${victim}.>`], ["choria.*.*.>"], ["choria.lifecycle.>"], [">"]]) {
      await assert.rejects(ajsm.streams.add({ name: "SNOOP", subjects }), VIOLATION, subjects.join());
    }
    // nats.js refuses a subject transform for a 2.9 hub by itself; a raw request reaches the gateway.
    const transform = { name: "SNOOP", subjects: ["snoop.>"], subject_transform: { src: "snoop.>", dest: `${victim}.>` } };
    await assert.rejects(anc.request("$JS.API.STREAM.CREATE.SNOOP", enc(JSON.stringify(transform)), { timeout: 3000 }), VIOLATION);
    await assert.rejects(ajsm.streams.add({ name: "SNOOP", sources: [{ name: "ORDERS", filter_subject: "choria.reply.>" }] }), VIOLATION);
    const hjsm = await jetstreamManager(hub);
    await assert.rejects(hjsm.streams.info("SNOOP"), /stream not found/);
    // A reply to alice travels the fleet and no stream holds it.
    await hub.publish(`${victim}.r1`, enc("alice's secret"));
    await ajsm.streams.add({ name: "MINE", subjects: [`choria.reply.${md5Hex("up=root")}.>`, "mine.>"] });
    assert.ok((await hjsm.streams.info("MINE")).config.subjects.includes("mine.>"));
    await hjsm.streams.delete("MINE");
    // A stream the hub's own administrator made on every reply: what it stored from alice's
    // namespace reaches nobody else by direct get or message get, and alice reads it.
    await hjsm.streams.add({ name: "ALLREPLIES", subjects: ["choria.reply.>"], allow_direct: true });
    await jetstream(hub).publish(`${victim}.r2`, enc("alice's other secret"));
    const quick = await jetstreamManager(mnc, { timeout: 1500 });
    await assert.rejects(quick.direct.getMessage("ALLREPLIES", { last_by_subj: `${victim}.r2` }), /timeout/i, "direct get by mallory");
    await assert.rejects(quick.streams.getMessage("ALLREPLIES", { seq: 1 }), /timeout/i, "message get by mallory");
    const alice = await w.connect(w.caller("up=alice", { streams_user: true }), "choria-inbox");
    const own = await jetstreamManager(alice, { timeout: 5000 });
    assert.equal(dec((await own.direct.getMessage("ALLREPLIES", { last_by_subj: `${victim}.r2` }))!.data), "alice's other secret");
    assert.equal(dec((await own.streams.getMessage("ALLREPLIES", { seq: 1 }))!.data), "alice's other secret");
    await hjsm.streams.delete("ALLREPLIES");
  });

  await t.test("5. snapshots and restores are refused, the hub sends no chunk anywhere", async () => {
    for (const deliver of ["_INBOX.snap", `${victim}.snap`, "choria.lifecycle.x"]) {
      const got = await silentFor(hub, ">", () =>
        assert.rejects(anc.request("$JS.API.STREAM.SNAPSHOT.ORDERS", enc(JSON.stringify({ deliver_subject: deliver, chunk_size: 1024 })), { timeout: 3000 }), VIOLATION));
      assert.equal(got, 0, deliver);
    }
    await assert.rejects(anc.request("$JS.API.STREAM.RESTORE.COPY", enc('{"config":{"name":"COPY","subjects":["choria.reply.>"]},"state":{}}'), { timeout: 3000 }), VIOLATION);
  });

  // On a gateway with the hole, the gets time out and the watch never sees its last key: bounded here.
  await t.test("6. poisoned KV values are still read by everyone, by direct get, message get and watch", { timeout: 60_000 }, async () => {
    const bucket = await new Kvm(anc).create("POISON", { history: 1 });
    const mkv = await new Kvm(mnc).open("POISON");
    const poison = headers();
    poison.set("Nats-Subject", "choria.lifecycle.event.alive.n1");
    // A KV put with headers: published straight to the bucket's subject.
    await mnc.request("$KV.POISON.hdr", enc("value with a lifecycle header"), { headers: poison, timeout: 5000 });
    const fake = JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_msg_get_response", message: { subject: "choria.lifecycle.event.alive.n1", seq: 1, data: "e30=" } });
    await mkv.put("body", enc(fake));
    await mkv.put("plain", enc("ok"));
    const alice = w.caller("up=alice", { streams_user: true });
    for (const kind of ["plain-inbox", "choria-inbox"] as const) {
      const akv = await new Kvm(await w.connect(alice, kind)).open("POISON");
      assert.equal(dec((await akv.get("hdr"))!.value), "value with a lifecycle header", kind);
      assert.equal(dec((await akv.get("body"))!.value), fake, kind);
      const seen: string[] = [];
      const watch = await akv.watch();
      for await (const e of watch) {
        seen.push(e.key);
        if (e.delta === 0) break;
      }
      assert.deepEqual(seen.sort(), ["body", "hdr", "plain"], `${kind}: the watch loses no key`);
    }
    // Message get (not direct): the stored message is inside the hub's answer.
    const ajsm = await jetstreamManager(anc, { timeout: 5000 });
    const m = await ajsm.streams.getMessage("KV_POISON", { last_by_subj: "$KV.POISON.hdr" });
    assert.equal(dec(m!.data), "value with a lifecycle header");
    await bucket.destroy();
  });

  await t.test("7. Nats-Trace-Dest: another caller's namespace refused; _INBOX mapped into the caller's own", async () => {
    const anyone = w.caller("up=tracer", {}, { pubSubjects: ["orders.>"] });
    const tnc = await w.connect(anyone, "plain-inbox");
    for (const dest of [`${victim}.trace`, "choria.lifecycle.event.alive.x"]) {
      const h = headers();
      h.set("Nats-Trace-Dest", dest);
      assert.equal(await hubGetsWith(hub, tnc, "orders.traced", h), 0, `refused, not forwarded: ${dest}`);
    }
    assert.match(w.g.audit.lines.join("\n"), /choria\.lifecycle\.event\.alive\.x/);
    const h = headers();
    h.set("Nats-Trace-Dest", "_INBOX.trace.1");
    assert.equal(await hubReads(hub, tnc, "orders.traced", h, "Nats-Trace-Dest"), `choria.reply.${md5Hex("up=tracer")}._INBOX.trace.1`);
  });

  await t.test("9. another caller's pending message cannot be acknowledged by a guessed ack subject", async () => {
    const hjsm = await jetstreamManager(hub);
    await hjsm.consumers.add("ORDERS", { durable_name: "WORK", ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000 });
    const alice = await w.connect(w.caller("up=alice", { streams_user: true }), "plain-inbox");
    const work = await jetstream(alice).consumers.get("ORDERS", "WORK");
    const m = await work.next({ expires: 5000 });
    assert.ok(m, "alice holds the work item");
    assert.equal((await hjsm.consumers.info("ORDERS", "WORK")).num_ack_pending, 1);
    // Mallory knows the stream, the consumer and the sequences, not the delivery's timestamp.
    const ts = BigInt(Date.now()) * 1_000_000n;
    for (const subject of [
      "$JS.ACK.ORDERS.WORK.1.1.1.0.0",
      `$JS.ACK.ORDERS.WORK.1.1.1.${ts}.0`,
      `$JS.ACK.hub.${"A".repeat(8)}.ORDERS.WORK.1.1.1.${ts}.0.x`,
      "$JS.ACK.ORDERS.WORK.1.1.1",
    ]) {
      mnc.publish(subject, enc("+TERM"));
    }
    await mnc.flush();
    await hub.flush();
    assert.equal((await hjsm.consumers.info("ORDERS", "WORK")).num_ack_pending, 1, "the guessed acks reached no consumer");
    // Alice's own ack, on the subject the hub gave her, does.
    m.ack();
    await alice.flush();
    await waitFor("alice's ack reaches the consumer", async () => ((await hjsm.consumers.info("ORDERS", "WORK")).num_ack_pending === 0) || undefined, 10_000);
    await hjsm.consumers.delete("ORDERS", "WORK");
  });

  await t.test("8. message schedules (nats-server 2.12+): a target or source outside the caller's rights is refused", async () => {
    const scheduler = w.caller("up=scheduler", {}, { pubSubjects: ["orders.>"], subSubjects: ["orders.>"] });
    const snc = await w.connect(scheduler, "plain-inbox");
    for (const [name, value] of [["Nats-Schedule-Target", "choria.lifecycle.event.alive.forged"], ["Nats-Schedule-Source", "choria.lifecycle.event.alive.x"], ["nats-schedule-target", `${victim}.x`]] as const) {
      const h = headers();
      h.set("Nats-Schedule", "@every 1m");
      h.set("Nats-Schedule-Target", "orders.later");
      h.set(name, value);
      assert.equal(await hubGetsWith(hub, snc, "orders.scheduled", h), 0, `refused, not forwarded: ${name}: ${value}`);
    }
    assert.match(w.g.audit.lines.join("\n"), /choria\.lifecycle\.event\.alive\.forged/);
    // A schedule within the caller's own subjects goes through.
    const h = headers();
    h.set("Nats-Schedule", "@every 1m");
    h.set("Nats-Schedule-Target", "orders.later");
    h.set("Nats-Schedule-Source", "orders.last");
    assert.equal(await hubReads(hub, snc, "orders.scheduled", h, "Nats-Schedule-Target"), "orders.later");
  });
});

test("JetStream isolation: $JS.<domain>.API gets the checks of $JS.API, against a hub with a JetStream domain", async (t) => {
  const { w, hub } = await world(t, "hub");
  const victim = `choria.reply.${md5Hex("up=alice")}`;
  const admin = w.caller("up=root", { streams_admin: true, streams_user: true });
  const anc = await w.connect(admin, "plain-inbox");
  // The domain-qualified API reaches the hub's JetStream through the gateway.
  const djsm = await jetstreamManager(anc, { domain: "hub", timeout: 5000 });
  assert.equal((await djsm.streams.info("ORDERS")).config.name, "ORDERS");
  // A direct get under the domain names the hub's `_sys_` queue as one without it does.
  assert.equal(dec((await djsm.direct.getMessage("ORDERS", { seq: 1 }))!.data), "order 1");
  for (const [subject, body] of [
    ["$JS.hub.API.CONSUMER.CREATE.ORDERS", `{"stream_name":"ORDERS","config":{"deliver_subject":"${victim}.stolen","ack_policy":"none"}}`],
    ["$JS.hub.API.CONSUMER.DURABLE.CREATE.ORDERS.D", `{"stream_name":"ORDERS","config":{"durable_name":"D","deliver_subject":"choria.lifecycle.x","ack_policy":"none"}}`],
    ["$JS.hub.API.STREAM.CREATE.SNOOP", '{"name":"SNOOP","subjects":["choria.reply.>"]}'],
    ["$JS.hub.API.STREAM.UPDATE.ORDERS", '{"name":"ORDERS","subjects":["orders.>","choria.lifecycle.>"]}'],
    ["$JS.hub.API.STREAM.SNAPSHOT.ORDERS", `{"deliver_subject":"${victim}.snap"}`],
    // nats-server 2.12 would answer without the headers that name the stored subject (2.9.10 ignores the key).
    ["$JS.hub.API.DIRECT.GET.ORDERS", '{"seq":1,"no\\u005fhdr":true}'],
    ["$JS.API.DIRECT.GET.ORDERS.orders.new", '{"NO_HDR":true}'],
  ] as const) {
    const got = await silentFor(hub, `${victim}.>`, () => assert.rejects(anc.request(subject, enc(body), { timeout: 3000 }), VIOLATION, subject));
    assert.equal(got, 0, subject);
  }
  assert.deepEqual(await hubConsumers(hub, "ORDERS"), []);
  const info = await (await jetstreamManager(hub)).streams.info("ORDERS");
  assert.deepEqual(info.config.subjects, ["orders.>"]);
  // A push consumer made through the domain API delivers into the caller's own namespace.
  const c = await djsm.consumers.add("ORDERS", { name: "MINE", deliver_subject: "_INBOX.mine", ack_policy: AckPolicy.None });
  assert.equal(c.config.deliver_subject, "_INBOX.mine");
  const hc = await (await jetstreamManager(hub)).consumers.info("ORDERS", "MINE");
  assert.equal(hc.config.deliver_subject, `choria.reply.${md5Hex("up=root")}._INBOX.mine`);
});
