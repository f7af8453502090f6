/**
 * Several remotes end to end: two real nats-server hubs, each with its own
 * simulated fleet, and one gateway with a leafnode remote to each. A broadcast
 * is answered by both fleets exactly once per node; queue subscribers on both
 * hubs share a queue group's messages (each message to one member, as on a
 * nats-server leaf with several remotes); with one hub killed the other fleet
 * still answers while the dead hub's publishes are buffered within its own
 * bound; after recovery both fleets answer again. Per-remote metrics,
 * /readyz and /varz are checked at every step, and the `any` readiness rule
 * keeps the gateway ready with one hub down.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createInbox } from "@nats-io/transport-node";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { startFleet, type FleetReply } from "../helpers/fleet.js";
import { startWorld, waitFor, type World } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const NODES = 25;
const BUFFER = 64 * 1024;

/** The value of one per-remote series in /metrics. */
async function remoteMetric(w: World, name: string, remote: string): Promise<number> {
  const text = await w.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`remote="${remote}"`));
  assert.ok(line, `${name}{remote="${remote}"} is exported`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function varzRemotes(w: World): Promise<{ remote: string; connected: boolean; buffered_msgs: number; reconnects: number }[]> {
  const res = await fetch(`http://127.0.0.1:${w.g.gw.monitorPort}/varz`);
  const body = (await res.json()) as { leafnode: { remotes: { remote: string; connected: boolean; buffered_msgs: number; reconnects: number }[] } };
  return body.leafnode.remotes;
}

/** Broadcast with a fresh private reply subject; resolves with every reply that arrived once `want` were in (plus a settle round). */
async function broadcast(caller: Awaited<ReturnType<World["client"]>>, ns: string, want: number): Promise<FleetReply[]> {
  const reply = `${ns}.${createInbox().slice("_INBOX.".length)}`;
  const got: FleetReply[] = [];
  const sub = caller.subscribe(reply, { callback: (err, m) => { if (!err) got.push(JSON.parse(dec.decode(m.data)) as FleetReply); } });
  await caller.flush();
  caller.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply });
  await waitFor(`${want} replies`, () => (got.length >= want ? true : undefined), 30000);
  // A second round trip through both links: any duplicate would have arrived by now.
  await caller.request(`choria.node.eu-0.example.net`, enc.encode("settle"), { timeout: 10000 }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  sub.unsubscribe();
  return got;
}

