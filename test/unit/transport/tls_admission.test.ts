/**
 * Handshake admission on the client TLS listener, against a busy client: one
 * client process opens several connections at once but can only work on one
 * at a time (it takes BUSY_MS before it starts each TLS handshake, as a loaded
 * process with a queue of handshakes does). With every INFO sent at accept,
 * the server's handshake clock runs while the client is still busy with the
 * others, and the later connections are dropped before the client even starts
 * their handshake (the client sees EPIPE or a reset). With admission, an INFO
 * goes out only when a handshake slot is free, so each clock measures one
 * handshake and every connection completes INFO → TLS → PING → PONG. Also:
 * waiting sockets that go away are forgotten, and close() drops the ones
 * still waiting; waiting is bounded in time (a waiting socket is closed
 * without INFO after `waitTimeout`) and listener-wide (one queue for every
 * address, so neither one address nor many can hold more sockets than it).
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { getPki } from "../../helpers/pki.js";
import { nullLogger } from "../../../src/obs/log.js";
import { startTlsListener, type TlsListener } from "../../../src/transport/tls_listener.js";

const TLS_TIMEOUT_MS = 2000;
/** How long the busy client takes before it starts each handshake. */
const BUSY_MS = 600;
/** Connections the client opens at once: the last would start its handshake 3.6 s after an early INFO. */
const CONNECTIONS = 6;

/** A listener that says INFO, answers PING with PONG once TLS is up, and counts handshake timeouts. */
async function pingListener(
  t: TestContext,
  maxHandshakes: number,
  maxWaiting?: number,
  waitTimeout?: number,
): Promise<TlsListener & { timeouts: () => number }> {
  const pki = await getPki();
  let timeouts = 0;
  const l = await startTlsListener({
    host: "127.0.0.1",
    port: 0,
    tls: { cert: pki.gateway.cert, key: pki.gateway.key },
    tlsTimeout: TLS_TIMEOUT_MS,
    allowHosts: null,
    log: nullLogger,
    maxHandshakes,
    ...(maxWaiting === undefined ? {} : { maxWaiting }),
    ...(waitTimeout === undefined ? {} : { waitTimeout }),
    onAccept: (tr) => {
      tr.onData((chunk) => {
        if (Buffer.from(chunk).toString().includes("PING")) tr.write(Buffer.from("PONG\r\n"));
      });
      tr.onClose((err) => {
        if (err?.message.includes("timeout")) timeouts++;
      });
      tr.write(Buffer.from('INFO {"tls_required":true}\r\n'));
    },
  });
  t.after(() => l.close());
  return Object.assign(l, { timeouts: () => timeouts });
}

/** TCP connected; resolves when the INFO line has arrived (the client then owns what happens next). */
function openRaw(port: number, from?: string): { socket: Socket; info: Promise<void> } {
  const socket = netConnect({ port, host: "127.0.0.1", ...(from === undefined ? {} : { localAddress: from }) });
  socket.on("error", () => {});
  const info = new Promise<void>((resolve) => {
    let seen = "";
    const onData = (b: Buffer): void => {
      seen += b.toString();
      if (!seen.includes("\r\n")) return;
      // Still reading (nothing else comes before the client's TLS): a server that gives up is seen at once.
      socket.off("data", onData);
      resolve();
    };
    socket.on("data", onData);
  });
  return { socket, info };
}

