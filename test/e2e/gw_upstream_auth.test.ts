/**
 * How the whole gateway authenticates upstream, and what readiness
 * says about it. A gateway holding a client certificate the hub does not trust
 * is refused by the hub (which logs why), logs the failure itself, retries, and
 * stays up for its local clients with /readyz 503 naming the reason. A gateway
 * with a NATS `.creds` file against an operator-mode hub (which also requires
 * mTLS) is bound to the creds' account and carries a round trip both ways. A
 * gateway with no remote is standalone and always ready.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getPki } from "../helpers/pki.js";
import { natsConnectWithToken, startGateway } from "../helpers/gateway.js";
import { tempDir, tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { hubHasLeafSub, hubLeafs, startWorld, waitFor } from "./gw_upstream_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const TEST_SUBJECTS = { pubSubjects: ["test.>"], subSubjects: ["test.>"] };

test("an untrusted client certificate: the hub refuses, the gateway logs it, retries, and stays up for local clients", async (t) => {
  const w = await startWorld(t, {
    waitReady: false,
    remoteLines: (_hub, pki, url) => [
      `plugin.choria.network.leafnode_remote.hub.url = ${url}`,
      `plugin.choria.network.leafnode_remote.hub.tls.cert = ${pki.untrustedClient.cert}`,
      `plugin.choria.network.leafnode_remote.hub.tls.key = ${pki.untrustedClient.key}`,
      `plugin.choria.network.leafnode_remote.hub.tls.ca = ${pki.ca}`,
    ],
  });
  const gw = w.g.gw;
  const failures = await waitFor("two failed upstream attempts in the gateway log", () => {
    const f = w.g.logs.records().filter((r) => r.msg === "upstream connect failed" || r.msg === "upstream connection lost");
    return f.length >= 2 ? f : undefined;
  });
  for (const f of failures) {
    assert.equal(f.url, `127.0.0.1:${w.hub.leafPort}`);
    // The hub's TLS alert, as the gateway saw it (TLS 1.3 reports the refused certificate on the first read).
    assert.match(String(f.error), /bad certificate/i);
  }
  // The hub says why: it could not verify the certificate the gateway showed.
  await waitFor("the hub logs the refused certificate", () => (/TLS.*handshake error.*(certificate|unknown authority)/i.test(w.hub.logs()) ? true : undefined));
  assert.deepEqual(await hubLeafs(w.hub), [], "the hub never registered the leaf");
  assert.equal(gw.upstream!.connected, false);
  assert.equal(gw.ready, false);
  const ready = await w.readyz();
  assert.equal(ready.status, 503);
  assert.equal(ready.body.reason, "upstream leafnode not connected");

  // Still serving: a client connects and local pub/sub works without the hub.
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "local-only" });
  const sub = nc.subscribe("test.local", { max: 1 });
  await nc.flush();
  nc.publish("test.local", enc.encode("still here"));
  for await (const m of sub) assert.equal(dec.decode(m.data), "still here");
  assert.equal(sub.getReceived(), 1);
  // And it keeps trying: more attempts keep failing, none succeeds.
  const seen = failures.length;
  await waitFor("further attempts", () => (w.g.logs.records().filter((r) => r.msg === "upstream connect failed" || r.msg === "upstream connection lost").length > seen ? true : undefined));
  assert.equal(w.g.logs.records().filter((r) => r.msg === "upstream connected").length, 0);
});

test("a .creds file against an operator-mode hub with mTLS: bound to the creds' account, round trip both ways", async (t) => {
  const w = await startWorld(t, {
    hub: { operatorMode: {} },
    remoteLines: (hub, pki, url) => [
      `plugin.choria.network.leafnode_remote.hub.url = ${url}`,
      `plugin.choria.network.leafnode_remote.hub.tls.cert = ${pki.leaf.cert}`,
      `plugin.choria.network.leafnode_remote.hub.tls.key = ${pki.leaf.key}`,
      `plugin.choria.network.leafnode_remote.hub.tls.ca = ${pki.ca}`,
      `plugin.choria.network.leafnode_remote.hub.credentials = ${hub.creds}`,
    ],
  });
  const connected = w.g.logs.records().find((r) => r.msg === "upstream connected")!;
  assert.equal(connected.account, w.hub.account, "the hub bound the link to the creds' account");
  const leafs = await hubLeafs(w.hub);
  assert.equal(leafs.length, 1);
  assert.equal(leafs[0]!.account, w.hub.account);
  assert.equal((await w.readyz()).status, 200);

  // A service on the hub (a creds-authenticated client), a requester through the gateway.
  const hubNc = await w.hubClient({ name: "op-service" });
  hubNc.subscribe("test.op.echo", { callback: (err, m) => { if (!err) m.respond(enc.encode(`echo:${dec.decode(m.data)}`)); } });
  await hubNc.flush();
  await waitFor("the gateway knows the service", () => w.g.gw.upstream!.hubInterest.match("test.op.echo").plain || undefined);
  const nc = await w.client(w.token(TEST_SUBJECTS), { name: "op-requester" });
  const r = await nc.request("test.op.echo", enc.encode("via creds"), { timeout: 10000 });
  assert.equal(dec.decode(r.data), "echo:via creds");
  assert.match(r.subject, /^_INBOX\./);

  // And the other way: a hub publish reaches the gateway client.
  const down = nc.subscribe("test.op.down", { max: 1 });
  await nc.flush();
  await hubHasLeafSub(w.hub, "test.op.down");
  hubNc.publish("test.op.down", enc.encode("from the operator hub"));
  for await (const m of down) assert.equal(dec.decode(m.data), "from the operator hub");
  assert.equal(down.getReceived(), 1);
});

test("standalone (no leafnode remote): always ready, and local traffic works", async (t) => {
  const pki = await getPki();
  const tokens = tokenWorld();
  const dir = tempDir(t, "aaa-gw-standalone-");
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const g = await startGateway(pki, [
    `plugin.choria.network.client_signer_cert = ${publicKeyPath}`,
    "plugin.choria.stats_port = -1",
  ]);
  t.after(() => g.stop());
  assert.equal(g.gw.upstream, null);
  assert.equal(g.gw.ready, true);
  const res = await fetch(`http://127.0.0.1:${g.gw.monitorPort}/readyz`);
  assert.equal(res.status, 200);
  const nc = await natsConnectWithToken(g.url, pki, tokens.mint(TEST_SUBJECTS), tokens.user.seedHex);
  t.after(() => nc.close());
  // A responder answers into the requester's reply namespace, so its token must allow publishing there.
  const responderToken = tokens.mint({ callerid: "up=service", pubSubjects: ["test.>", "choria.reply.>"], subSubjects: ["test.>"] });
  const svc = await natsConnectWithToken(g.url, pki, responderToken, tokens.user.seedHex);
  t.after(() => svc.close());
  svc.subscribe("test.svc", { callback: (err, m) => { if (!err) m.respond(enc.encode("local")); } });
  await svc.flush();
  const r = await nc.request("test.svc", enc.encode("?"), { timeout: 5000 });
  assert.equal(dec.decode(r.data), "local");
  await assert.rejects(nc.request("test.nobody", enc.encode("?"), { timeout: 5000 }), (err: Error & { isNoResponders?: () => boolean }) => err.isNoResponders?.() === true);
  assert.equal((await fetch(`http://127.0.0.1:${g.gw.monitorPort}/readyz`)).status, 200, "still ready");
});