test("two hubs with their own fleets: broadcast answered by both without duplicates, queue groups across hubs, one hub's outage buffered within its bound, recovery", async (t) => {
  const w = await startWorld(t, { hubs: 2, gate: true, lines: [`plugin.choria.network.aaa_leafnode.upstream_buffer_size = ${BUFFER}`] });
  const [eu, us] = w.hubs as [World["hub"], World["hub"]];
  const euFleet = await startFleet({ hubUrl: eu.clientUrl, count: NODES, identityPrefix: "eu" });
  const usFleet = await startFleet({ hubUrl: us.clientUrl, count: NODES, identityPrefix: "us" });
  t.after(() => Promise.all([euFleet.stop(), usFleet.stop()]));
  const gw = w.g.gw;
  const [euLink, usLink] = gw.upstreams as [NonNullable<typeof gw.upstream>, NonNullable<typeof gw.upstream>];
  assert.deepEqual(gw.upstreams.map((u) => u.id), ["hub", "hub2"]);
  for (const link of [euLink, usLink]) {
    await waitFor(`${link.id} knows its fleet`, () => link.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  }

  const callerId = "up=alice";
  const ns = `choria.reply.${md5Hex(callerId)}`;
  const caller = await w.client(w.token({ callerid: callerId, permissions: { fleet_management: true } }), { name: "multi-caller" });

  // 1. One broadcast, both fleets, each node once.
  const all = [...euFleet.identities, ...usFleet.identities];
  const replies = await broadcast(caller, ns, all.length);
  assert.equal(replies.length, all.length, "no duplicates");
  assert.deepEqual(new Set(replies.map((r) => r.identity)), new Set(all));
  assert.equal(euFleet.answered, NODES + 1, "the EU fleet got the broadcast once (plus the settle request)");
  assert.equal(usFleet.answered, NODES, "the US fleet got the broadcast once");
  assert.deepEqual((await w.readyz()).body, { status: "ok", remotes: { hub: "connected", hub2: "connected" } });
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_connected", "hub"), 1);
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_connected", "hub2"), 1);
  const leafRtt = (await w.metrics()).split("\n").filter((l) => l.startsWith("choria_network_leafnode_in_msgs{"));
  assert.equal(leafRtt.length, 2, "one Choria leafnode series per remote");

  // 2. Queue subscribers on both hubs: each message to exactly one member, both hubs used.
  const counts = { eu: 0, us: 0 };
  const euQ = await w.hubClient({ servers: eu.clientUrl, name: "eu-worker" });
  const usQ = await w.hubClient({ servers: us.clientUrl, name: "us-worker" });
  euQ.subscribe("choria.broadcast.agent.queued", { queue: "workers", callback: (err) => { if (!err) counts.eu++; } });
  usQ.subscribe("choria.broadcast.agent.queued", { queue: "workers", callback: (err) => { if (!err) counts.us++; } });
  await Promise.all([euQ.flush(), usQ.flush()]);
  for (const link of [euLink, usLink]) {
    await waitFor(`${link.id} knows the queue group`, () => (link.hubInterest.match("choria.broadcast.agent.queued").queues.includes("workers") ? true : undefined));
  }
  const QN = 200;
  for (let i = 0; i < QN; i++) caller.publish("choria.broadcast.agent.queued", enc.encode(String(i)));
  await caller.flush();
  await waitFor("every queued message delivered", () => (counts.eu + counts.us >= QN ? true : undefined), 20000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(counts.eu + counts.us, QN, "each message reached one member of the group");
  assert.ok(counts.eu > 0 && counts.us > 0, `both hubs' members were used (${counts.eu}/${counts.us})`);
  t.diagnostic(`queue group split over two hubs: eu=${counts.eu} us=${counts.us} of ${QN}`);

  // 3. The US hub dies and stays away: the EU fleet still answers, US publishes are buffered within the bound.
  w.gates[1]!.open = false;
  await us.kill();
  await waitFor("the US link is down", () => (!usLink.connected ? true : undefined));
  const down = await w.readyz();
  assert.equal(down.status, 503, "readiness rule all: one remote down is not ready");
  assert.deepEqual(down.body.remotes, { hub: "connected", hub2: "down" });
  const euOnly = await broadcast(caller, ns, NODES);
  assert.equal(euOnly.length, NODES);
  assert.ok(euOnly.every((r) => r.identity.startsWith("eu-")));
  assert.ok(usLink.stats.bufferedMsgs >= 1, "the broadcast waits for the US hub");
  // In small batches, so the live EU link never holds a burst bigger than its bound.
  for (let i = 0; i < 100; i++) {
    caller.publish("choria.broadcast.agent.outage", enc.encode("x".repeat(1000)));
    if (i % 10 === 9) await caller.flush();
  }
  await waitFor("the US buffer filled", () => (usLink.stats.droppedMsgs > 0 ? true : undefined));
  assert.ok(usLink.stats.bufferedBytes <= BUFFER, `US buffer within its bound (${usLink.stats.bufferedBytes} <= ${BUFFER})`);
  assert.equal(euLink.stats.bufferedMsgs, 0, "the EU remote buffers nothing");
  assert.equal(euLink.stats.droppedMsgs, 0, "the EU remote drops nothing");
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_connected", "hub2"), 0);
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_buffered_msgs", "hub2"), usLink.stats.bufferedMsgs);
  assert.ok((await remoteMetric(w, "aaa_leafnode_upstream_remote_dropped_msgs", "hub2")) > 0);
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_dropped_msgs", "hub"), 0);
  const v = await varzRemotes(w);
  assert.deepEqual(v.map((r) => [r.remote, r.connected]), [["hub", true], ["hub2", false]]);

  // 4. Recovery: the buffered publishes go up, both fleets answer again.
  await us.start();
  const usFleet2 = await startFleet({ hubUrl: us.clientUrl, count: NODES, identityPrefix: "us" });
  t.after(() => usFleet2.stop());
  w.gates[1]!.open = true;
  await waitFor("the US link is back", () => (usLink.live ? true : undefined), 20000);
  await waitFor("the US link knows its fleet again", () => usLink.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  assert.equal(usLink.stats.bufferedMsgs, 0, "the buffer was flushed");
  const both = await broadcast(caller, ns, all.length);
  assert.equal(both.length, all.length);
  assert.deepEqual(new Set(both.map((r) => r.identity)), new Set(all));
  assert.deepEqual((await w.readyz()).body, { status: "ok", remotes: { hub: "connected", hub2: "connected" } });
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_reconnects", "hub2"), 1);
  assert.equal(await remoteMetric(w, "aaa_leafnode_upstream_remote_reconnects", "hub"), 0);
  assert.equal(caller.isClosed(), false);
});

test("readiness rule any: ready while one of two remotes is up", async (t) => {
  const w = await startWorld(t, { hubs: 2, gate: true, lines: ["plugin.choria.network.aaa_leafnode.upstream_readiness = any"] });
  // With "any" the world is ready after the first link: wait for both.
  await waitFor("both links up", () => (w.g.gw.upstreams.every((u) => u.connected) ? true : undefined), 20000);
  w.gates[0]!.open = false;
  await w.hubs[0]!.kill();
  await waitFor("hub link down", () => (!w.g.gw.upstreams[0]!.connected ? true : undefined));
  const r = await w.readyz();
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.remotes, { hub: "down", hub2: "connected" });
  w.gates[1]!.open = false;
  await w.hubs[1]!.kill();
  await waitFor("both links down", () => (!w.g.gw.upstreams[1]!.connected ? true : undefined));
  assert.equal((await w.readyz()).status, 503);
});

test("two hubs: a request from either hub to a responder behind the gateway is answered through the link it came from", async (t) => {
  const w = await startWorld(t, { hubs: 2 });
  const [euLink, usLink] = w.g.gw.upstreams as [NonNullable<typeof w.g.gw.upstream>, NonNullable<typeof w.g.gw.upstream>];
  const responder = await w.client(w.token({ callerid: "up=svc", permissions: { org_admin: true } }), { name: "svc" });
  responder.subscribe("choria.broadcast.agent.svc", { callback: (err, m) => { if (!err) m.respond(enc.encode(`served ${dec.decode(m.data)}`)); } });
  await responder.flush();
  const eu = await w.hubClient({ servers: w.hubs[0]!.clientUrl, name: "eu-requester" });
  const us = await w.hubClient({ servers: w.hubs[1]!.clientUrl, name: "us-requester" });
  for (const [nc, link] of [[eu, euLink], [us, usLink]] as const) {
    await waitFor(`${link.id} hears of the service`, async () => {
      try {
        await nc.request("choria.broadcast.agent.svc", enc.encode("probe"), { timeout: 500 });
        return true;
      } catch {
        return undefined;
      }
    }, 20000);
  }
  const before = { eu: euLink.stats.outMsgs, us: usLink.stats.outMsgs };
  for (let i = 0; i < 10; i++) {
    assert.equal(dec.decode((await eu.request("choria.broadcast.agent.svc", enc.encode(`eu${i}`), { timeout: 5000 })).data), `served eu${i}`);
    assert.equal(dec.decode((await us.request("choria.broadcast.agent.svc", enc.encode(`us${i}`), { timeout: 5000 })).data), `served us${i}`);
  }
  assert.equal(euLink.stats.outMsgs - before.eu, 10, "the EU requests' replies went up the EU link only");
  assert.equal(usLink.stats.outMsgs - before.us, 10, "the US requests' replies went up the US link only");
});
