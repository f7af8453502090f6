/**
 * The WebSocket listener's data path with a real `ws` client, over plain ws and
 * over wss with a certificate made for the run: text and binary frames arrive
 * as bytes, ops split across frames (docs/protocol.md#frames transcript) arrive in
 * order, 1 MiB messages in many fragments, outbound frames are binary (one per
 * write, one per writev), permessage-deflate on and off (docs/protocol.md#compression), the close
 * codes of end(), end(1001), destroy() and listener shutdown, the Transport
 * contract (pause/resume, one onClose), and the listener's lifecycle (close()
 * leaves open sockets to their owners, certificate reload).
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { WebSocket, type RawData } from "ws";
import type { IncomingMessage } from "node:http";
import { connect as tlsConnect } from "node:tls";
import { clientFrame, listen, makeCert, rawConnect, rawUpgrade, waitFor, type TestListener } from "../../helpers/ws.js";

interface Client {
  ws: WebSocket;
  messages: { data: Buffer; binary: boolean }[];
  upgradeHeaders: IncomingMessage["headers"];
  closeCode: number | null;
  closeReason: string;
}

async function openClient(t: TestContext, url: string, opts: { deflate?: boolean } = {}): Promise<Client> {
  const ws = new WebSocket(url, { rejectUnauthorized: false, perMessageDeflate: opts.deflate ?? true });
  t.after(() => ws.terminate());
  const client: Client = { ws, messages: [], upgradeHeaders: {}, closeCode: null, closeReason: "" };
  ws.on("upgrade", (res: IncomingMessage) => (client.upgradeHeaders = res.headers));
  ws.on("message", (data: RawData, binary: boolean) => client.messages.push({ data: data as Buffer, binary }));
  ws.on("close", (code: number, reason: Buffer) => {
    client.closeCode = code;
    client.closeReason = reason.toString();
  });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return client;
}

const received = (c: Client): Buffer => Buffer.concat(c.messages.map((m) => m.data));

for (const secure of [false, true]) {
  describe(secure ? "wss (TLS)" : "ws (plain)", () => {
    async function setup(t: TestContext, extra: Parameters<typeof listen>[1] = {}): Promise<TestListener> {
      return listen(t, { tls: secure ? makeCert(t) : null, ...extra });
    }

    test("binary and text frames arrive as bytes; replies are binary frames", async (t) => {
      const l = await setup(t);
      const c = await openClient(t, l.url("/any/path"));
      c.ws.send(Buffer.from("PING\r\n"));
      c.ws.send("SUB foo 1\r\n"); // text frame
      await waitFor(() => received(c).length === 17, "echo of both frames");
      const a = l.accepted[0]!;
      assert.equal(a.received().toString(), "PING\r\nSUB foo 1\r\n");
      assert.deepEqual(c.messages.map((m) => m.binary), [true, true]);
      assert.equal(a.transport.kind, "websocket");
      assert.equal(a.transport.secure, secure);
      assert.equal(a.transport.remoteAddress, "127.0.0.1");
      assert.ok(a.transport.remotePort > 0);
      assert.equal(l.listener.stats.upgrades, 1);
      assert.equal(l.listener.stats.active, 1);
    });

    test("a 1 MiB message in 256 fragments reaches onData whole, and 1 MiB goes back intact", async (t) => {
      const l = await setup(t, { maxFrameBytes: 2 * 1024 * 1024 });
      const c = await openClient(t, l.url());
      const big = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
      const piece = big.length / 256;
      for (let i = 0; i < 256; i++) {
        c.ws.send(big.subarray(i * piece, (i + 1) * piece), { binary: true, fin: i === 255 });
      }
      await waitFor(() => received(c).length === big.length, "1 MiB echo", 30000);
      assert.ok(l.accepted[0]!.received().equals(big));
      assert.ok(received(c).equals(big));
    });
  });
}

describe("framing", () => {
  test("ops split across frames and sharing frames reach onData in order (docs/protocol.md#frames transcript)", async (t) => {
    const l = await listen(t, {}, false);
    const peer = await rawUpgrade(t, l.listener.port);
    const parts = ['CONNECT {"verbose":false,"protocol":1', ',"headers":true}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPI', "NG\r\n"];
    peer.socket.write(clientFrame(1, Buffer.from(parts[0]!)));
    peer.socket.write(Buffer.concat([clientFrame(2, Buffer.from(parts[1]!)), clientFrame(2, Buffer.from(parts[2]!))]));
    const want = parts.join("");
    await waitFor(() => l.accepted[0]?.received().length === want.length, "all three frames");
    assert.equal(l.accepted[0]!.received().toString(), want);
  });

  test("a fragmented message (text start, continuation frames) is one chunk", async (t) => {
    const l = await listen(t, {}, false);
    const peer = await rawUpgrade(t, l.listener.port);
    peer.socket.write(clientFrame(1, Buffer.from("PUB a 5\r\n"), { fin: false }));
    peer.socket.write(clientFrame(0, Buffer.from("hel"), { fin: false }));
    peer.socket.write(clientFrame(0, Buffer.from("lo\r\n")));
    await waitFor(() => l.accepted[0]?.chunks.length === 1, "reassembled message");
    assert.equal(l.accepted[0]!.received().toString(), "PUB a 5\r\nhello\r\n");
  });

  test("write() is one binary frame per call and writev() one frame per batch, never masked", async (t) => {
    const l = await listen(t, {}, false);
    const peer = await rawUpgrade(t, l.listener.port);
    await waitFor(() => l.accepted.length === 1, "accept");
    const tr = l.accepted[0]!.transport;
    assert.equal(tr.write(Buffer.from("INFO {} \r\n")), true);
    assert.equal(tr.writev([Buffer.from("MSG a 1 2\r\n"), Buffer.from("hi"), Buffer.from("\r\n")]), true);
    assert.equal(tr.writev([Buffer.from("PONG\r\n")]), true);
    await waitFor(() => peer.frames().length === 3, "three frames");
    const frames = peer.frames();
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.masked, f.rsv1, f.payload.toString()]),
      [
        [2, true, false, false, "INFO {} \r\n"],
        [2, true, false, false, "MSG a 1 2\r\nhi\r\n"],
        [2, true, false, false, "PONG\r\n"],
      ],
    );
  });

  test("a WebSocket ping is answered with a pong carrying the same payload", async (t) => {
    const l = await listen(t);
    const peer = await rawUpgrade(t, l.listener.port);
    peer.socket.write(clientFrame(9, Buffer.from("abc")));
    await waitFor(() => peer.frames().some((f) => f.opcode === 10), "pong");
    assert.equal(peer.frames().find((f) => f.opcode === 10)!.payload.toString(), "abc");
  });
});

describe("permessage-deflate", () => {
  test("on: the offer is accepted with no context takeover, and data round-trips", async (t) => {
    const l = await listen(t, { compression: true, maxFrameBytes: 1024 * 1024 });
    const c = await openClient(t, l.url());
    const ext = String(c.upgradeHeaders["sec-websocket-extensions"]);
    assert.match(ext, /^permessage-deflate/);
    assert.match(ext, /server_no_context_takeover/);
    assert.match(ext, /client_no_context_takeover/);
    const payload = Buffer.from("PUB choria.reply.x 10\r\n".repeat(4000));
    c.ws.send(payload);
    c.ws.send(Buffer.from("PING\r\n")); // under the 64-byte threshold: sent uncompressed
    await waitFor(() => received(c).length === payload.length + 6, "compressed echo", 30000);
    assert.ok(l.accepted[0]!.received().equals(Buffer.concat([payload, Buffer.from("PING\r\n")])));
    assert.ok(received(c).equals(Buffer.concat([payload, Buffer.from("PING\r\n")])));
  });

  test("off: the offer is ignored (no response header) and data round-trips uncompressed", async (t) => {
    const l = await listen(t, { compression: false });
    const c = await openClient(t, l.url());
    assert.equal(c.upgradeHeaders["sec-websocket-extensions"], undefined);
    assert.equal(c.ws.extensions, "");
    c.ws.send(Buffer.from("x".repeat(5000)));
    await waitFor(() => received(c).length === 5000, "echo");
    assert.equal(received(c).toString(), "x".repeat(5000));
  });

  test("on, client offers nothing: no extension header", async (t) => {
    const l = await listen(t, { compression: true });
    const c = await openClient(t, l.url(), { deflate: false });
    assert.equal(c.upgradeHeaders["sec-websocket-extensions"], undefined);
  });
});

describe("closing", () => {
  const cases: ReadonlyArray<{ name: string; act: (l: TestListener) => unknown; code: number; reason: string }> = [
    { name: "end() sends close 1000", act: (l) => l.accepted[0]!.transport.end(), code: 1000, reason: "" },
    {
      name: "end(1001, 'Server Shutdown') sends that code and reason",
      act: (l) => (l.accepted[0]!.transport as unknown as { end(c: number, r: string): void }).end(1001, "Server Shutdown"),
      code: 1001,
      reason: "Server Shutdown",
    },
    { name: "destroy() drops the socket (1006 at the client)", act: (l) => l.accepted[0]!.transport.destroy(), code: 1006, reason: "" },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const l = await listen(t);
      const client = await openClient(t, l.url());
      await waitFor(() => l.accepted.length === 1, "accept");
      await c.act(l);
      await waitFor(() => client.closeCode !== null && l.accepted[0]!.closed, "close on both sides");
      assert.equal(client.closeCode, c.code);
      assert.equal(client.closeReason, c.reason);
      assert.equal(l.accepted[0]!.closeError, undefined);
      assert.equal(l.listener.stats.active, 0);
    });
  }

  test("end() flushes what was written before the close frame", async (t) => {
    const l = await listen(t, {}, false);
    const client = await openClient(t, l.url());
    await waitFor(() => l.accepted.length === 1, "accept");
    const tr = l.accepted[0]!.transport;
    tr.write(Buffer.from("-ERR 'Authorization Violation'\r\n"));
    tr.end();
    await waitFor(() => client.closeCode !== null, "close");
    assert.equal(received(client).toString(), "-ERR 'Authorization Violation'\r\n");
    assert.equal(client.closeCode, 1000);
  });

  test("a client close is reported once through onClose, without error", async (t) => {
    const l = await listen(t);
    const client = await openClient(t, l.url());
    await waitFor(() => l.accepted.length === 1, "accept");
    let calls = 0;
    l.accepted[0]!.transport.onClose(() => calls++);
    client.ws.close(1000);
    await waitFor(() => calls === 1, "onClose");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 1);
    // registered after the fact: still called, once
    let late = 0;
    l.accepted[0]!.transport.onClose(() => late++);
    await waitFor(() => late === 1, "late onClose");
  });
});

describe("transport contract", () => {
  test("pause() holds inbound messages; resume() delivers them in order", async (t) => {
    const l = await listen(t, {}, false);
    const peer = await rawUpgrade(t, l.listener.port);
    await waitFor(() => l.accepted.length === 1, "accept");
    const a = l.accepted[0]!;
    a.transport.pause();
    peer.socket.write(Buffer.concat([clientFrame(2, Buffer.from("SUB a 1\r\n")), clientFrame(2, Buffer.from("PING\r\n"))]));
    // Give the bytes every chance to arrive; none may be delivered while paused.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.chunks.length, 0);
    a.transport.resume();
    await waitFor(() => a.received().length === 15, "held messages");
    assert.equal(a.received().toString(), "SUB a 1\r\nPING\r\n");
  });

  test("an AcceptHandler that throws costs only its connection", async (t) => {
    let calls = 0;
    const l = await listen(t, {
      onAccept: () => {
        calls++;
        throw new Error("handler bug");
      },
    });
    const peer = await rawUpgrade(t, l.listener.port);
    await waitFor(() => peer.closed(), "connection dropped");
    const again = await rawUpgrade(t, l.listener.port);
    await waitFor(() => again.closed(), "second connection dropped too");
    assert.equal(calls, 2);
    assert.equal(l.listener.stats.active, 0);
  });

  test("admission as on the TLS port: one address's silent sockets wait behind its limit, the queue is bounded, others get in at once", async (t) => {
    const l = await listen(t, { maxHandshakes: 2, maxWaiting: 3, handshakeTimeout: 2000 });
    const silent: Awaited<ReturnType<typeof rawConnect>>[] = [];
    for (let i = 0; i < 5; i++) silent.push(await rawConnect(t, l.listener.port));
    await waitFor(() => l.listener.stats.handshaking === 2, "two sockets in their handshake");
    // All from 127.0.0.1: two in their handshake, three waiting (every place of the queue).
    const sixth = await rawConnect(t, l.listener.port);
    await waitFor(() => sixth.closed(), "a sixth socket closed at once: the queue is full");
    assert.equal(l.listener.refused.queue_full, 1);
    assert.equal(l.listener.stats.handshaking, 2, "the waiting ones never started a handshake clock");
    // Another address is admitted at once (127.0.0.2 is loopback too).
    const other = new WebSocket(`ws://127.0.0.1:${l.listener.port}/`, { localAddress: "127.0.0.2" });
    t.after(() => other.terminate());
    await new Promise((resolve, reject) => {
      other.once("open", resolve);
      other.once("error", reject);
    });
    assert.equal(l.accepted.length, 1);
    // The handshakes time out; the waiting sockets then get their turn and time out in turn.
    await waitFor(() => silent.every((s) => s.closed()), "every silent socket closed", 30000);
    assert.ok((l.listener.stats.rejected.handshake_timeout ?? 0) >= 2);
  });

  test("listener close() drops sockets still in their handshake and is idempotent", async (t) => {
    const l = await listen(t);
    const silent = await rawConnect(t, l.listener.port);
    await waitFor(() => l.listener.stats.handshaking === 1, "socket accepted");
    const first = l.listener.close();
    assert.equal(l.listener.close(), first);
    await first;
    await waitFor(() => silent.closed(), "handshaking socket dropped");
    assert.equal(l.listener.stats.handshaking, 0);
    assert.deepEqual(l.listener.stats.rejected, {}); // shutdown is not a refusal
  });

  test("a port already in use rejects startWsListener", async (t) => {
    const l = await listen(t);
    await assert.rejects(listen(t, { port: l.listener.port }), { code: "EADDRINUSE" });
  });
});

describe("listener lifecycle", () => {
  test("close() stops accepting but leaves open WebSockets to their owners", async (t) => {
    const l = await listen(t);
    const c = await openClient(t, l.url());
    await l.listener.close();
    c.ws.send(Buffer.from("PING\r\n"));
    await waitFor(() => received(c).length === 6, "echo after close()");
    assert.equal(l.listener.stats.active, 1);
    const late = new WebSocket(l.url());
    t.after(() => late.terminate());
    const failed = await new Promise<boolean>((resolve) => {
      late.once("open", () => resolve(false));
      late.once("error", () => resolve(true));
    });
    assert.equal(failed, true);
  });

  test("reloadCertificate() serves the new certificate to new connections", async (t) => {
    const first = makeCert(t);
    const l = await listen(t, { tls: first });
    const fingerprint = async (): Promise<string> => {
      const sock = tlsConnect({ host: "127.0.0.1", port: l.listener.port, rejectUnauthorized: false });
      t.after(() => void sock.destroy());
      await new Promise<void>((resolve, reject) => {
        sock.once("secureConnect", resolve);
        sock.once("error", reject);
      });
      const fp = sock.getPeerCertificate().fingerprint256;
      sock.destroy();
      return fp;
    };
    const before = await fingerprint();
    l.listener.reloadCertificate(makeCert(t));
    const after = await fingerprint();
    assert.notEqual(after, before);
    assert.throws(() => l.listener.reloadCertificate({ cert: "/nonexistent.pem", key: "/nonexistent.pem" }));
    assert.equal(await fingerprint(), after); // a failed reload keeps the current certificate
  });
});
