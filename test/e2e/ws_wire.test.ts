/**
 * End to end, at the wire: WebSocket frames split across TCP writes
 * (inside the header, the mask key and the payload) reassemble into NATS ops;
 * refused tokens get `-ERR 'Authorization Violation'` and a close frame 1008 as
 * nats-server sends them; shutdown closes WebSocket clients with 1001; the
 * Origin allow list comes from the gateway config; and plain ws:// (the
 * development switch) never accepts an AAA token, because a JWT sent in clear
 * text may already be stolen.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { WebSocket, type RawData } from "ws";
import { createSigner, mintClientToken, signNonce } from "../../src/auth/mint.js";
import { waitFor } from "../helpers/hub.js";
import { startWsWorld, type WsWorld } from "./ws_world.js";
import { rawWss, clientFrame } from "./ws_raw.js";

interface WsPeer {
  ws: WebSocket;
  /** Every text received, in order. */
  received(): string;
  /** Close code and reason from the server's close frame. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A plain `ws` client (no NATS library): what a test sees is exactly what the gateway sent. */
async function wsPeer(url: string, ca: Buffer | null, headers: Record<string, string> = {}): Promise<WsPeer> {
  const ws = new WebSocket(url, { ...(ca ? { ca } : {}), headers });
  let text = "";
  ws.on("message", (d: RawData) => void (text += d.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  await waitFor("INFO", () => (text.startsWith("INFO ") && text.includes("\r\n") ? true : undefined));
  return { ws, received: () => text, closed };
}

function nonceOf(peer: WsPeer): string {
  const line = peer.received().slice(0, peer.received().indexOf("\r\n"));
  return String((JSON.parse(line.slice(5)) as { nonce: string }).nonce);
}

function connectLine(fields: Record<string, unknown>): string {
  return `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, headers: true, lang: "ws-test", version: "0", ...fields })}\r\nPING\r\n`;
}

const cutTable: [string, (len: number) => number[]][] = [
  ["after the first header byte", () => [1]],
  ["between the length and the mask key", () => [2]],
  ["inside the mask key", () => [4]],
  ["in the middle of the payload", (len) => [Math.floor(len / 2)]],
  ["every 7 bytes", (len) => Array.from({ length: Math.floor((len - 1) / 7) }, (_, i) => (i + 1) * 7)],
];

test("frames split across TCP writes reassemble: CONNECT, SUB and PUB in pieces", async (t) => {
  const w = await startWsWorld(t);
  for (const [name, cuts] of cutTable) {
    await t.test(name, async (st) => {
      const raw = await rawWss(st, w.g.gw.websocketPort, w.pki.ca);
      const connect = connectLine({ auth_token: w.token(), sig: signNonce(w.tokens.user.seedHex, String(raw.info["nonce"])) });
      const connectFrame = clientFrame(2, Buffer.from(connect));
      await raw.writeSplit(connectFrame, cuts(connectFrame.length));
      await raw.expect(/^PONG\r\n/);
      const ops = clientFrame(2, Buffer.from("SUB test.split 1\r\nPUB test.split 5\r\nhello\r\nPING\r\n"));
      await raw.writeSplit(ops, cuts(ops.length));
      assert.equal(await raw.expect(/PONG\r\n/), "MSG test.split 1 5\r\nhello\r\nPONG\r\n");
      assert.equal(raw.closeCode(), null);
    });
  }
});

function badConnects(w: WsWorld): [string, (nonce: string) => Record<string, unknown>][] {
  const seed = w.tokens.user.seedHex;
  const now = Math.floor(Date.now() / 1000);
  return [
    ["garbage token", (n) => ({ auth_token: "not.a.jwt", sig: signNonce(seed, n) })],
    ["token from an unknown signer", (n) => ({ auth_token: mintClientToken(createSigner("ed25519"), { publicKey: w.tokens.user.publicHex }), sig: signNonce(seed, n) })],
    ["expired token", (n) => ({ auth_token: w.tokens.mint({ iat: now - 7200, exp: now - 3600 }), sig: signNonce(seed, n) })],
    ["server token", (n) => ({ auth_token: w.tokens.mint({ purpose: "choria_server" }), sig: signNonce(seed, n) })],
    ["signature of another nonce", () => ({ auth_token: w.token(), sig: signNonce(seed, "someOtherNonce1") })],
    ["no signature", () => ({ auth_token: w.token() })],
    ["no token", () => ({ user: "alice", pass: "secret" })],
  ];
}

test("a refused token over WebSocket: -ERR 'Authorization Violation', then close frame 1008", async (t) => {
  const w = await startWsWorld(t);
  const ca = readFileSync(w.pki.ca);
  for (const [name, fields] of badConnects(w)) {
    await t.test(name, async () => {
      const peer = await wsPeer(w.wsUrl, ca);
      const sent = Date.now();
      peer.ws.send(connectLine(fields(nonceOf(peer))));
      const { code, reason } = await peer.closed;
      // The close handshake completes at once; a transport still paused from
      // authentication used to ignore our answering close frame until the
      // listener's 5 s close timeout dropped the socket.
      assert.ok(Date.now() - sent < 4000, `closed after ${Date.now() - sent} ms`);
      assert.equal(code, 1008);
      assert.equal(reason, "Authorization Violation");
      assert.match(peer.received(), /\r\n-ERR 'Authorization Violation'\r\n$/);
      assert.doesNotMatch(peer.received(), /PONG/);
    });
  }
});

test("the official WebSocket client with a bad token fails to connect with an authorization error", async (t) => {
  const w = await startWsWorld(t);
  const stranger = createSigner("ed25519");
  const token = mintClientToken(stranger, { publicKey: w.tokens.user.publicHex });
  await assert.rejects(w.wsClient(token), (err: Error) => /Authorization Violation/i.test(err.message));
});

test("gateway shutdown closes WebSocket clients with 1001", async (t) => {
  const w = await startWsWorld(t);
  const peer = await wsPeer(w.wsUrl, readFileSync(w.pki.ca));
  peer.ws.send(connectLine({ auth_token: w.token(), sig: signNonce(w.tokens.user.seedHex, nonceOf(peer)) }));
  await waitFor("PONG", () => (peer.received().includes("PONG\r\n") ? true : undefined));
  await w.g.stop();
  const { code } = await peer.closed;
  assert.equal(code, 1001);
});

test("websocket_allowed_origins from the config: listed origins connect, others get HTTP 403", async (t) => {
  const w = await startWsWorld(t, { lines: ["plugin.choria.network.aaa_leafnode.websocket_allowed_origins = https://console.example.net, http://127.0.0.1:8080"] });
  const ca = readFileSync(w.pki.ca);
  const table: [string | undefined, number][] = [
    ["https://console.example.net", 101],
    ["http://127.0.0.1:8080", 101],
    ["https://evil.example.net", 403],
    ["http://127.0.0.1:8081", 403],
    [undefined, 101], // non-browser clients send no Origin
  ];
  for (const [origin, status] of table) {
    const got = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(w.wsUrl, { ca, ...(origin ? { origin } : {}) });
      ws.once("open", () => {
        ws.terminate();
        resolve(101);
      });
      ws.once("unexpected-response", (_req, res) => {
        ws.terminate();
        resolve(res.statusCode ?? 0);
      });
      ws.once("error", (err) => reject(err));
    });
    assert.equal(got, status, `origin ${origin ?? "(none)"}`);
  }
});

