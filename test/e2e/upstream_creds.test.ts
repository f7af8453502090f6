/**
 * LeafConn with a NATS .creds file against an operator-mode hub (memory
 * resolver) that also requires mTLS on its leafnode port: the nonce is signed
 * with the creds seed and the link is bound to the creds' account. A user of
 * an account the hub does not know is refused with the hub's own words, logged
 * and retried.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { readFileSync } from "node:fs";
import { createAccount, createUser, encodeUser, fmtCreds } from "@nats-io/jwt";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { LeafConn } from "../../src/upstream/leaf_conn.js";
import { createLogger, LevelControl, MemorySink } from "../../src/obs/log.js";
import { getPki, type Pki } from "../helpers/pki.js";
import { leafRemoteFor, startHub, waitFor, type Hub } from "../helpers/hub.js";
import { localSide } from "../helpers/local_side.js";

function startLeaf(t: TestContext, hub: Hub, pki: Pki, credentials: string, logs: MemorySink, received: string[]): LeafConn {
  const leaf = new LeafConn({
    remote: leafRemoteFor(hub, pki, { credentials }),
    serverName: `gw-creds-${Math.random().toString(36).slice(2, 8)}`,
    version: "0.1.0",
    bufferBytes: 1 << 20,
    reconnectBaseDelay: 100,
    reconnectMaxDelay: 400,
    pingInterval: 1000,
    pingMax: 3,
    log: createLogger(logs, new LevelControl("debug")),
    local: localSide(() => [{ subject: "op.>", queue: undefined, weight: 1 }], (subject, _r, _q, _h, payload) => received.push(`${subject}:${Buffer.from(payload).toString()}`)),
    timeouts: { register: 5000 },
  });
  leaf.start();
  t.after(() => leaf.stop());
  return leaf;
}

describe("LeafConn with .creds against an operator-mode hub", () => {
  let pki: Pki;
  let hub: Hub;
  let client: NatsConnection;
  before(async () => {
    pki = await getPki();
    hub = await startHub({ pki, operatorMode: {} });
    client = await connect({ servers: hub.clientUrl, authenticator: credsAuthenticator(readFileSync(hub.creds!)) });
  });
  after(async () => {
    await client?.close();
    await hub?.stop();
  });

  test("signs the nonce, is bound to the creds' account, and carries messages", async (t) => {
    const logs = new MemorySink();
    const received: string[] = [];
    const leaf = startLeaf(t, hub, pki, hub.creds!, logs, received);
    await waitFor("connected", () => leaf.connected || undefined);
    const connected = logs.records().find((r) => r.msg === "upstream connected")!;
    assert.equal(connected.account, hub.account);
    const leafz = (await hub.leafz()) as { leafs: { account: string; subscriptions_list?: string[] }[] };
    assert.equal(leafz.leafs[0]!.account, hub.account);
    await waitFor("LS+ op.>", async () => {
      const l = (await hub.leafz()) as { leafs: { subscriptions_list?: string[] }[] };
      return l.leafs.some((x) => x.subscriptions_list?.includes("op.>")) || undefined;
    });
    client.publish("op.hello", Buffer.from("jwt"));
    await client.flush();
    await waitFor("hub publish at the leaf", () => (received.includes("op.hello:jwt") ? true : undefined));
  });

  test("a user of an unknown account is refused, logged with the hub's words and retried", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "bad-creds-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stranger = createAccount(), user = createUser();
    const bad = join(dir, "stranger.creds");
    writeFileSync(bad, fmtCreds(await encodeUser("stranger", user, stranger), user));
    const logs = new MemorySink();
    const leaf = startLeaf(t, hub, pki, bad, logs, []);
    await waitFor("two refusals", () => {
      const f = logs.records().filter((r) => r.msg === "upstream connect failed");
      return f.length >= 2 ? f : undefined;
    });
    assert.equal(leaf.connected, false);
    assert.ok(logs.records().some((r) => r.msg === "hub sent -ERR" && r.error === "Authorization Violation"));
    assert.equal(leaf.stats.lastError, "Authorization Violation");
  });
});
