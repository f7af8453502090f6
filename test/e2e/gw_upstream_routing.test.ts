/**
 * Messages from the hub are routed like local traffic. They pass the
 * same permission and delivery checks (a hub publish that crosses the link on a
 * caller's allowed wildcard still never delivers someone else's reply subject
 * or a hub client's `_INBOX`), generic requests from gateway clients go up in
 * the caller's private namespace and their replies come back mapped to
 * `_INBOX…`, a client's publish reaches local subscribers and the hub but is
 * never echoed back from upstream, and no-responders is computed from local
 * subscriptions plus the hub's interest. Clients use the official NATS client
 * with AAA tokens on both sides of a real mTLS leafnode link.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import type { Gateway } from "../../src/gateway.js";
import { hubHasLeafSub, startWorld, waitFor } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const TEST_SUBJECTS = { pubSubjects: ["test.>"], subSubjects: ["test.>"] };

async function gatewayKnowsHubSub(gw: Gateway, subject: string): Promise<void> {
  await waitFor(`the gateway knows the hub's interest in ${subject}`, () => gw.upstream!.hubInterest.match(subject).plain || undefined);
}

/** Subscribe with a callback that records `subject=body`; returns the record. */
function record(nc: NatsConnection, subject: string, opts: { queue?: string } = {}): string[] {
  const got: string[] = [];
  nc.subscribe(subject, { ...opts, callback: (err, m) => { if (!err) got.push(`${m.subject}=${dec.decode(m.data)}`); } });
  return got;
}

test("hub messages meet the same permission and delivery checks as local traffic", async (t) => {
  const w = await startWorld(t);
  const upstream = w.g.gw.upstream!;
  const bobHash = md5Hex("up=bob");
  const alice = await w.client(w.token({ callerid: "up=alice", pubSubjects: ["test.>"], subSubjects: ["ops.>", "*.abc", "test.>"] }), { name: "alice" });
  const bob = await w.client(w.token({ callerid: "up=bob", ...TEST_SUBJECTS }), { name: "bob" });

  const refused: string[] = [];
  for (const subject of ["secret.x", `choria.reply.${bobHash}.>`]) {
    alice.subscribe(subject, { callback: (err) => { if (err) refused.push(subject); } });
  }
  const aliceGot = record(alice, "ops.>");
  const aliceAbc = record(alice, "*.abc");
  const aliceSentinel = record(alice, "test.sentinel");
  const bobGot = record(bob, `choria.reply.${bobHash}.>`);
  await alice.flush();
  await bob.flush();
  await waitFor("alice's forbidden subscriptions refused", () => (refused.length === 2 ? true : undefined));
  for (const s of ["ops.>", "*.abc", "test.sentinel", `choria.reply.${bobHash}.>`]) await hubHasLeafSub(w.hub, s);

  const hubNc = await w.hubClient({ name: "hub-publisher" });
  const inBefore = upstream.stats.inMsgs;
  const publishes = [
    "secret.x",                    // nobody may subscribe: the hub has no interest, it never crosses
    `ops.reply.${bobHash}.1`,      // crosses on alice's ops.>, but is bob's reply subject: filtered
    "_INBOX.abc",                  // crosses on alice's *.abc, but is a hub client's inbox: filtered
    `choria.reply.${bobHash}.7`,   // bob's own namespace: bob only
    "ops.status",                  // allowed
    "foo.abc",                     // allowed
    "test.sentinel",               // last: once here, everything before it was routed
  ];
  for (const s of publishes) hubNc.publish(s, enc.encode("m"));
  await hubNc.flush();
  await waitFor("the sentinel", () => (aliceSentinel.length === 1 ? true : undefined));
  await waitFor("bob's reply", () => (bobGot.length === 1 ? true : undefined));
  assert.deepEqual(aliceGot, ["ops.status=m"]);
  assert.deepEqual(aliceAbc, ["foo.abc=m"]);
  assert.deepEqual(bobGot, [`choria.reply.${bobHash}.7=m`]);
  assert.equal(upstream.stats.inMsgs - inBefore, publishes.length - 1, "everything but secret.x crossed the link; the gateway filtered the rest");
  assert.deepEqual(refused.sort(), ["secret.x", `choria.reply.${bobHash}.>`].sort());
});

test("a generic request from a gateway client goes up in its private namespace and the reply comes back as _INBOX", async (t) => {
  const w = await startWorld(t);
  const hubNc = await w.hubClient({ name: "hub-service" });
  const seenReplies: string[] = [];
  hubNc.subscribe("test.svc", {
    callback: (err, m) => {
      if (err) return;
      seenReplies.push(m.reply ?? "");
      m.respond(enc.encode(`re:${dec.decode(m.data)}`));
    },
  });
  await hubNc.flush();
  await gatewayKnowsHubSub(w.g.gw, "test.svc");
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "requester" });
  const ns = `choria.reply.${md5Hex("up=alice")}.`;

  // The official client's request(): a muxed `_INBOX.<nuid>.*` subscription.
  const r = await nc.request("test.svc", enc.encode("one"), { timeout: 10000 });
  assert.equal(dec.decode(r.data), "re:one");
  assert.match(r.subject, /^_INBOX\./);
  assert.equal(seenReplies[0], ns + r.subject, "the hub saw the same inbox inside the caller's namespace");

  // An explicit inbox: the reply arrives on exactly the subject the client subscribed to.
  const inbox = createInbox();
  const sub = nc.subscribe(inbox, { max: 1 });
  nc.publish("test.svc", enc.encode("two"), { reply: inbox });
  let reply: Msg | undefined;
  for await (const m of sub) reply = m;
  assert.equal(reply!.subject, inbox);
  assert.equal(dec.decode(reply!.data), "re:two");
  assert.equal(seenReplies[1], ns + inbox);
  assert.equal(w.g.gw.counters.rewrittenInboxes >= 2, true);
});