test("plain ws:// (websocket_insecure) refuses AAA tokens: no JWT over clear text", async (t) => {
  const w = await startWsWorld(t, { lines: ["plugin.choria.network.aaa_leafnode.websocket_insecure = true"] });
  const url = `ws://127.0.0.1:${w.g.gw.websocketPort}`;
  const peer = await wsPeer(url, null);
  peer.ws.send(connectLine({ auth_token: w.token(), sig: signNonce(w.tokens.user.seedHex, nonceOf(peer)) }));
  const { code } = await peer.closed;
  assert.equal(code, 1008);
  assert.match(peer.received(), /-ERR 'Authorization Violation'\r\n$/);
  assert.ok(w.g.audit.lines.some((l) => l.includes("GW_ERR_AUTH_INSECURE")), "the audit log names the reason");
});

/** What a peer gets from a listener: the bytes before the server closed (or null if it kept the socket open). */
async function bytesBeforeClose(port: number): Promise<string | null> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    let got = "";
    sock.on("data", (d) => void (got += d.toString("latin1")));
    sock.on("error", () => {});
    sock.once("close", () => resolve(got));
    // A listener that accepted waits for us: a TLS or HTTP peer would speak or time out much later.
    setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, 3000).unref();
  });
}

test("client_hosts guards every listener: a peer outside it is dropped before the WebSocket upgrade, the INFO and the login relay", async (t) => {
  const relay = ["plugin.choria.network.aaa_leafnode.login_relay_port = -1", "plugin.login.aaasvc.login.url = https://127.0.0.1:9/choria/v1/login"];
  const outside = await startWsWorld(t, { lines: ["plugin.choria.network.client_hosts = 10.0.0.0/8, 2001:db8::/32", ...relay] });
  const ca = readFileSync(outside.pki.ca);
  const outcome = await new Promise<string>((resolve) => {
    const ws = new WebSocket(outside.wsUrl, { ca });
    ws.once("open", () => {
      ws.terminate();
      resolve("upgraded");
    });
    ws.once("unexpected-response", (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.once("error", (err) => resolve(`error: ${err.message}`));
  });
  assert.match(outcome, /^error/, "no TLS handshake, no HTTP answer, no upgrade");
  assert.equal(outside.g.gw.websocketPort > 0 && outside.g.gw.loginRelayPort > 0, true);
  assert.equal(await bytesBeforeClose(outside.g.gw.clientPort), "", "the client port closes without sending INFO");
  assert.equal(await bytesBeforeClose(outside.g.gw.loginRelayPort), "", "the login relay closes without a byte");
  const refusals = outside.g.logs.lines.filter((l) => l.includes("outside client_hosts"));
  for (const listener of ["websocket", "client", "login relay"]) {
    assert.ok(refusals.some((l) => l.includes(`"listener":"${listener}"`)), `the ${listener} listener logs the refusal`);
  }

  // The same gateway with 127.0.0.1 on the list: the WebSocket client gets in and authenticates.
  const inside = await startWsWorld(t, { lines: ["plugin.choria.network.client_hosts = 10.0.0.0/8, 127.0.0.1/32", ...relay] });
  const nc = await inside.wsClient(inside.token());
  await nc.flush();
  assert.equal(await bytesBeforeClose(inside.g.gw.clientPort).then((b) => (b ?? "").startsWith("INFO ") || b === null), true);
});
