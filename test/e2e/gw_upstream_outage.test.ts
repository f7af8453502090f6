/**
 * Hub outages seen through the whole gateway. The hub is killed while
 * a client connected through the gateway holds subscriptions and traffic is
 * flowing, and restarted on the same ports: the gateway reconnects and replays
 * its interest, the client keeps the very same connection (no reconnect on its
 * side), subscriptions made before and during the outage work again, the
 * publishes it made during the outage reach a hub subscriber afterwards, in
 * order, and /readyz is 503 while the link is down and 200 once it is back.
 * With a small upstream buffer, publishes past the bound are dropped and
 * counted (stats and /metrics) and a requester gets no-responders rather than
 * silence. A TCP gate in front of the leafnode port (the only URL the hub
 * advertises) decides when the gateway may come back, so the hub-side
 * subscriber is always in place first and nothing depends on timing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import { hubHasLeafSub, startWorld, waitFor, type World } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const TEST_SUBJECTS = { pubSubjects: ["test.>"], subSubjects: ["test.>"] };

/** Every status event type of `nc` (disconnect, reconnect, …), collected in the background. */
function statusLog(nc: NatsConnection): string[] {
  const types: string[] = [];
  void (async () => {
    for await (const s of nc.status()) types.push(s.type);
  })();
  return types;
}

/** Kill the hub, wait until the gateway noticed, and close the gate so it cannot come back yet. */
async function outage(w: World): Promise<void> {
  await w.hub.kill();
  await waitFor("the gateway noticed the hub is gone", () => (!w.g.gw.ready ? true : undefined));
  w.gate!.open = false;
}

/** Restart the hub on the same ports, run `prepare` against it, then let the gateway in. */
async function recover(w: World, prepare: () => Promise<void>): Promise<void> {
  const port = w.hub.leafPort;
  await w.hub.start();
  assert.equal(w.hub.leafPort, port, "same leafnode port after the restart");
  await prepare();
  w.gate!.open = true;
  await waitFor("the gateway reconnected", () => w.g.gw.ready || undefined, 20000);
}

test("hub killed and restarted on the same ports: same client connection, interest replayed, outage publishes delivered in order, readiness follows the link", async (t) => {
  const w = await startWorld(t, { gate: true });
  const gw = w.g.gw;
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "survivor" });
  const statuses = statusLog(nc);
  const cid = nc.info!.client_id;
  const received: string[] = [];
  nc.subscribe("test.down", { callback: (err, m) => { if (!err) received.push(`${m.subject}:${dec.decode(m.data)}`); } });
  await nc.flush();
  await hubHasLeafSub(w.hub, "test.down");
  const before = await w.hubClient({ name: "hub-before" });
  for (let i = 0; i < 20; i++) before.publish("test.down", enc.encode(`before-${i}`));
  await before.flush();
  await waitFor("traffic before the outage", () => (received.length >= 20 ? true : undefined));
  assert.equal((await w.readyz()).status, 200);

  // Mid-stream: the hub goes away with the client subscribed and traffic just delivered.
  await outage(w);
  const down = await w.readyz();
  assert.equal(down.status, 503);
  assert.equal(down.body.reason, "upstream leafnode not connected");

  // During the outage the client keeps working: it publishes (buffered), subscribes, and local traffic flows.
  const outageSubjects = Array.from({ length: 50 }, (_, i) => `test.up.${i}`);
  for (const s of outageSubjects) nc.publish(s, enc.encode(s));
  nc.subscribe("test.during", { callback: (err, m) => { if (!err) received.push(`${m.subject}:${dec.decode(m.data)}`); } });
  const local = nc.subscribe("test.local", { max: 1 });
  nc.publish("test.local", enc.encode("local during the outage"));
  for await (const m of local) assert.equal(dec.decode(m.data), "local during the outage");
  await nc.flush();
  // The local publish is held too: whether the hub wants it is only known once the link is back.
  assert.equal(gw.upstream!.stats.bufferedMsgs, outageSubjects.length + 1);
  assert.equal(gw.upstream!.stats.droppedMsgs, 0);
  assert.equal((await w.readyz()).status, 503, "still not ready while the hub is away");

  // The hub returns; its subscriber is in place before the gateway may reconnect.
  const got: string[] = [];
  let after!: NatsConnection;
  await recover(w, async () => {
    after = await w.hubClient({ name: "hub-after" });
    after.subscribe("test.up.>", { callback: (err, m) => { if (!err) got.push(`${m.subject}:${dec.decode(m.data)}`); } });
    await after.flush();
  });
  await waitFor("the outage publishes at the hub", () => (got.length >= outageSubjects.length ? true : undefined), 20000);
  assert.deepEqual(got, outageSubjects.map((s) => `${s}:${s}`), "all of them, in order");
  assert.equal(gw.upstream!.stats.bufferedMsgs, 0);
  assert.equal(gw.upstream!.stats.reconnects, 1);
  assert.equal((await w.readyz()).status, 200);

  // Interest was replayed, including the subscription made during the outage.
  await hubHasLeafSub(w.hub, "test.down");
  await hubHasLeafSub(w.hub, "test.during");
  after.publish("test.down", enc.encode("after"));
  after.publish("test.during", enc.encode("after"));
  await after.flush();
  await waitFor("hub publishes reach the same client again", () =>
    received.includes("test.down:after") && received.includes("test.during:after") ? true : undefined);
  // A subscription made after the reconnect works too.
  const fresh = nc.subscribe("test.fresh", { max: 1 });
  await nc.flush();
  await hubHasLeafSub(w.hub, "test.fresh");
  after.publish("test.fresh", enc.encode("new"));
  for await (const m of fresh) assert.equal(dec.decode(m.data), "new");

  // The client never noticed: same connection, no disconnect or reconnect, counters continuous.
  assert.equal(nc.isClosed(), false);
  assert.equal(nc.info!.client_id, cid);
  assert.deepEqual(statuses.filter((s) => /disconnect|reconnect|close|stale/i.test(s)), []);
  assert.deepEqual([...gw.conns].map((c) => c.cid), [cid], "one gateway connection, the original one");
  const stats = nc.stats();
  assert.equal(stats.inMsgs, 20 + 1 + 2 + 1, "before, local, the two after, fresh");
  assert.equal(stats.outMsgs, outageSubjects.length + 1);
  assert.ok(w.g.logs.records().some((r) => r.msg === "upstream connection lost"));
});

