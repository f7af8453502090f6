/**
 * Handshake against scripted hubs of each nats-server version from 2.9 to
 * 2.14, built from what each version's source sends (server/leafnode.go and
 * the Info struct in server/server.go; summarised in docs/leafnode.md). The
 * fake hub speaks TLS with verified client certificates, as a leafnode port
 * does: INFO in clear text then the TLS handshake (or, for 2.10+ hubs with
 * `handshake_first`, TLS first), our CONNECT checked field by field (leaf
 * fields only, no `lang`, compression declined with "off" wherever the hub
 * offers it, no `protocol` so a 2.11+ hub keeps us on the original protocol),
 * then the connect_info INFO with that version's fields, the hub's LS+ burst
 * with its `$LDS.` subject, and the barrier PONGs. Every transcript ends with
 * a message each way and an asynchronous INFO full of fields nobody knows yet.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";
import { LeafConn } from "../../../src/upstream/leaf_conn.js";
import { createLogger, LevelControl, MemorySink } from "../../../src/obs/log.js";
import { getPki, type Pki } from "../../helpers/pki.js";
import { waitFor } from "../../helpers/hub.js";
import { localSide } from "../../helpers/local_side.js";

interface Version {
  version: string;
  /** Fields of the first INFO beyond the ones every version sends. */
  first: Record<string, unknown>;
  /** Fields of the connect_info INFO beyond the ones every version sends. */
  confirm: Record<string, unknown>;
  /** What our CONNECT must carry for compression. */
  compressMode: string | undefined;
}

const VERSIONS: Version[] = [
  { version: "2.9.10", first: { proto: 1 }, confirm: {}, compressMode: undefined },
  { version: "2.10.22", first: { proto: 1, compression: "s2_auto", xkey: "XABC" }, confirm: {}, compressMode: "off" },
  { version: "2.11.4", first: { proto: 2, compression: "s2_auto", xkey: "XABC" }, confirm: { lnocu: true }, compressMode: "off" },
  { version: "2.12.1", first: { proto: 2, compression: "s2_auto", api_lvl: 2 }, confirm: { acc_is_sys: false, api_lvl: 2 }, compressMode: "off" },
  { version: "2.14.5", first: { proto: 2, compression: "s2_best", api_lvl: 3, domain: "hub" }, confirm: { acc_is_sys: false, api_lvl: 3 }, compressMode: "off" },
];

/** One accepted connection of the scripted hub, after TLS. */
class HubConn {
  private text = "";
  constructor(readonly socket: TLSSocket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (this.text += d));
    socket.on("error", () => {});
  }
  async line(): Promise<string> {
    const i = await waitFor("a line from the leaf", () => { const i = this.text.indexOf("\r\n"); return i >= 0 ? i : undefined; }, 5000, 5);
    const l = this.text.slice(0, i);
    this.text = this.text.slice(i + 2);
    return l;
  }
  send(s: string): void {
    this.socket.write(s);
  }
}

