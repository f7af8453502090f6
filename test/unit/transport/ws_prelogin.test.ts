/**
 * What a WebSocket may hold before its peer has logged in (issue #20 item 8):
 * no more than the TLS port lets a client hold. Peers that never log in send
 * compressed, unfinished fragmented messages that inflate far beyond a CONNECT
 * line: each is closed with 1009 as soon as the inflated bytes pass the
 * pre-login limit, and the process keeps a bounded number of bytes for all of
 * them. Tiny fragments cannot stand in for bytes. Once the transport is told
 * the peer logged in, the max_payload-based limit applies: the same message
 * passes whole.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { clientFrame, closeCode, listen, rawUpgrade, waitFor } from "../../helpers/ws.js";
import { WsTransportError } from "../../../src/transport/ws_transport.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The gateway's figures with the default limits: max_payload + max_connect_line + 4 KiB, and max_connect_line + 4 KiB. */
const MAX_FRAME = MiB + 32 * KiB + 4 * KiB;
const PRE_LOGIN = 32 * KiB + 4 * KiB;
/** 1 MiB of one letter deflates to about 1 KiB. */
const BIG = Buffer.alloc(MiB, 0x41);

interface Peer {
  ws: WebSocket;
  closeCode: Promise<number>;
}

async function openPeer(t: TestContext, url: string): Promise<Peer> {
  const ws = new WebSocket(url, { perMessageDeflate: true });
  t.after(() => ws.terminate());
  ws.on("error", () => {});
  const closeCode = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  assert.ok(ws.extensions.includes("permessage-deflate"), "compression negotiated");
  return { ws, closeCode };
}

/** Sends `data` compressed as the first fragment of a message that never ends; resolves once it left. */
function sendUnfinished(ws: WebSocket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => ws.send(data, { binary: true, compress: true, fin: false }, (err) => (err ? reject(err) : resolve())));
}

test("peers that never log in, sending compressed unfinished fragments: each closed with 1009, memory stays bounded", async (t) => {
  const l = await listen(t, { compression: true, maxFrameBytes: MAX_FRAME, preLoginMessageBytes: PRE_LOGIN }, false, false);
  const PEERS = 100;
  const peers: Peer[] = [];
  for (let i = 0; i < PEERS; i++) peers.push(await openPeer(t, l.url()));
  const before = process.memoryUsage().arrayBuffers;
  // On the wire about 1 KiB each; held whole, 100 MiB for the hundred.
  await Promise.all(peers.map((p) => sendUnfinished(p.ws, BIG)));
  const codes = await Promise.race([
    Promise.all(peers.map((p) => p.closeCode)),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
  ]);
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.notEqual(codes, null, `every peer closed within 10 s (open: ${l.listener.stats.active}, memory grown ${(grown / MiB).toFixed(1)} MiB)`);
  assert.deepEqual(codes, Array(PEERS).fill(1009));
  assert.equal(l.listener.stats.violations.message_too_large, PEERS);
  // The peer sees the close frame before our side's close finishes (Node 24 orders them so).
  await waitFor(() => l.accepted.length === PEERS && l.accepted.every((a) => a.closed), "every connection closed on our side");
  for (const a of l.accepted) {
    assert.ok(a.closeError instanceof WsTransportError, `closed by ${String(a.closeError)} ${(a.closeError as {code?: string})?.code}`);
    assert.equal(a.closeError.code, "GW_ERR_WS_MESSAGE_TOO_LARGE");
    assert.equal(a.chunks.length, 0, "nothing reached the connection");
  }
  // Generous: the hundred held whole would be 100 MiB.
  assert.ok(grown < 20 * MiB, `array buffers grew ${(grown / MiB).toFixed(1)} MiB`);
});

test("before login a message of the pre-login size passes, one byte more does not (uncompressed, across fragments)", async (t) => {
  const l = await listen(t, { maxFrameBytes: MAX_FRAME, preLoginMessageBytes: PRE_LOGIN }, false, false);
  const ok = await rawUpgrade(t, l.listener.port);
  ok.socket.write(Buffer.concat([clientFrame(2, Buffer.alloc(PRE_LOGIN / 2, 0x41), { fin: false }), clientFrame(0, Buffer.alloc(PRE_LOGIN / 2, 0x41))]));
  await waitFor(() => l.accepted[0]?.received().length === PRE_LOGIN, "the whole message");
  const over = await rawUpgrade(t, l.listener.port);
  over.socket.write(Buffer.concat([clientFrame(2, Buffer.alloc(PRE_LOGIN / 2, 0x41), { fin: false }), clientFrame(0, Buffer.alloc(PRE_LOGIN / 2 + 1, 0x41))]));
  await waitFor(() => closeCode(over.frames()) !== null, "close frame");
  assert.equal(closeCode(over.frames()), 1009);
  assert.equal(l.accepted[1]!.chunks.length, 0);
});

test("before login tiny fragments cannot stand in for bytes: the 65th fragment closes the connection", async (t) => {
  const l = await listen(t, { maxFrameBytes: MAX_FRAME, preLoginMessageBytes: PRE_LOGIN }, false, false);
  const peer = await rawUpgrade(t, l.listener.port);
  const frames = [clientFrame(2, Buffer.from("x"), { fin: false })];
  for (let i = 0; i < 100; i++) frames.push(clientFrame(0, Buffer.from("x"), { fin: false }));
  peer.socket.write(Buffer.concat(frames));
  await waitFor(() => closeCode(peer.frames()) !== null, "close frame");
  assert.equal(l.listener.stats.violations.too_many_fragments, 1);
});

test("after login the max_payload-based limit applies: a 1 MiB compressed message passes whole", async (t) => {
  const l = await listen(t, { compression: true, maxFrameBytes: MAX_FRAME, preLoginMessageBytes: PRE_LOGIN }, false, false);
  const peer = await openPeer(t, l.url());
  await waitFor(() => l.accepted.length === 1, "accepted");
  l.accepted[0]!.transport.loggedIn!();
  await sendUnfinished(peer.ws, BIG.subarray(0, MiB / 2));
  await new Promise<void>((resolve, reject) =>
    peer.ws.send(BIG.subarray(MiB / 2), { binary: true, compress: true, fin: true }, (err) => (err ? reject(err) : resolve())),
  );
  await waitFor(() => l.accepted[0]!.received().length === MiB, "the whole message");
  assert.deepEqual(l.accepted[0]!.received(), BIG);
  assert.deepEqual(l.listener.stats.violations, {});
  // And the limit after login still holds.
  await sendUnfinished(peer.ws, Buffer.alloc(MAX_FRAME + 1, 0x41));
  assert.equal(await peer.closeCode, 1009);
});