test("a small upstream buffer: publishes past the bound are dropped and counted, a requester gets no-responders", async (t) => {
  const w = await startWorld(t, { gate: true, lines: ["plugin.choria.network.aaa_leafnode.upstream_buffer_size = 4096"] });
  const gw = w.g.gw;
  const upstream = gw.upstream!;
  const service = await w.hubClient({ name: "hub-service" });
  service.subscribe("test.svc", { callback: (err, m) => { if (!err) m.respond(enc.encode("pong")); } });
  await service.flush();
  await waitFor("the gateway knows the service", () => upstream.hubInterest.match("test.svc").plain || undefined);
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "overflow" });
  assert.equal(dec.decode((await nc.request("test.svc", enc.encode("ping"), { timeout: 10000 })).data), "pong");

  await outage(w);
  const payload = enc.encode("x".repeat(100));
  for (let i = 0; i < 100; i++) nc.publish(`test.up.${i}`, payload);
  await nc.flush();
  const kept = upstream.stats.bufferedMsgs;
  const dropped = upstream.stats.droppedMsgs;
  assert.ok(kept > 5 && dropped > 50, `kept ${kept}, dropped ${dropped}`);
  assert.equal(kept + dropped, 100);
  assert.ok(upstream.stats.bufferedBytes <= 4096);
  assert.equal(upstream.stats.droppedBytes, dropped * payload.length);
  const metrics = await w.metrics();
  assert.match(metrics, new RegExp(`^aaa_leafnode_upstream_dropped_msgs_total(\\{remote="[^"]*"\\})? ${dropped}$`, "m"));
  assert.equal(w.g.logs.records().filter((r) => r.msg === "upstream buffer full, dropping publishes until the hub is back").length, 1);

  // A request that does not fit: refused at once with a 503, not left to time out.
  const started = Date.now();
  await assert.rejects(nc.request("test.svc", enc.encode("y".repeat(256)), { timeout: 8000 }), (err: Error & { isNoResponders?: () => boolean }) =>
    err.isNoResponders?.() === true);
  assert.ok(Date.now() - started < 5000, "no-responders arrives well before the request timeout");
  assert.equal(upstream.stats.droppedMsgs, dropped + 1);
  assert.match(await w.metrics(), new RegExp(`^aaa_leafnode_upstream_dropped_msgs_total(\\{remote="[^"]*"\\})? ${dropped + 1}$`, "m"));

  // Back again: exactly the kept ones arrive, the oldest first, and the dropped never do.
  const got: string[] = [];
  await recover(w, async () => {
    const hubNc = await w.hubClient({ name: "hub-after" });
    hubNc.subscribe("test.up.>", { callback: (err, m) => { if (!err) got.push(m.subject); } });
    hubNc.subscribe("test.svc", { callback: (err, m) => { if (!err) m.respond(enc.encode("pong again")); } });
    await hubNc.flush();
  });
  // Registered is not yet flushed: the buffer drains after the hub's PONG barrier, and until then
  // it is still full, so the sentinel waits for the kept messages to arrive.
  await waitFor("the kept publishes at the hub", () => (got.length >= kept ? true : undefined), 20000);
  nc.publish("test.up.sentinel", payload);
  await waitFor("the sentinel at the hub", () => (got.includes("test.up.sentinel") ? true : undefined));
  assert.deepEqual(got, [...Array.from({ length: kept }, (_, i) => `test.up.${i}`), "test.up.sentinel"]);
  await waitFor("the gateway knows the restarted service", () => upstream.hubInterest.match("test.svc").plain || undefined);
  assert.equal(dec.decode((await nc.request("test.svc", enc.encode("ping"), { timeout: 10000 })).data), "pong again");
  assert.equal(nc.isClosed(), false);
});

test("readiness waits for the first upstream connection", async (t) => {
  const w = await startWorld(t, { gateClosed: true, waitReady: false });
  await waitFor("a failed attempt", () => w.g.logs.records().find((r) => r.msg === "upstream connect failed"));
  const r = await w.readyz();
  assert.equal(r.status, 503);
  assert.equal(r.body.reason, "upstream leafnode not connected");
  w.gate!.open = true;
  await waitFor("/readyz 200", async () => ((await w.readyz()).status === 200 ? true : undefined), 20000);
  assert.equal(w.g.gw.upstream!.connected, true);
});