test("a publish reaches local subscribers and the hub, and is never echoed back from upstream", async (t) => {
  const w = await startWorld(t);
  const upstream = w.g.gw.upstream!;
  const token = w.token(TEST_SUBJECTS);
  const a = await w.client(token, { name: "publisher" });
  const quiet = await w.client(token, { name: "no-echo", noEcho: true });
  const b = await w.client(token, { name: "local-peer" });
  const hubNc = await w.hubClient({ name: "hub-peer" });
  const aGot = record(a, "test.echo");
  const quietGot = record(quiet, "test.echo");
  const bGot = record(b, "test.echo");
  const hubGot = record(hubNc, "test.echo");
  for (const nc of [a, quiet, b, hubNc]) await nc.flush();
  await hubHasLeafSub(w.hub, "test.echo");
  await gatewayKnowsHubSub(w.g.gw, "test.echo");

  const inBefore = upstream.stats.inMsgs;
  for (let i = 0; i < 5; i++) a.publish("test.echo", enc.encode(`a${i}`));
  quiet.publish("test.echo", enc.encode("q"));
  await a.flush();
  await quiet.flush();
  await waitFor("the hub got all six", () => (hubGot.length === 6 ? true : undefined));
  // The hub publishes a sentinel after it has routed ours: any echo would arrive before it.
  hubNc.publish("test.echo", enc.encode("end"));
  await hubNc.flush();
  const expectedAll = ["a0", "a1", "a2", "a3", "a4", "q", "end"].map((s) => `test.echo=${s}`);
  await waitFor("the sentinel everywhere", () => ([aGot, quietGot, bGot].every((g) => g.includes("test.echo=end")) ? true : undefined));
  assert.deepEqual(aGot.sort(), [...expectedAll].sort(), "a sees each of its own messages once (local echo), never again from the hub");
  assert.deepEqual(quietGot.sort(), expectedAll.filter((s) => s !== "test.echo=q").sort(), "noEcho: not even locally");
  assert.deepEqual(bGot.sort(), [...expectedAll].sort());
  assert.deepEqual(hubGot.sort(), [...expectedAll].sort(), "the hub client got ours once each (and its own sentinel)");
  assert.equal(upstream.stats.inMsgs - inBefore, 1, "only the hub's sentinel came down the link");
});

test("no-responders from local subscriptions plus the hub's interest", async (t) => {
  const w = await startWorld(t);
  const gw = w.g.gw;
  const isNoResponders = (err: Error & { isNoResponders?: () => boolean }): boolean => err.isNoResponders?.() === true;
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "requester" });

  // Nobody, anywhere.
  const started = Date.now();
  await assert.rejects(nc.request("test.nobody", enc.encode("?"), { timeout: 8000 }), isNoResponders);
  assert.ok(Date.now() - started < 5000, "the 503 comes at once, not at the timeout");

  // Only a hub client serves it (plain, wildcard, queue group).
  const hubNc = await w.hubClient({ name: "hub-services" });
  const serve = (subject: string, queue?: string): void => {
    hubNc.subscribe(subject, { queue, callback: (err, m) => { if (!err) m.respond(enc.encode(`hub:${m.subject}`)); } });
  };
  serve("test.hub.plain");
  serve("test.hub.wild.>");
  serve("test.hub.queued", "workers");
  await hubNc.flush();
  await gatewayKnowsHubSub(gw, "test.hub.plain");
  await gatewayKnowsHubSub(gw, "test.hub.wild.x");
  await waitFor("the gateway knows the hub's queue", () => (gw.upstream!.hubInterest.match("test.hub.queued").queues.includes("workers") ? true : undefined));
  for (const subject of ["test.hub.plain", "test.hub.wild.x", "test.hub.queued"]) {
    const r = await nc.request(subject, enc.encode("?"), { timeout: 10000 });
    assert.equal(dec.decode(r.data), `hub:${subject}`);
  }

  // Only a local client serves it (it may answer into the caller's namespace).
  const local = await w.client(w.token({ callerid: "up=service", pubSubjects: ["test.>", "choria.reply.>"], subSubjects: ["test.>"] }), { name: "local-service" });
  local.subscribe("test.local.svc", { callback: (err, m) => { if (!err) m.respond(enc.encode("local")); } });
  await local.flush();
  assert.equal(dec.decode((await nc.request("test.local.svc", enc.encode("?"), { timeout: 10000 })).data), "local");

  // The hub's interest goes away: no responders again.
  await hubNc.close();
  await waitFor("the gateway saw the hub's LS-", () => (gw.upstream!.hubInterest.match("test.hub.plain").plain ? undefined : true));
  await assert.rejects(nc.request("test.hub.plain", enc.encode("?"), { timeout: 8000 }), isNoResponders);
});
