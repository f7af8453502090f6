/**
 * The simulated Choria fleet behind the hub, reached through LeafConn: a
 * broadcast request fans in one reply per identity on the private reply
 * subject, a directed request reaches exactly one node, and lifecycle events
 * cross the leaf link when there is local interest in them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LeafConn } from "../../src/upstream/leaf_conn.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { getPki } from "../helpers/pki.js";
import { leafRemoteFor, startHub, waitFor } from "../helpers/hub.js";
import { startFleet, type FleetReply } from "../helpers/fleet.js";
import { localSide } from "../helpers/local_side.js";

test("a 1000-node fleet answers a broadcast through the leaf link, once per identity", async (t) => {
  const pki = await getPki();
  const hub = await startHub({ pki });
  t.after(() => hub.stop());
  const fleet = await startFleet({ hubUrl: hub.clientUrl, count: 1000, identityPrefix: "fleet" });
  t.after(() => fleet.stop());

  const replies: FleetReply[] = [];
  const events: string[] = [];
  const interest = [
    { subject: "choria.reply.0f1e2d.>", queue: undefined, weight: 1 },
    { subject: "choria.lifecycle.event.>", queue: undefined, weight: 1 },
  ];
  const leaf = new LeafConn({
    remote: leafRemoteFor(hub, pki),
    serverName: "gw-fleet",
    version: "0.1.0",
    bufferBytes: 8 << 20,
    reconnectBaseDelay: 100,
    reconnectMaxDelay: 400,
    pingInterval: 5000,
    pingMax: 3,
    log: createLogger(new MemorySink(), new LevelControl("info")),
    local: localSide(() => interest, (subject, _reply, _queues, _hdrLen, payload) => {
      const body = Buffer.from(payload).toString();
      if (subject.startsWith("choria.reply.")) replies.push(JSON.parse(body) as FleetReply);
      else events.push(body);
    }),
    timeouts: { register: 5000 },
  });
  leaf.start();
  t.after(() => leaf.stop());
  await waitFor("connected", () => leaf.connected || undefined);
  await waitFor("hub interest in broadcasts", () => leaf.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);

  assert.equal(leaf.forward("choria.broadcast.agent.rpcutil", "choria.reply.0f1e2d.1", -1, Buffer.from("ping"), null), true);
  await waitFor("1000 replies", () => (replies.length >= 1000 ? true : undefined), 30000);
  assert.equal(new Set(replies.map((r) => r.identity)).size, 1000);
  assert.ok(replies.every((r) => r.request === "ping" && r.subject === "choria.broadcast.agent.rpcutil"));

  const target = fleet.identities[417]!;
  await waitFor("hub interest in the node subject", () => leaf.hubInterest.match(`choria.node.${target}`).plain || undefined);
  leaf.forward(`choria.node.${target}`, "choria.reply.0f1e2d.2", -1, Buffer.from("direct"), null);
  await waitFor("the directed reply", () => replies.find((r) => r.request === "direct"));
  assert.deepEqual(replies.filter((r) => r.request === "direct").map((r) => r.identity), [target]);

  await fleet.publishLifecycle();
  await waitFor("1000 lifecycle events", () => (events.length >= 1000 ? true : undefined), 30000);
  const identities = new Set(events.map((e) => (JSON.parse(e) as { identity: string }).identity));
  assert.equal(identities.size, 1000);
  assert.equal(fleet.answered, 1001);
});
