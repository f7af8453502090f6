/**
 * End to end on the gateway's own broker: a WebSocket client and a TLS
 * client (both official NATS clients, both AAA-authenticated with a nonce
 * signature) exchange messages both ways and answer each other's requests;
 * permessage-deflate on and off, checked on the negotiated extension and on
 * the bytes that actually crossed the wire; and a 512 KiB message both ways,
 * through the official client and as a raw message fragmented across many
 * frames.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { WebSocket } from "ws";
import { wsconnect, type NatsConnection } from "@nats-io/nats-core";
import { signNonce } from "../../src/auth/mint.js";
import { waitFor } from "../helpers/hub.js";
import { startWsWorld, newUserKey } from "./ws_world.js";
import { rawWss, clientFrame } from "./ws_raw.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The next message on `subject` at `nc`, as subject=text. */
function nextOn(nc: NatsConnection, subject: string): Promise<string> {
  const sub = nc.subscribe(subject, { max: 1 });
  return (async () => {
    for await (const m of sub) return `${m.subject}=${dec.decode(m.data)}`;
    throw new Error(`subscription on ${subject} ended without a message`);
  })();
}

test("a TLS client and a WebSocket client exchange messages and requests both ways", async (t) => {
  const w = await startWsWorld(t);
  const bob = newUserKey();
  const ws = await w.wsClient(w.token(["test.>"]), { name: "ws-alice" });
  // bob answers alice's requests, so he may publish into reply namespaces.
  const tls = await w.tlsClient(w.tokens.mint({ callerid: "up=bob", publicKey: bob.publicHex, pubSubjects: ["test.>", "choria.reply.>"], subSubjects: ["test.>"] }), { key: bob, name: "tls-bob" });

  const atWs = nextOn(ws, "test.to.ws");
  const atTls = nextOn(tls, "test.to.tls");
  await Promise.all([ws.flush(), tls.flush()]);
  tls.publish("test.to.ws", enc.encode("hello from tls"));
  ws.publish("test.to.tls", enc.encode("hello from ws"));
  assert.equal(await atWs, "test.to.ws=hello from tls");
  assert.equal(await atTls, "test.to.tls=hello from ws");

  // WebSocket requester, TLS responder: the reply crosses the private namespace of up=alice.
  tls.subscribe("test.svc.tls", { callback: (_e, m) => void m.respond(enc.encode(`tls says ${dec.decode(m.data)}`)) });
  await tls.flush();
  const r1 = await ws.request("test.svc.tls", enc.encode("hi"), { timeout: 10000 });
  assert.equal(dec.decode(r1.data), "tls says hi");

  // And the other way round: a WebSocket responder answers into bob's namespace (granted in its token).
  const aliceResponder = await w.wsClient(w.tokens.mint({ pubSubjects: ["test.>", "choria.reply.>"], subSubjects: ["test.>"] }), { name: "ws-responder" });
  aliceResponder.subscribe("test.svc.ws", { callback: (_e, m) => void m.respond(enc.encode(`ws says ${dec.decode(m.data)}`)) });
  await aliceResponder.flush();
  const r2 = await tls.request("test.svc.ws", enc.encode("yo"), { timeout: 10000 });
  assert.equal(dec.decode(r2.data), "ws says yo");
});

for (const compression of [true, false]) {
  test(`permessage-deflate ${compression ? "on" : "off"}: negotiation, bytes on the wire, and data intact`, async (t) => {
    const w = await startWsWorld(t, { compression });
    const sockets: WebSocket[] = [];
    const token = w.token();
    const ca = readFileSync(w.pki.ca);
    const nc = await wsconnect({
      servers: w.wsUrl,
      reconnect: false,
      timeout: 10000,
      authenticator: (nonce?: string) => ({ auth_token: token, sig: signNonce(w.tokens.user.privateKey, nonce ?? "") }) as never,
      wsFactory: async (url: string) => {
        const s = new WebSocket(url, { ca, perMessageDeflate: true });
        sockets.push(s);
        return { socket: s as unknown as globalThis.WebSocket, encrypted: true };
      },
    });
    t.after(() => nc.close());
    const socket = sockets[0]!;
    assert.equal(socket.extensions.includes("permessage-deflate"), compression, `extensions: ${JSON.stringify(socket.extensions)}`);

    // 256 KiB of very compressible text, then 64 KiB of random bytes: both must arrive intact.
    const text = enc.encode("choria.broadcast.agent.rpcutil ".repeat(256 * 1024 / 32));
    const noise = randomBytes(64 * 1024);
    const sub = nc.subscribe("test.deflate", { max: 2 });
    await nc.flush();
    const tcp = (socket as unknown as { _socket: { bytesRead: number } })._socket;
    const before = tcp.bytesRead;
    nc.publish("test.deflate", text);
    nc.publish("test.deflate", noise);
    const got: Uint8Array[] = [];
    for await (const m of sub) got.push(m.data);
    assert.equal(sha(got[0]!), sha(text));
    assert.equal(sha(got[1]!), sha(noise));
    const read = tcp.bytesRead - before;
    if (compression) assert.ok(read < text.length / 4 + noise.length + 4096, `compressed: ${read} bytes read`);
    else assert.ok(read >= text.length + noise.length, `uncompressed: ${read} bytes read`);
  });
}

test("a 512 KiB message both ways between the WebSocket and TLS clients", async (t) => {
  const w = await startWsWorld(t);
  const ws = await w.wsClient(w.token());
  const tls = await w.tlsClient(w.token());
  const big = randomBytes(512 * 1024);
  for (const [from, to] of [[ws, tls], [tls, ws]] as const) {
    const sub = to.subscribe("test.big", { max: 1 });
    await to.flush();
    from.publish("test.big", big);
    for await (const m of sub) {
      assert.equal(m.data.length, big.length);
      assert.equal(sha(m.data), sha(big));
    }
  }
});

test("a 512 KiB PUB sent raw as one WebSocket message in 64 fragments, and as 37 separate messages", async (t) => {
  const w = await startWsWorld(t);
  const receiver = await w.wsClient(w.token(), { name: "big-receiver" });
  const got: Uint8Array[] = [];
  receiver.subscribe("test.raw.big", { callback: (_e, m) => void got.push(m.data) });
  await receiver.flush();

  const raw = await rawWss(t, w.g.gw.websocketPort, w.pki.ca);
  await raw.login(w.token(), w.tokens.user.seedHex);
  const payload = randomBytes(512 * 1024);
  const pub = Buffer.concat([Buffer.from(`PUB test.raw.big ${payload.length}\r\n`), payload, Buffer.from("\r\nPING\r\n")]);

  // One message, fragmented: a binary frame without FIN, then continuation frames.
  const size = Math.ceil(pub.length / 64);
  const frames: Buffer[] = [];
  for (let i = 0, n = 0; i < pub.length; i += size, n++) {
    const last = i + size >= pub.length;
    frames.push(clientFrame(n === 0 ? 2 : 0, pub.subarray(i, i + size), { fin: last }));
  }
  assert.equal(frames.length, 64);
  for (const f of frames) await raw.write(f);
  await raw.expect(/PONG\r\n/, 20000);

  // The same bytes as separate, complete messages cut at odd places (the NATS
  // stream may be split anywhere between messages).
  for (let i = 0, step = 14_321; i < pub.length; i += step) await raw.sendText(pub.subarray(i, i + step));
  await raw.expect(/PONG\r\n/, 20000);

  await waitFor("both big messages", () => (got.length === 2 ? true : undefined), 20000);
  for (const m of got) assert.equal(sha(m), sha(payload));
  assert.equal(raw.closeCode(), null);
});
