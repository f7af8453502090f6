/**
 * What a misbehaving WebSocket peer gets after the upgrade, from raw frame
 * bytes: an oversized message → close 1009, an unmasked client frame → 1002,
 * invalid UTF-8 in a text frame → 1007, an unknown opcode → 1002; each is
 * counted in stats.violations and reported to onClose as a WsTransportError
 * with a stable code. Also: back-pressure (a peer that does not read makes
 * bufferedBytes grow, write() return false and onDrain fire once it reads),
 * the server's ping sweep (live peers stay, dead peers go), the close timeout
 * for peers that never answer a close frame, and the process surviving it all.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { clientFrame, closeCode, listen, rawUpgrade, waitFor } from "../../helpers/ws.js";
import { WsTransportError } from "../../../src/transport/ws_transport.js";

// [name, frames to send, close code, violation key, error code]
const violations: ReadonlyArray<readonly [string, () => Buffer, number, string, string]> = [
  ["oversized message", () => clientFrame(2, Buffer.alloc(2048, 0x41)), 1009, "message_too_large", "GW_ERR_WS_MESSAGE_TOO_LARGE"],
  [
    "oversized message across fragments",
    () => Buffer.concat([clientFrame(2, Buffer.alloc(800), { fin: false }), clientFrame(0, Buffer.alloc(800))]),
    1009,
    "message_too_large",
    "GW_ERR_WS_MESSAGE_TOO_LARGE",
  ],
  ["unmasked client frame", () => clientFrame(2, Buffer.from("PING\r\n"), { mask: false }), 1002, "unmasked_frame", "GW_ERR_WS_UNMASKED_FRAME"],
  ["invalid UTF-8 in a text frame", () => clientFrame(1, Buffer.from([0x50, 0xff, 0xfe, 0x0d, 0x0a])), 1007, "invalid_utf8", "GW_ERR_WS_INVALID_UTF8"],
  ["unknown opcode 3", () => clientFrame(3, Buffer.from("x")), 1002, "protocol_error", "GW_ERR_WS_PROTOCOL"],
  ["continuation without a start", () => clientFrame(0, Buffer.from("x")), 1002, "protocol_error", "GW_ERR_WS_PROTOCOL"],
  ["fragmented ping", () => clientFrame(9, Buffer.from("x"), { fin: false }), 1002, "protocol_error", "GW_ERR_WS_PROTOCOL"],
];

describe("protocol violations", () => {
  for (const [name, frames, code, key, errCode] of violations) {
    test(`${name} → close ${code}`, async (t) => {
      const l = await listen(t, { maxFrameBytes: 1024 });
      const peer = await rawUpgrade(t, l.listener.port);
      peer.socket.write(frames());
      await waitFor(() => closeCode(peer.frames()) !== null, "close frame");
      assert.equal(closeCode(peer.frames()), code);
      await waitFor(() => l.accepted[0]?.closed === true, "transport closed");
      const err = l.accepted[0]!.closeError;
      assert.ok(err instanceof WsTransportError);
      assert.equal(err.code, errCode);
      assert.equal(err.closeCode, code);
      assert.deepEqual(l.listener.stats.violations, { [key]: 1 });
      assert.equal(l.accepted[0]!.chunks.length, 0);
    });
  }

  test("valid UTF-8 text and any bytes in binary frames pass", async (t) => {
    const l = await listen(t, {}, false);
    const peer = await rawUpgrade(t, l.listener.port);
    peer.socket.write(clientFrame(1, Buffer.from("PUB ä 2\r\n")));
    peer.socket.write(clientFrame(2, Buffer.from([0xff, 0xfe, 0x0d, 0x0a])));
    await waitFor(() => l.accepted[0]?.chunks.length === 2, "both frames");
    assert.deepEqual(l.accepted[0]!.received(), Buffer.concat([Buffer.from("PUB ä 2\r\n"), Buffer.from([0xff, 0xfe, 0x0d, 0x0a])]));
    assert.deepEqual(l.listener.stats.violations, {});
  });

  test("the listener survives a run of violations and keeps serving", async (t) => {
    const l = await listen(t, { maxFrameBytes: 1024 });
    for (const [, frames] of violations) {
      const peer = await rawUpgrade(t, l.listener.port);
      peer.socket.write(frames());
      await waitFor(() => closeCode(peer.frames()) !== null, "close frame");
    }
    await waitFor(() => l.listener.stats.active === 0, "all closed");
    const total = Object.values(l.listener.stats.violations).reduce((a, b) => a + b, 0);
    assert.equal(total, violations.length);
    const ok = await rawUpgrade(t, l.listener.port);
    ok.socket.write(clientFrame(2, Buffer.from("PING\r\n")));
    await waitFor(() => ok.frames().length === 1, "echo");
    assert.equal(ok.frames()[0]!.payload.toString(), "PING\r\n");
  });
});

describe("back-pressure", () => {
  test("a peer that does not read: bufferedBytes grows, write() returns false, onDrain fires once it reads", async (t) => {
    const highWaterMark = 64 * 1024;
    const l = await listen(t, { highWaterMark }, false);
    const peer = await rawUpgrade(t, l.listener.port);
    await waitFor(() => l.accepted.length === 1, "accept");
    peer.socket.pause(); // stop reading: the kernel buffers fill, then ours
    const tr = l.accepted[0]!.transport;
    let drains = 0;
    tr.onDrain(() => drains++);
    const chunk = Buffer.alloc(32 * 1024, 0x78);
    let written = 0;
    let accepted = true;
    // Loopback kernel buffers hold a few MiB; the cap only guards a broken test.
    while (accepted && written < 512 * 1024 * 1024) {
      accepted = tr.write(chunk);
      written += chunk.length;
      if (accepted) await new Promise((r) => setImmediate(r));
    }
    assert.equal(accepted, false, "write() never returned false");
    assert.ok(tr.bufferedBytes >= highWaterMark - chunk.length, `bufferedBytes ${tr.bufferedBytes}`);
    assert.equal(drains, 0);
    // More writes while over the mark keep returning false and keep growing the buffer.
    const before = tr.bufferedBytes;
    assert.equal(tr.write(chunk), false);
    assert.ok(tr.bufferedBytes > before);
    peer.socket.removeAllListeners("data");
    peer.socket.on("data", () => {});
    peer.socket.resume();
    await waitFor(() => drains === 1, "onDrain", 30000);
    assert.ok(tr.bufferedBytes < highWaterMark);
    assert.equal(tr.write(Buffer.from("PONG\r\n")), true);
  });
});

describe("server pings", () => {
  test("a peer that answers pings stays open across several sweeps", async (t) => {
    // Generous interval: a pong must come back within one sweep even on a loaded machine.
    const l = await listen(t, { pingInterval: 300 });
    const ws = new WebSocket(l.url());
    t.after(() => ws.terminate());
    let pings = 0;
    ws.on("ping", () => pings++);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    await waitFor(() => pings >= 3, "three pings");
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.deepEqual(l.listener.stats.violations, {});
  });

  test("a peer that never answers is closed and counted as ping_timeout", async (t) => {
    const l = await listen(t, { pingInterval: 50 });
    const peer = await rawUpgrade(t, l.listener.port); // raw: never sends a pong
    await waitFor(() => peer.closed(), "dead peer dropped");
    assert.ok(peer.frames().some((f) => f.opcode === 9), "server sent a ping first");
    await waitFor(() => l.accepted[0]?.closed === true, "transport closed");
    const err = l.accepted[0]!.closeError;
    assert.ok(err instanceof WsTransportError);
    assert.equal(err.code, "GW_ERR_WS_PING_TIMEOUT");
    assert.deepEqual(l.listener.stats.violations, { ping_timeout: 1 });
  });
});

describe("close timeout", () => {
  test("end() on a peer that never answers the close frame drops the socket after closeTimeout", async (t) => {
    const l = await listen(t, { closeTimeout: 200 });
    const peer = await rawUpgrade(t, l.listener.port);
    await waitFor(() => l.accepted.length === 1, "accept");
    l.accepted[0]!.transport.end();
    await waitFor(() => closeCode(peer.frames()) === 1000, "close frame");
    await waitFor(() => peer.closed() && l.accepted[0]!.closed, "socket dropped");
    assert.equal(l.listener.stats.active, 0);
  });
});
