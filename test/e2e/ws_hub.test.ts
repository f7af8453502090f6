/**
 * End to end through the upstream: the official NATS JS client's
 * WebSocket transport (`wsconnect`, the nats.ws code path) against the gateway
 * over wss with an AAA token and nonce signature, relayed over the mTLS
 * leafnode link to a real nats-server hub: publish/subscribe with hub clients
 * both ways, request/reply to a responder on the hub (the `_INBOX` reply
 * rewritten into the caller's private namespace and back), and the same
 * permission errors, word for word, that a TLS client gets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as hubConnect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { waitFor, type Hub } from "../helpers/hub.js";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import type { Gateway } from "../../src/gateway.js";
import { startWsWorld } from "./ws_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves once the hub lists `subject` on its leafnode connection (the gateway's LS+ arrived). */
async function hubHasSub(hub: Hub, subject: string): Promise<void> {
  await waitFor(`hub interest in ${subject}`, async () => {
    const leafs = ((await hub.leafz())["leafs"] ?? []) as { subscriptions_list?: string[] }[];
    return leafs.some((l) => l.subscriptions_list?.includes(subject)) || undefined;
  });
}

/** Resolves once the gateway has learnt the hub's interest in `subject` (LS+ from the hub). */
async function gatewayKnowsHubSub(gw: Gateway, subject: string): Promise<void> {
  await waitFor(`gateway knows the hub's interest in ${subject}`, () => gw.upstream?.hubInterest.match(subject).plain || undefined);
}

/** Every async error of `nc`, as text, collected from its status stream. */
function collectErrors(nc: NatsConnection): string[] {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errors.push(s.error.message);
  })();
  return errors;
}

test("wsconnect over wss with a token and nonce signature: pub/sub with hub clients both ways", async (t) => {
  const w = await startWsWorld(t, { hub: true });
  const hubNc = await hubConnect({ servers: w.hub!.clientUrl, reconnect: false });
  t.after(() => hubNc.close());
  const nc = await w.wsClient(w.token(), { name: "ws-pubsub" });
  assert.equal(nc.info?.auth_required, true);
  assert.match(String(nc.info?.nonce), /^[A-Za-z0-9_-]{15}$/);
  assert.equal(nc.info?.tls_required, undefined, "the WebSocket INFO does not ask for a TLS upgrade");

  // Hub → WebSocket client.
  const down = nc.subscribe("test.down", { max: 2 });
  await nc.flush();
  await hubHasSub(w.hub!, "test.down");
  hubNc.publish("test.down", enc.encode("from hub 1"));
  hubNc.publish("test.down", enc.encode("from hub 2"));
  const gotDown: string[] = [];
  for await (const m of down) gotDown.push(`${m.subject}=${dec.decode(m.data)}`);
  assert.deepEqual(gotDown, ["test.down=from hub 1", "test.down=from hub 2"]);

  // WebSocket client → hub.
  const up = hubNc.subscribe("test.up", { max: 1 });
  await hubNc.flush();
  await gatewayKnowsHubSub(w.g.gw, "test.up");
  nc.publish("test.up", enc.encode("from ws"));
  for await (const m of up) assert.equal(`${m.subject}=${dec.decode(m.data)}`, "test.up=from ws");
  assert.equal(up.getProcessed(), 1);
});

test("request/reply from a WebSocket client to a responder on the hub, via the private reply namespace", async (t) => {
  const w = await startWsWorld(t, { hub: true });
  const hubNc = await hubConnect({ servers: w.hub!.clientUrl, reconnect: false });
  t.after(() => hubNc.close());
  const replySubjects: string[] = [];
  hubNc.subscribe("test.svc.echo", {
    callback: (_err, m) => {
      replySubjects.push(m.reply ?? "");
      m.respond(enc.encode(`echo:${dec.decode(m.data)}`));
    },
  });
  await hubNc.flush();
  await gatewayKnowsHubSub(w.g.gw, "test.svc.echo");

  const nc = await w.wsClient(w.token(), { name: "ws-requester" });
  for (const body of ["one", "two", "three"]) {
    const r = await nc.request("test.svc.echo", enc.encode(body), { timeout: 10000 });
    assert.equal(dec.decode(r.data), `echo:${body}`);
  }
  // The hub only ever saw the caller's private namespace, never a bare _INBOX.
  const ns = `choria.reply.${md5Hex("up=alice")}._INBOX.`;
  assert.equal(replySubjects.length, 3);
  for (const s of replySubjects) assert.ok(s.startsWith(ns), `${s} is inside ${ns}`);
});

test("a WebSocket client gets the same permission errors as a TLS client", async (t) => {
  const w = await startWsWorld(t, { hub: true });
  const token = w.token();
  const clients = { tls: await w.tlsClient(token, { name: "perm-tls" }), ws: await w.wsClient(token, { name: "perm-ws" }) };
  const seen: Record<string, { sub: string[]; status: string[] }> = {};
  for (const [kind, nc] of Object.entries(clients)) {
    const status = collectErrors(nc);
    const sub: string[] = [];
    const onError = (err: Error | null): void => void (err && sub.push(err.message));
    nc.subscribe("choria.lifecycle.>", { callback: onError });
    nc.subscribe(`choria.reply.${md5Hex("up=mallory")}.>`, { callback: onError });
    nc.publish("forbidden.subject", enc.encode("x"));
    await nc.flush();
    await waitFor(`${kind}: three violations reported`, () => (status.length >= 3 && sub.length >= 2) || undefined);
    assert.equal(nc.isClosed(), false, `${kind}: a permission violation does not close the connection`);
    // Still usable after the violations.
    const ok = nc.subscribe("test.after", { max: 1 });
    await nc.flush();
    nc.publish("test.after", enc.encode("still here"));
    for await (const m of ok) assert.equal(dec.decode(m.data), "still here");
    seen[kind] = { sub: sub.sort(), status: status.sort() };
  }
  const mallory = `choria.reply.${md5Hex("up=mallory")}.>`;
  assert.deepEqual(seen["ws"]!.sub, [
    `Permissions Violation for Subscription to "${mallory}"`,
    'Permissions Violation for Subscription to "choria.lifecycle.>"',
  ].sort());
  assert.ok(seen["ws"]!.status.includes('Permissions Violation for Publish to "forbidden.subject"'), String(seen["ws"]!.status));
  assert.deepEqual(seen["ws"], seen["tls"]);
});
