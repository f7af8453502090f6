/**
 * Upgrade checks from a raw socket, in nats-server 2.9.10's order and with its
 * status codes (docs/protocol.md#upgrade): every refusal gets its HTTP status, closes
 * the socket and is counted by reason; header tokens match case-insensitively;
 * the Origin allow list compares scheme, host and port; silent peers (plain
 * and TLS) are dropped at the handshake deadline; a failed TLS handshake is
 * counted; and the listener keeps serving after all of it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import {
  clientFrame,
  httpStatus,
  listen,
  makeCert,
  rawConnect,
  rawUpgrade,
  upgradeRequest,
  waitFor,
} from "../../helpers/ws.js";
import { OriginPolicy, canonicalOrigin, headerHasToken } from "../../../src/transport/ws_upgrade.js";

const origins = ["https://app.example.com", "http://localhost:8080"];

// [name, request bytes, expected status, stats.rejected key (null: accepted)]
const requests: ReadonlyArray<readonly [string, string, number, string | null]> = [
  ["POST with upgrade headers", upgradeRequest({}, "POST"), 405, "method"],
  ["POST without upgrade headers", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method"],
  ["plain GET (no Upgrade, no Connection)", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "upgrade_header"],
  ["no Host", upgradeRequest({ Host: undefined }), 400, "host"],
  ["Upgrade: h2c", upgradeRequest({ Upgrade: "h2c" }), 400, "upgrade_header"],
  ["Connection without upgrade", upgradeRequest({ Connection: "keep-alive" }), 400, "connection_header"],
  ["missing Sec-WebSocket-Key", upgradeRequest({ "Sec-WebSocket-Key": undefined }), 400, "key"],
  ["malformed Sec-WebSocket-Key", upgradeRequest({ "Sec-WebSocket-Key": "short" }), 400, "key"],
  ["Sec-WebSocket-Version 8", upgradeRequest({ "Sec-WebSocket-Version": "8" }), 400, "version"],
  ["missing Sec-WebSocket-Version", upgradeRequest({ "Sec-WebSocket-Version": undefined }), 400, "version"],
  ["disallowed Origin", upgradeRequest({ Origin: "https://evil.example.com" }), 403, "origin"],
  ["Origin on another port", upgradeRequest({ Origin: "https://app.example.com:8443" }), 403, "origin"],
  ["Origin that is not a URL", upgradeRequest({ Origin: "null" }), 403, "origin"],
  ["bytes before the 101", upgradeRequest() + clientFrame(2, Buffer.from("PING\r\n")).toString("latin1"), 400, "early_data"],
  ["not HTTP at all", "CONNECT {}\r\nPING\r\n\r\n", 400, "bad_request"],
  // accepted: nats-server matches tokens in lists, case-insensitively
  ["mixed-case tokens in lists", upgradeRequest({ Upgrade: "WebSocket", Connection: "keep-alive, UPGRADE" }), 101, null],
  ["version listed with others", upgradeRequest({ "Sec-WebSocket-Version": "13, 8" }), 101, null],
  ["allowed Origin, default port spelled out", upgradeRequest({ Origin: "https://APP.example.com:443" }), 101, null],
  ["no Origin with an allow list", upgradeRequest(), 101, null],
  ["any path", upgradeRequest({}, "GET", "/some/path?x=1"), 101, null],
];

describe("upgrade request checks", () => {
  for (const [name, request, status, reason] of requests) {
    test(`${name} → ${status}`, async (t) => {
      const l = await listen(t, { allowedOrigins: origins });
      const peer = await rawConnect(t, l.listener.port);
      peer.socket.write(request, "latin1");
      await waitFor(() => httpStatus(peer.data()) !== null, "HTTP response");
      assert.equal(httpStatus(peer.data()), status);
      if (reason === null) {
        await waitFor(() => l.accepted.length === 1, "accept");
        assert.equal(l.listener.stats.upgrades, 1);
        assert.deepEqual(l.listener.stats.rejected, {});
      } else {
        await waitFor(() => peer.closed(), "socket closed after refusal");
        assert.deepEqual(l.listener.stats.rejected, { [reason]: 1 });
        await waitFor(() => l.listener.stats.handshaking === 0, "handshake bookkeeping cleared");
        assert.equal(l.accepted.length, 0);
      }
    });
  }

  test("each refusal is counted, and the listener still serves afterwards", async (t) => {
    const l = await listen(t, { allowedOrigins: origins });
    for (const [, request, status] of requests) {
      if (status === 101) continue;
      const peer = await rawConnect(t, l.listener.port);
      peer.socket.write(request, "latin1");
      await waitFor(() => peer.closed(), "refused socket closed");
    }
    const total = Object.values(l.listener.stats.rejected).reduce((a, b) => a + b, 0);
    assert.equal(total, requests.filter((r) => r[2] !== 101).length);
    assert.equal(l.listener.stats.rejected.origin, 3);
    const ok = await rawUpgrade(t, l.listener.port);
    ok.socket.write(clientFrame(2, Buffer.from("PING\r\n")));
    await waitFor(() => ok.frames().length === 1, "echo");
    assert.equal(ok.frames()[0]!.payload.toString(), "PING\r\n");
  });
});

describe("handshake deadline", () => {
  test("a silent TCP peer is dropped", async (t) => {
    const l = await listen(t, { handshakeTimeout: 200 });
    const peer = await rawConnect(t, l.listener.port);
    await waitFor(() => peer.closed(), "close after handshake timeout");
    assert.equal(peer.data().length, 0);
    assert.deepEqual(l.listener.stats.rejected, { handshake_timeout: 1 });
  });

  test("a peer that sends half a request is dropped", async (t) => {
    const l = await listen(t, { handshakeTimeout: 200 });
    const peer = await rawConnect(t, l.listener.port);
    peer.socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    await waitFor(() => peer.closed(), "close after handshake timeout");
    assert.deepEqual(l.listener.stats.rejected, { handshake_timeout: 1 });
  });

  test("a TCP peer that never starts TLS on a wss listener is dropped", async (t) => {
    const l = await listen(t, { handshakeTimeout: 200, tls: makeCert(t) });
    const peer = await rawConnect(t, l.listener.port);
    await waitFor(() => peer.closed(), "close after handshake timeout");
    assert.deepEqual(l.listener.stats.rejected, { handshake_timeout: 1 });
  });

  test("a TLS peer that never sends the upgrade request is dropped", async (t) => {
    const l = await listen(t, { handshakeTimeout: 300, tls: makeCert(t) });
    const sock = tlsConnect({ host: "127.0.0.1", port: l.listener.port, rejectUnauthorized: false });
    t.after(() => void sock.destroy());
    let closed = false;
    let secured = false;
    sock.on("secureConnect", () => (secured = true));
    sock.on("error", () => {});
    sock.on("close", () => (closed = true));
    await waitFor(() => closed, "close after handshake timeout");
    assert.equal(secured, true);
    assert.deepEqual(l.listener.stats.rejected, { handshake_timeout: 1 });
  });

  test("an upgraded connection is not touched by the handshake timer", async (t) => {
    const l = await listen(t, { handshakeTimeout: 100 });
    const peer = await rawUpgrade(t, l.listener.port);
    await new Promise((r) => setTimeout(r, 300));
    peer.socket.write(clientFrame(2, Buffer.from("PING\r\n")));
    await waitFor(() => peer.frames().length === 1, "echo after the deadline");
    assert.equal(peer.closed(), false);
    assert.deepEqual(l.listener.stats.rejected, {});
  });

  test("garbage instead of a TLS ClientHello is counted as a TLS handshake failure", async (t) => {
    const l = await listen(t, { tls: makeCert(t) });
    const peer = await rawConnect(t, l.listener.port);
    peer.socket.write(upgradeRequest());
    await waitFor(() => peer.closed(), "close after TLS failure");
    assert.deepEqual(l.listener.stats.rejected, { tls_handshake: 1 });
  });
});

describe("helpers", () => {
  test("headerHasToken matches list members case-insensitively", () => {
    const table: ReadonlyArray<readonly [string | string[] | undefined, string, boolean]> = [
      ["Upgrade", "upgrade", true],
      ["keep-alive, Upgrade", "upgrade", true],
      [" keep-alive ,  UPGRADE ", "upgrade", true],
      ["upgrade-insecure", "upgrade", false],
      [["websocket"], "websocket", true],
      [undefined, "websocket", false],
      ["", "websocket", false],
    ];
    for (const [value, token, want] of table) assert.equal(headerHasToken(value, token), want, String(value));
  });

  test("canonicalOrigin fills default ports and lowercases the host", () => {
    const table: ReadonlyArray<readonly [string, string | null]> = [
      ["https://App.Example.com", "https://app.example.com:443"],
      ["http://localhost", "http://localhost:80"],
      ["http://localhost:8080/", "http://localhost:8080"],
      ["null", null],
      ["", null],
    ];
    for (const [text, want] of table) assert.equal(canonicalOrigin(text), want, text);
  });

  test("OriginPolicy: empty allows all; absent Origin is allowed; bad list entries throw", () => {
    assert.equal(new OriginPolicy([]).allows("https://anything.example"), true);
    const p = new OriginPolicy(["https://a.example"]);
    assert.equal(p.restricted, true);
    assert.equal(p.allows(undefined), true);
    assert.equal(p.allows("https://a.example:443"), true);
    assert.equal(p.allows("http://a.example"), false);
    assert.throws(() => new OriginPolicy(["not a url"]), TypeError);
  });
});
