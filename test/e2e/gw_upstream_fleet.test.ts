/**
 * End to end with a fleet: 200 simulated Choria servers connected
 * directly to a real nats-server hub, and callers connected through the whole
 * gateway (AAA tokens, anonymous TLS) relaying over its mTLS leafnode link. A
 * fleet_management caller broadcasts `choria.broadcast.agent.rpcutil` with its
 * private reply subject `choria.reply.<md5(callerid)>.<id>` and gets all 200
 * replies; a generic request to one node (`choria.node.<identity>`) comes back
 * on a rewritten `_INBOX`; and no lifecycle event reaches any gateway client,
 * not even one whose token grants `>` and events_viewer: the subscriptions are
 * refused, the hub is never told of such interest, so the events do not even
 * cross the link (asserted on the hub's /leafz, on the link's counters and on
 * the gateway's lifecycle filter counter), while a hub-side subscriber does get
 * them. 200 nodes keep the test light; the fan-in path is the same for more.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createInbox, type Msg } from "@nats-io/transport-node";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { subjectsIntersect } from "../../src/subject/subject.js";
import { startFleet, type FleetReply } from "../helpers/fleet.js";
import { hubLeafs, hubHasLeafSub, startWorld, waitFor } from "./gw_upstream_world.js";

const FLEET_SIZE = 200;
const enc = new TextEncoder();
const dec = new TextDecoder();

test(`a ${FLEET_SIZE}-node fleet behind the hub answers a caller connected through the gateway; lifecycle events never reach a gateway client`, async (t) => {
  const w = await startWorld(t);
  const fleet = await startFleet({ hubUrl: w.hub.clientUrl, count: FLEET_SIZE, identityPrefix: "gwfleet" });
  t.after(() => fleet.stop());
  const gw = w.g.gw;
  const upstream = gw.upstream!;
  await waitFor("the gateway knows the fleet's broadcast interest", () => upstream.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);

  // A hub-side observer of every reply subject: what the fleet actually answered to.
  const snoop = await w.hubClient({ name: "reply-snoop" });
  const repliedTo: string[] = [];
  snoop.subscribe("choria.reply.>", { callback: (err, m) => { if (!err) repliedTo.push(m.subject); } });
  await snoop.flush();

  const callerId = "up=alice";
  const ns = `choria.reply.${md5Hex(callerId)}`;
  const caller = await w.client(w.token({ callerid: callerId, permissions: { fleet_management: true } }), { name: "fleet-caller" });

  // 1. Broadcast with the private reply subject, the way a Choria client does it.
  const replySubject = `${ns}.${createInbox().slice("_INBOX.".length)}`;
  const replies: FleetReply[] = [];
  const replySub = caller.subscribe(replySubject, { callback: (err, m) => { if (!err) replies.push(JSON.parse(dec.decode(m.data)) as FleetReply); } });
  caller.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply: replySubject });
  await caller.flush();
  await waitFor(`${FLEET_SIZE} replies`, () => (replies.length >= FLEET_SIZE ? true : undefined), 30000);
  assert.equal(replies.length, FLEET_SIZE);
  assert.deepEqual(new Set(replies.map((r) => r.identity)), new Set(fleet.identities));
  assert.ok(replies.every((r) => r.subject === "choria.broadcast.agent.rpcutil" && r.request === "ping"));
  assert.equal(replySub.getReceived(), FLEET_SIZE);
  await waitFor("the snoop saw every reply", () => (repliedTo.length >= FLEET_SIZE ? true : undefined));
  assert.ok(repliedTo.every((s) => s === replySubject), "the fleet answered to the private subject, unchanged");

  // 2. A generic request to one node: `_INBOX` rewritten going up, mapped back coming down.
  const target = fleet.identities[137]!;
  await waitFor("the gateway knows the node's subject", () => upstream.hubInterest.match(`choria.node.${target}`).plain || undefined);
  const before = repliedTo.length;
  const r = await caller.request(`choria.node.${target}`, enc.encode("direct"), { timeout: 10000 });
  const body = JSON.parse(dec.decode(r.data)) as FleetReply;
  assert.deepEqual(body, { identity: target, subject: `choria.node.${target}`, request: "direct" });
  assert.match(r.subject, /^_INBOX\./, "the caller sees its own generic inbox");
  await waitFor("the snoop saw the directed reply", () => (repliedTo.length > before ? true : undefined));
  assert.equal(repliedTo.length, before + 1);
  assert.ok(repliedTo[before]!.startsWith(`${ns}._INBOX.`), `${repliedTo[before]} lies in the caller's namespace`);
  assert.equal(fleet.answered, FLEET_SIZE + 1);

  // 3. Lifecycle events. A watcher whose token grants everything it could ask for.
  const watcherToken = w.token({
    callerid: "up=watcher",
    permissions: { events_viewer: true, fleet_management: true },
    subSubjects: [">", "choria.>", "*.*.*.*", "*.*.*.*.*"],
  });
  const watcher = await w.client(watcherToken, { name: "lifecycle-watcher" });
  const refused: string[] = [];
  const broad = [">", "choria.>", "*.*.*.*", "*.*.*.*.*", "choria.lifecycle.>", "choria.lifecycle.event.>", "choria.lifecycle.event.alive.server"];
  for (const subject of broad) {
    watcher.subscribe(subject, { callback: (err) => { if (err) refused.push(subject); } });
  }
  // The broadest subscriptions still allowed: every other fleet subject, and its own replies.
  const seen: Msg[] = [];
  for (const subject of ["choria.*", "*.broadcast.>", "*.node.>", `choria.reply.${md5Hex("up=watcher")}.>`]) {
    watcher.subscribe(subject, { callback: (err, m) => { if (!err) seen.push(m); } });
  }
  await watcher.flush();
  await waitFor("every broad subscription refused", () => (refused.length >= broad.length ? true : undefined));
  assert.deepEqual(refused.sort(), [...broad].sort());
  await hubHasLeafSub(w.hub, "*.broadcast.>");
  const leafSubjects = (await hubLeafs(w.hub)).flatMap((l) => l.subscriptions_list ?? []);
  assert.deepEqual(leafSubjects.filter((s) => subjectsIntersect(s, "choria.lifecycle.>")), [], "no lifecycle interest reached the hub");

  // A hub-side subscriber shows the events really are published.
  const hubWatcher = await w.hubClient({ name: "hub-lifecycle" });
  let hubEvents = 0;
  hubWatcher.subscribe("choria.lifecycle.>", { callback: (err) => { if (!err) hubEvents++; } });
  await hubWatcher.flush();

  const inBefore = upstream.stats.inMsgs;
  await fleet.publishLifecycle();
  await waitFor("the hub subscriber got every event", () => (hubEvents >= FLEET_SIZE ? true : undefined), 20000);
  // A sentinel published after the events travels the same link: once it is in, any event would be too.
  const sentinel = await w.hubClient({ name: "sentinel" });
  sentinel.publish("choria.broadcast.agent.sentinel", enc.encode("end"));
  await sentinel.flush();
  await waitFor("the sentinel at the watcher", () => seen.find((m) => m.subject === "choria.broadcast.agent.sentinel"));
  assert.deepEqual(seen.map((m) => m.subject), ["choria.broadcast.agent.sentinel"], "the watcher got nothing but the sentinel");
  assert.equal(upstream.stats.inMsgs - inBefore, 1, "no lifecycle event crossed the leafnode link");
  assert.equal(gw.counters.lifecycleFiltered, 0, "nothing even reached the delivery filter");
  assert.equal(caller.isClosed(), false);
  assert.equal(watcher.isClosed(), false, "permission violations do not close the connection");
});
