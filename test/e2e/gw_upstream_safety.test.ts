/**
 * One caller must never cost the others the shared upstream link. Against a
 * real nats-server 2.9.10 hub (no JetStream extended to our leaf, so it denies
 * `$JS.API.> $KV.> $OBJ.>` to it and closes the link for a literal LS+ there):
 * an org_admin's SUB to `$KV.x` (and the other subjects the hub would refuse)
 * gets the nats-server permissions -ERR, never reaches the hub, and the link
 * stays up while another caller keeps getting fleet replies. With the remote
 * misconfigured as JetStream-extended the LS+ does go up and the hub closes
 * the link: the gateway finds the subject in the hub's -ERR, refuses it to its
 * subscriber (error, audit line, counter), reconnects without it, and refuses
 * it at SUB time from then on, so the link is lost at most once.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { startFleet, type FleetReply } from "../helpers/fleet.js";
import { hubHasLeafSub, hubLeafs, startWorld, waitFor, type World } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const NODES = 10;

async function fleetAnswers(w: World, caller: Awaited<ReturnType<World["client"]>>, ns: string): Promise<number> {
  const reply = `${ns}.safety.${Math.random().toString(36).slice(2)}`;
  const got: FleetReply[] = [];
  const sub = caller.subscribe(reply, { callback: (err, m) => { if (!err) got.push(JSON.parse(dec.decode(m.data)) as FleetReply); } });
  await caller.flush();
  await hubHasLeafSub(w.hub, reply);
  caller.publish("choria.broadcast.agent.rpcutil", enc.encode("ping"), { reply });
  await waitFor(`${NODES} fleet replies`, () => (got.length >= NODES ? true : undefined), 20000);
  sub.unsubscribe();
  return got.length;
}

/** Subscribe and collect the server's refusal (nats.js hands the -ERR to the subscription). */
function refusedSub(nc: Awaited<ReturnType<World["client"]>>, subject: string): Promise<string> {
  return new Promise((resolve) => {
    nc.subscribe(subject, { callback: (err) => { if (err) resolve(err.message); } });
  });
}

/** Hub, fleet, gateway, and two callers: bob (fleet_management) and an org_admin. */
async function setup(t: TestContext, lines: string[]) {
  const w = await startWorld(t, { lines });
  const fleet = await startFleet({ hubUrl: w.hub.clientUrl, count: NODES, identityPrefix: "safe" });
  t.after(() => fleet.stop());
  const gw = w.g.gw;
  const link = gw.upstream!;
  await waitFor("fleet interest", () => link.hubInterest.match("choria.broadcast.agent.rpcutil").plain || undefined);
  const ns = `choria.reply.${md5Hex("up=bob")}`;
  const bob = await w.client(w.token({ callerid: "up=bob", permissions: { fleet_management: true } }), { name: "bob" });
  const admin = await w.client(w.token({ callerid: "up=admin", permissions: { org_admin: true } }), { name: "admin" });
  return { w, gw, link, ns, bob, admin };
}

test("an org_admin subscribing to $KV.x: refused with the permissions error, never sent up, the link stays up for everybody", async (t) => {
  const { w, gw, link, ns, bob, admin } = await setup(t, []);
  assert.equal(await fleetAnswers(w, bob, ns), NODES);
  const violationsBefore = gw.counters.violations["subscribe"] ?? 0;
  const refused = ["$KV.x", "$JS.API.STREAM.INFO.x", "$OBJ.bucket.chunk", "$LDS.anything"];
  const errors = await Promise.all(refused.map((s) => refusedSub(admin, s)));
  errors.forEach((e, i) => assert.match(e, new RegExp(`Permissions Violation for Subscription to "${refused[i]!.replace(/\$/g, "\\$")}"`)));
  // A wildcard is not refused by the hub (it filters at delivery), so it is not refused here either.
  admin.subscribe("$KV.>");
  await admin.flush();
  await hubHasLeafSub(w.hub, "$KV.>");
  assert.equal((gw.counters.violations["subscribe"] ?? 0) - violationsBefore, refused.length);
  const audited = w.g.audit.records().filter((r) => r.audit === "violation" && refused.includes(String(r.subject)));
  assert.equal(audited.length, refused.length, "one audit line per refusal");

  const leafSubjects = (await hubLeafs(w.hub)).flatMap((l) => l.subscriptions_list ?? []);
  for (const s of refused) assert.ok(!leafSubjects.includes(s), `${s} never reached the hub`);
  assert.equal(await fleetAnswers(w, bob, ns), NODES, "bob still gets the fleet");
  assert.equal(link.stats.reconnects, 0, "the link never dropped");
  assert.equal(admin.isClosed(), false);
});

test("a hub refusal the gateway did not foresee: the subject is refused to its subscriber and the link comes back without it, once", async (t) => {
  // Misconfigured: the hub does not extend JetStream, but the remote says it does.
  const { w, link, ns, bob, admin } = await setup(t, ["plugin.choria.network.leafnode_remote.hub.jetstream_extended = true"]);
  const err = await refusedSub(admin, "$KV.x");
  assert.match(err, /Permissions Violation for Subscription to "\$KV\.x"/);
  await waitFor("the link is back", () => (link.live && link.stats.reconnects === 1 ? true : undefined), 20000);
  assert.equal(link.stats.refusedInterest, 1);
  assert.ok(w.g.audit.records().some((r) => r.audit === "violation" && r.subject === "$KV.x"), "audited");
  assert.ok(w.g.logs.records().some((r) => r.msg === "hub refused a subject; refusing it locally and reconnecting without it" && r.subject === "$KV.x"));
  assert.equal(await fleetAnswers(w, bob, ns), NODES, "bob gets the fleet after the reconnect");

  // From now on the subject is refused at SUB time: the link does not drop again.
  const again = await refusedSub(admin, "$KV.x");
  assert.match(again, /Permissions Violation for Subscription to "\$KV\.x"/);
  await admin.flush();
  assert.equal(await fleetAnswers(w, bob, ns), NODES);
  assert.equal(link.stats.reconnects, 1, "the link was lost once only");
  assert.match(w.hub.logs(), /Subscription Violation on "\$KV\.x"/, "the hub really refused it");
});