async function scriptedTlsHub(t: TestContext, pki: Pki, v: Version, tlsFirst: boolean): Promise<{ port: number; conn: Promise<HubConn> }> {
  const sockets = new Set<Socket>();
  let port = 0;
  let resolveConn!: (c: HubConn) => void;
  const conn = new Promise<HubConn>((r) => (resolveConn = r));
  const info = {
    server_id: "NHUBVERSIONTEST", server_name: `hub-${v.version}`, version: v.version, go: "go1.22", host: "127.0.0.1",
    headers: true, auth_required: true, tls_required: true, tls_verify: true, max_payload: 1048576,
    client_id: 42, nonce: "abcdefghijklmnopqrs", info_on_connect: true, ...v.first,
  };
  const caCert = new X509Certificate(readFileSync(pki.ca));
  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on("error", () => {});
    raw.on("close", () => sockets.delete(raw));
    const infoLine = (): string => `INFO ${JSON.stringify({ ...info, leafnode_urls: [`127.0.0.1:${port}`] })}\r\n`;
    if (!tlsFirst) raw.write(infoLine());
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: createSecureContext({ key: readFileSync(pki.hub.key), cert: readFileSync(pki.hub.cert), ca: readFileSync(pki.ca) }),
      requestCert: true,
      rejectUnauthorized: true,
    });
    secure.on("error", () => {});
    secure.once("secure", () => {
      const peer = secure.getPeerCertificate();
      assert.ok(peer.subject !== undefined && peer.raw !== undefined, "the leaf presented its client certificate");
      assert.ok(new X509Certificate(peer.raw).verify(caCert.publicKey), "signed by the test CA");
      if (tlsFirst) secure.write(infoLine());
      resolveConn(new HubConn(secure));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
  t.after(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return { port, conn };
}

async function handshake(t: TestContext, v: Version, tlsFirst: boolean): Promise<void> {
  const pki = await getPki();
  const hub = await scriptedTlsHub(t, pki, v, tlsFirst);
  const received: string[] = [];
  const logs = new MemorySink();
  const leaf = new LeafConn({
    remote: {
      name: "versioned",
      urls: [`tls://127.0.0.1:${hub.port}`],
      tls: { cert: pki.leaf.cert, key: pki.leaf.key, ca: pki.ca, verify: true, handshakeFirst: tlsFirst },
      account: "choria",
    },
    serverName: "gw-versions",
    version: "0.1.0",
    bufferBytes: 1 << 20,
    reconnectBaseDelay: 50,
    reconnectMaxDelay: 200,
    pingInterval: 60_000,
    pingMax: 3,
    log: createLogger(logs, new LevelControl("debug")),
    local: localSide(() => [{ subject: "choria.reply.x.>", queue: undefined, weight: 1 }, { subject: "$KV.bucket.key", queue: undefined, weight: 1 }],
      (subject, _r, _q, _h, payload) => received.push(`${subject}:${Buffer.from(payload).toString()}`)),
    timeouts: { register: 5000 },
  });
  leaf.start();
  t.after(() => leaf.stop());
  const c = await hub.conn;

  const connectLine = await c.line();
  assert.match(connectLine, /^CONNECT \{/);
  const connect = JSON.parse(connectLine.slice(8)) as Record<string, unknown>;
  const want: Record<string, unknown> = { version: "0.1.0", tls_required: true, name: "gw-versions", headers: true };
  if (v.compressMode !== undefined) want.compress_mode = v.compressMode;
  assert.deepEqual(connect, want, `CONNECT to a ${v.version} hub`);
  assert.equal(await c.line(), "PING", "the first barrier follows CONNECT");

  // The hub's answer to CONNECT, in its order: connect_info INFO, then its interest, then our PONG.
  const confirm = { server_id: "NHUBVERSIONTEST", version: v.version, connect_info: true, remote_account: "CHORIA", leafnode_urls: [`127.0.0.1:${hub.port}`, "10.9.9.9:7422"], ...v.confirm };
  c.send(`INFO ${JSON.stringify(confirm)}\r\nLS+ $LDS.HUBLOOPID\r\nLS+ choria.broadcast.agent.>\r\nPONG\r\n`);
  // Replay: our interest, minus what a non-extended hub refuses ($KV.), then the second barrier.
  assert.equal(await c.line(), "LS+ choria.reply.x.>");
  assert.equal(await c.line(), "PING");
  c.send("PONG\r\n");
  await waitFor("live", () => (leaf.live ? true : undefined));
  assert.ok(leaf.knownUrls.some((u) => u.label === "10.9.9.9:7422"), "leafnode_urls gossip learned");

  // An asynchronous INFO with fields from the future does not break the link.
  c.send(`INFO ${JSON.stringify({ ...confirm, connect_info: false, gossip_mode: 1, route_pool_size: 3, brand_new: { nested: [1, { x: null }] }, ldm: false })}\r\n`);
  assert.equal(leaf.forward("choria.broadcast.agent.rpcutil", "choria.reply.x.1", -1, Buffer.from("ping"), null), true);
  assert.equal(await c.line(), "LMSG choria.broadcast.agent.rpcutil choria.reply.x.1 4");
  assert.equal(await c.line(), "ping");
  c.send("LMSG choria.reply.x.1 4\r\npong\r\n");
  await waitFor("the hub's message", () => received[0]);
  assert.deepEqual(received, ["choria.reply.x.1:pong"]);
  assert.equal(leaf.connected, true);
  assert.equal(leaf.stats.reconnects, 0);
  assert.equal(leaf.hubInfo?.version, v.version);
}

describe("leafnode handshake per hub version (scripted TLS hubs)", () => {
  for (const v of VERSIONS) {
    test(`nats-server ${v.version}`, (t) => handshake(t, v, false));
  }
  for (const v of VERSIONS.filter((x) => x.compressMode !== undefined)) {
    test(`nats-server ${v.version} with handshake_first (TLS before INFO)`, (t) => handshake(t, v, true));
  }
});
