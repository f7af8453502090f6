/**
 * plugin.security.cipher_suites, plugin.security.ecc_curves and the minimum
 * TLS version, seen from real node:tls peers: a TLS 1.2 client offering only a
 * cipher (or curve) outside the configured list is refused by the client, the
 * WebSocket and the login relay listeners while one offering a listed cipher
 * gets it; a reload changes the list for new connections; and the upstream
 * link offers only the configured ciphers to its hub (a TLS 1.2-only hub that
 * wants another cipher cannot complete the handshake, one that wants a listed
 * cipher can). client_hosts guards every listener and follows a reload, and
 * gateway_name shows as the cluster in /varz.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, createSecureContext, TLSSocket, type ConnectionOptions } from "node:tls";
import { loadConfig } from "../../src/config/load.js";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/hub.js";
import { readInfoLine } from "../helpers/raw.js";
import { rawWss } from "./ws_raw.js";

const AES128 = "ECDHE-ECDSA-AES128-GCM-SHA256";
const AES256 = "ECDHE-ECDSA-AES256-GCM-SHA384";
const HARDENED = [
  "plugin.security.cipher_suites = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "plugin.security.ecc_curves = CurveP256",
];

type Outcome = { ok: true; cipher: string; version: string } | { ok: false; error: string };

/** A TLS handshake as a client; `clearInfo` reads the NATS INFO line in clear text first (client port). */
async function handshake(port: number, pki: Pki, opts: ConnectionOptions, clearInfo: boolean): Promise<Outcome> {
  const plain: Socket = netConnect(port, "127.0.0.1");
  plain.on("error", () => {});
  if (clearInfo) {
    await readInfoLine(plain);
  } else {
    await new Promise<void>((resolve, reject) => plain.once("connect", resolve).once("error", reject));
  }
  return new Promise<Outcome>((resolve) => {
    const s = tlsConnect({ socket: plain, ca: readFileSync(pki.ca), servername: "localhost", ...opts });
    s.once("secureConnect", () => {
      const out: Outcome = { ok: true, cipher: s.getCipher().name, version: s.getProtocol() ?? "" };
      s.destroy();
      resolve(out);
    });
    s.once("error", (err) => {
      s.destroy();
      resolve({ ok: false, error: err.message });
    });
  });
}

async function gateway(t: TestContext, pki: Pki, lines: string[]): Promise<TestGateway> {
  const g = await startGateway(pki, lines, { development: true });
  t.after(() => g.stop());
  return g;
}

const tls12 = (ciphers: string, extra: ConnectionOptions = {}): ConnectionOptions => ({ maxVersion: "TLSv1.2", ciphers, ...extra });

describe("cipher_suites and ecc_curves on every listener", () => {
  test("a TLS 1.2 client offering only a cipher outside the list is refused by the client, WebSocket and login relay listeners", async (t) => {
    const pki = await getPki();
    const g = await gateway(t, pki, [
      ...HARDENED,
      "plugin.choria.network.websocket_port = -1",
      "plugin.choria.network.aaa_leafnode.login_relay_port = -1",
      "plugin.login.aaasvc.login.url = https://127.0.0.1:9",
    ]);
    const listeners: [string, number, boolean][] = [
      ["client", g.gw.clientPort, true],
      ["websocket", g.gw.websocketPort, false],
      ["login relay", g.gw.loginRelayPort, false],
    ];
    for (const [name, port, clearInfo] of listeners) {
      const refused = await handshake(port, pki, tls12(AES256), clearInfo);
      assert.equal(refused.ok, false, `${name}: ${AES256} must be refused`);
      const accepted = await handshake(port, pki, tls12(AES128), clearInfo);
      assert.deepEqual(accepted, { ok: true, cipher: AES128, version: "TLSv1.2" }, name);
      const wrongCurve = await handshake(port, pki, tls12(AES128, { ecdhCurve: "P-384" }), clearInfo);
      assert.equal(wrongCurve.ok, false, `${name}: a client offering only P-384 must be refused`);
    }
  });

  test("without the keys, Node's defaults accept both ciphers", async (t) => {
    const pki = await getPki();
    const g = await gateway(t, pki, []);
    for (const c of [AES128, AES256]) {
      const out = await handshake(g.gw.clientPort, pki, tls12(c), true);
      assert.equal(out.ok && out.cipher, c);
    }
  });

  test("the minimum TLS version refuses a TLS 1.2 client", async (t) => {
    const pki = await getPki();
    const g = await gateway(t, pki, ["plugin.choria.network.aaa_leafnode.tls_min_version = 1.3"]);
    const old = await handshake(g.gw.clientPort, pki, { maxVersion: "TLSv1.2" }, true);
    assert.equal(old.ok, false);
    const now = await handshake(g.gw.clientPort, pki, {}, true);
    assert.equal(now.ok && now.version, "TLSv1.3");
  });

  test("a reload changes the list for new connections", async (t) => {
    const pki = await getPki();
    const g = await gateway(t, pki, HARDENED);
    const file = join(g.dir, "broker.conf");
    appendFileSync(file, "plugin.security.cipher_suites = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n");
    const plan = await g.gw.reload(loadConfig(file).config);
    assert.deepEqual(plan.changes.map((c) => [c.key, c.reload]), [["plugin.security.cipher_suites", "new connections"]]);
    assert.equal((await handshake(g.gw.clientPort, pki, tls12(AES128), true)).ok, false);
    const out = await handshake(g.gw.clientPort, pki, tls12(AES256), true);
    assert.equal(out.ok && out.cipher, AES256);
  });
});