/** TLS over `socket`, then PING → PONG; resolves "ok" or the error code the client saw. */
function handshakeAndPing(socket: Socket): Promise<string> {
  // The server closed it while the client was busy: writing its ClientHello now is what gives a real client EPIPE.
  if (socket.destroyed || socket.readableEnded) return Promise.resolve("closed before the client's handshake");
  return new Promise((resolve) => {
    const tls = tlsConnect({ socket, rejectUnauthorized: false });
    // A server that gave up on this connection may leave nothing to read: do not wait forever.
    const stuck = setTimeout(() => fail("no answer"), 3 * TLS_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(stuck);
      tls.destroy();
      resolve(why);
    };
    tls.once("error", (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    tls.once("close", () => fail("closed"));
    tls.once("secureConnect", () => {
      tls.write("PING\r\n");
      tls.on("data", (b: Buffer) => {
        if (b.toString().includes("PONG")) {
          clearTimeout(stuck);
          tls.removeAllListeners("close");
          tls.destroy();
          resolve("ok");
        }
      });
    });
  });
}

/**
 * The busy client: opens every connection at once, then, one at a time and in
 * the order their INFO arrives, spends BUSY_MS and does the handshake and a PING.
 */
async function busyClient(t: TestContext, port: number): Promise<string[]> {
  const conns = Array.from({ length: CONNECTIONS }, () => openRaw(port));
  t.after(() => {
    for (const c of conns) c.socket.destroy();
  });
  const results: string[] = [];
  const pending = new Set(conns);
  while (pending.size > 0) {
    const next = await Promise.race([...pending].map((c) => c.info.then(() => c)));
    pending.delete(next);
    await new Promise((r) => setTimeout(r, BUSY_MS));
    results.push(await handshakeAndPing(next.socket));
  }
  return results;
}

describe("TLS handshake admission", () => {
  test("with every INFO sent at accept, a busy client loses its later connections (the clock ran while it was busy)", async (t) => {
    const l = await pingListener(t, CONNECTIONS);
    const results = await busyClient(t, l.port);
    const failed = results.filter((r) => r !== "ok");
    assert.ok(failed.length >= 1, `expected drops without admission, got ${results.join(", ")}`);
    assert.ok(l.timeouts() >= failed.length, `the server timed those handshakes out (${l.timeouts()})`);
  });

  test("with one handshake admitted at a time, every connection of the busy client completes TLS and PING/PONG", async (t) => {
    const l = await pingListener(t, 1);
    const results = await busyClient(t, l.port);
    assert.deepEqual(results, Array(CONNECTIONS).fill("ok"));
    assert.equal(l.timeouts(), 0);
    assert.deepEqual(l.handshakes, { running: 0, waiting: 0 });
  });

  test("a waiting socket that goes away is forgotten; close() drops the ones still waiting", async (t) => {
    const l = await pingListener(t, 1);
    const first = openRaw(l.port);
    await first.info; // holds the only slot: it never starts TLS
    const quitter = openRaw(l.port);
    const stayer = openRaw(l.port);
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(ok(), what);
    };
    await until("two sockets waiting", () => l.handshakes.waiting === 2);
    assert.equal(l.handshakes.running, 1);
    quitter.socket.destroy();
    await until("the closed waiter forgotten", () => l.handshakes.waiting === 1);
    const stayerClosed = new Promise<void>((resolve) => stayer.socket.once("close", () => resolve()));
    const closing = l.close();
    assert.equal(l.handshakes.waiting, 0, "close() dropped the waiting socket at once");
    await stayerClosed; // and the peer sees it closed, without ever getting INFO
    first.socket.destroy(); // the admitted one belongs to its owner: close() waits for it
    await closing;
    assert.equal(l.handshakes.waiting, 0);
  });

  test("the limit is per address: sockets from one address that never start TLS delay nobody else, and their queue is bounded", async (t) => {
    const l = await pingListener(t, 1, 2);
    // 127.0.0.1 takes its one slot with a socket that never starts TLS, and two more wait.
    const squatters = [openRaw(l.port), openRaw(l.port), openRaw(l.port)];
    t.after(() => {
      for (const c of squatters) c.socket.destroy();
    });
    await squatters[0]!.info;
    while (l.handshakes.waiting < 2) await new Promise((r) => setTimeout(r, 20));
    // A fourth from the same address finds the queue full and is closed at once.
    const overflow = openRaw(l.port);
    await new Promise<void>((resolve) => overflow.socket.once("close", () => resolve()));
    assert.deepEqual(l.handshakes, { running: 1, waiting: 2 });
    // Another address is admitted at once, while the squatter's slot has not timed out yet.
    const other = openRaw(l.port, "127.0.0.2");
    await other.info;
    assert.equal(l.timeouts(), 0, "the other address did not wait for the squatter's clock");
    assert.equal(await handshakeAndPing(other.socket), "ok");
  });
});

/** A raw socket that records whether it received any byte and when it closed. */
function silent(port: number, from?: string): { socket: Socket; got: () => number; closed: Promise<void> } {
  const { socket } = openRaw(port, from);
  let bytes = 0;
  socket.on("data", (b: Buffer) => (bytes += b.length));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, got: () => bytes, closed };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(ok(), what);
}

describe("bounded waiting (queued sockets hold a descriptor and nothing else, for a bounded time)", () => {
  test("a waiting socket is closed, without INFO, once it has waited waitTimeout", async (t) => {
    // The one slot is held by a socket that never starts TLS (for TLS_TIMEOUT_MS, renewed by the next waiter without the deadline).
    const l = await pingListener(t, 1, undefined, 1000);
    const squatter = openRaw(l.port);
    t.after(() => squatter.socket.destroy());
    await squatter.info;
    const waiters = Array.from({ length: 10 }, () => silent(l.port));
    t.after(() => {
      for (const w of waiters) w.socket.destroy();
    });
    await until("ten waiting", () => l.handshakes.waiting === 10);
    const started = Date.now();
    await Promise.race([Promise.all(waiters.map((w) => w.closed)), new Promise((r) => setTimeout(r, 4 * TLS_TIMEOUT_MS))]);
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(waiters.map((w) => w.socket.destroyed), Array(10).fill(true), `every waiter closed by the server (after ${seconds} s)`);
    assert.deepEqual(waiters.map((w) => w.got()), Array(10).fill(0), "none of them got an INFO");
    assert.equal(l.refused.queue_timeout, 10);
    assert.equal(l.handshakes.waiting, 0);
  });

  test("the queue is one for the whole listener: once it is full another address's extra socket is closed, its first is admitted", async (t) => {
    const l = await pingListener(t, 1, 3);
    const squatters = [silent(l.port), silent(l.port), silent(l.port), silent(l.port)];
    t.after(() => {
      for (const s of squatters) s.socket.destroy();
    });
    await until("127.0.0.1 holds its slot and fills the queue", () => l.handshakes.running === 1 && l.handshakes.waiting === 3);
    // A second address: its first socket needs no queue and is admitted at once.
    const first = openRaw(l.port, "127.0.0.2");
    t.after(() => first.socket.destroy());
    await first.info;
    // Its second would have to wait, and there is no room left anywhere: closed at once, counted.
    const second = silent(l.port, "127.0.0.2");
    t.after(() => second.socket.destroy());
    await Promise.race([second.closed, new Promise((r) => setTimeout(r, TLS_TIMEOUT_MS / 2))]);
    assert.ok(second.socket.destroyed, "the socket beyond the listener-wide queue is closed at once");
    assert.equal(second.got(), 0);
    assert.equal(l.refused.queue_full, 1);
    assert.deepEqual(l.handshakes, { running: 2, waiting: 3 });
    // A third address still gets through the whole way.
    const third = openRaw(l.port, "127.0.0.3");
    await third.info;
    assert.equal(await handshakeAndPing(third.socket), "ok");
  });
});
