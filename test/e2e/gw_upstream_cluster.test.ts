/**
 * Hubs are clusters: a 3-node nats-server cluster (routes on ephemeral ports)
 * as the hub side. A gateway given one member's URL learns the others from
 * the hub's INFO (`leafnode_urls`) and fails over to another member when its
 * member dies, while a fleet spread over the surviving members keeps
 * answering its callers. Two gateways attached to different members each
 * serve callers who reach the whole fleet, wherever a node is connected.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { startFleet, type Fleet, type FleetReply } from "../helpers/fleet.js";
import { getPki } from "../helpers/pki.js";
import { startHubCluster, type HubCluster } from "../helpers/hub.js";
import { startWorld, waitFor, type World } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PER_MEMBER = 10;

async function broadcastReplies(w: World, callerId: string, want: number): Promise<FleetReply[]> {
  const caller = await w.client(w.token({ callerid: callerId, permissions: { fleet_management: true } }));
  const reply = `choria.reply.${md5Hex(callerId)}.cluster.${Math.random().toString(36).slice(2)}`;
  const got: FleetReply[] = [];
  caller.subscribe(reply, { callback: (err, m) => { if (!err) got.push(JSON.parse(dec.decode(m.data)) as FleetReply); } });
  await caller.flush();
  // The reply interest must have crossed the link and the cluster before the fleet answers.
  await new Promise((r) => setTimeout(r, 1000));
  caller.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply });
  await waitFor(`${want} replies`, () => (got.length >= want ? true : undefined), 30000);
  await new Promise((r) => setTimeout(r, 1000));
  await caller.close();
  return got;
}

async function fleets(cluster: HubCluster, members: number[]): Promise<Fleet[]> {
  return Promise.all(members.map((i) => startFleet({ hubUrl: cluster.members[i]!.clientUrl, count: PER_MEMBER, identityPrefix: `m${i}` })));
}

test("a 3-node hub cluster: the gateway learns the members, fails over when its member dies, and the fleet keeps answering", async (t) => {
  const pki = await getPki();
  const cluster = await startHubCluster({ pki });
  t.after(() => cluster.stop());
  const fl = await fleets(cluster, [1, 2]);
  t.after(() => Promise.all(fl.map((f) => f.stop())));
  const w = await startWorld(t, { useHub: cluster.members[0]! });
  const link = w.g.gw.upstream!;
  await waitFor("every member's leafnode URL learned", () => (link.knownUrls.length >= 3 ? true : undefined));
  const ports = new Set(link.knownUrls.map((u) => u.port));
  for (const m of cluster.members) assert.ok(ports.has(m.leafPort), `member ${m.serverName} learned from INFO leafnode_urls`);
  assert.equal(link.currentUrl!.port, cluster.members[0]!.leafPort);
  await waitFor("fleet interest through the cluster", () => link.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  const all = fl.flatMap((f) => f.identities);
  assert.equal((await broadcastReplies(w, "up=alice", all.length)).length, all.length);

  await cluster.members[0]!.kill();
  await waitFor("failed over to another member", () => (link.live && link.currentUrl!.port !== cluster.members[0]!.leafPort ? true : undefined), 30000);
  assert.ok([1, 2].some((i) => cluster.members[i]!.leafPort === link.currentUrl!.port));
  await waitFor("fleet interest after failover", () => link.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  const after = await broadcastReplies(w, "up=alice", all.length);
  assert.equal(after.length, all.length, "every node answers once after the failover");
  assert.deepEqual(new Set(after.map((r) => r.identity)), new Set(all));
  assert.equal(link.stats.reconnects, 1);
});

test("two gateways on different cluster members both reach the whole fleet", async (t) => {
  const pki = await getPki();
  const cluster = await startHubCluster({ pki });
  t.after(() => cluster.stop());
  // Nodes on every member, including the two the gateways use.
  const fl = await fleets(cluster, [0, 1, 2]);
  t.after(() => Promise.all(fl.map((f) => f.stop())));
  const a = await startWorld(t, { useHub: cluster.members[0]! });
  const b = await startWorld(t, { useHub: cluster.members[1]! });
  assert.equal(a.g.gw.upstream!.currentUrl!.port, cluster.members[0]!.leafPort);
  assert.equal(b.g.gw.upstream!.currentUrl!.port, cluster.members[1]!.leafPort);
  const all = fl.flatMap((f) => f.identities);
  for (const w of [a, b]) await waitFor("fleet interest", () => w.g.gw.upstream!.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  const [ra, rb] = await Promise.all([broadcastReplies(a, "up=alice", all.length), broadcastReplies(b, "up=bob", all.length)]);
  for (const r of [ra, rb]) {
    assert.equal(r.length, all.length, "each node once");
    assert.deepEqual(new Set(r.map((x) => x.identity)), new Set(all));
  }
});