/** A hub that speaks TLS 1.2 only with one cipher: records how each leaf handshake ended. */
async function fakeHub(t: TestContext, pki: Pki, cipher: string): Promise<{ port: number; outcomes: string[] }> {
  const outcomes: string[] = [];
  const context = createSecureContext({ cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key), maxVersion: "TLSv1.2", ciphers: cipher });
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
    const info = { server_id: "FAKEHUB", version: "2.9.10", proto: 1, tls_required: true, max_payload: 1048576, client_id: 7, leafnode_urls: [] };
    sock.write(`INFO ${JSON.stringify(info)}\r\n`);
    const tls = new TLSSocket(sock, { isServer: true, secureContext: context });
    tls.once("secure", () => {
      outcomes.push(`secure ${tls.getCipher().name}`);
      tls.destroy();
    });
    tls.on("error", (err) => outcomes.push(`error ${err.message}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, outcomes };
}

test("gateway_name names the cluster in /varz", async (t) => {
  const pki = await getPki();
  const g = await gateway(t, pki, ["plugin.choria.network.gateway_name = EDGE_1", "plugin.choria.stats_port = -1"]);
  const varz = (await (await fetch(`http://127.0.0.1:${g.gw.monitorPort}/varz`)).json()) as Record<string, unknown>;
  assert.equal(varz["cluster"], "EDGE_1");
});

describe("client_hosts", () => {
  /** True when the server closed a plain TCP connection without sending a byte (refused before INFO). */
  async function refusedBeforeInfo(port: number): Promise<boolean> {
    const s = netConnect(port, "127.0.0.1");
    let got = "";
    s.on("data", (b: Buffer) => (got += b.toString("latin1")));
    s.on("error", () => {});
    await new Promise<void>((resolve) => s.once("close", () => resolve()));
    return got === "";
  }

  test("applies to the TLS and the WebSocket listener, and a reload changes it for new connections", async (t) => {
    const pki = await getPki();
    const g = await gateway(t, pki, ["plugin.choria.network.client_hosts = 10.0.0.0/8", "plugin.choria.network.websocket_port = -1"]);
    assert.equal(await refusedBeforeInfo(g.gw.clientPort), true);
    await assert.rejects(rawWss(t, g.gw.websocketPort, pki.ca), "a WebSocket client outside client_hosts gets no INFO");
    const refusals = g.logs.records().filter((r) => r["msg"] === "connection from a host outside client_hosts refused");
    assert.deepEqual(refusals.map((r) => r["listener"]).sort(), ["client", "websocket"]);

    const file = join(g.dir, "broker.conf");
    appendFileSync(file, "plugin.choria.network.client_hosts = 10.0.0.0/8, 127.0.0.0/8\n");
    const plan = await g.gw.reload(loadConfig(file).config);
    assert.deepEqual(plan.changes.map((c) => [c.key, c.reload]), [["plugin.choria.network.client_hosts", "new connections"]]);
    assert.equal((await handshake(g.gw.clientPort, pki, {}, true)).ok, true);
    const ws = await rawWss(t, g.gw.websocketPort, pki.ca);
    assert.equal(typeof ws.info["server_id"], "string");
  });
});

describe("cipher_suites on the upstream link", () => {
  for (const [hubCipher, expectSecure] of [[AES256, false], [AES128, true]] as const) {
    test(`a TLS 1.2 hub wanting ${hubCipher} ${expectSecure ? "completes" : "cannot complete"} the handshake`, async (t) => {
      const pki = await getPki();
      const hub = await fakeHub(t, pki, hubCipher);
      const r = "plugin.choria.network.leafnode_remote.hub.";
      await gateway(t, pki, [
        ...HARDENED,
        "plugin.choria.network.leafnode_remotes = hub",
        `${r}url = tls://127.0.0.1:${hub.port}`,
        `${r}tls.cert = ${pki.leaf.cert}`,
        `${r}tls.key = ${pki.leaf.key}`,
        `${r}tls.ca = ${pki.ca}`,
        "plugin.choria.network.aaa_leafnode.reconnect_delay = 200ms",
      ]);
      await waitFor("a handshake at the fake hub", () => (hub.outcomes.length > 0 ? true : undefined), 15_000);
      if (expectSecure) assert.equal(hub.outcomes[0], `secure ${AES128}`);
      else assert.match(hub.outcomes[0]!, /^error .*no shared cipher/i);
    });
  }
});


