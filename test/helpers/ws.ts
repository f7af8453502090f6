/**
 * Shared pieces for the WebSocket listener tests: a self-signed certificate
 * made with openssl per run, a listener started on an ephemeral port with a
 * recording AcceptHandler (optionally echoing), a raw-socket upgrade for tests
 * that must send bytes `ws` would refuse to produce, a client frame builder, a
 * server frame reader, and a deadline-based poll instead of sleeps.
 */
import type { TestContext } from "node:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { startWsListener, type WsListener, type WsListenerOptions } from "../../src/transport/ws_listener.js";
import type { Transport } from "../../src/transport/transport.js";
import { nullLogger } from "../../src/obs/log.js";

export interface TestCert {
  cert: string;
  key: string;
}

/** A throwaway self-signed certificate for 127.0.0.1, removed after the test. */
export function makeCert(t: TestContext): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "ws-cert-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
  ], { stdio: "ignore" });
  return { cert, key };
}

/** One accepted transport and what happened to it. */
export interface Accepted {
  transport: Transport;
  chunks: Buffer[];
  closed: boolean;
  closeError: Error | undefined;
  received(): Buffer;
}

export interface TestListener {
  listener: WsListener;
  accepted: Accepted[];
  url(path?: string): string;
}

/**
 * Starts a listener on 127.0.0.1:0; `echo` writes every inbound chunk back.
 * Each accepted transport is told its peer logged in (the limits after login
 * apply) unless `loggedIn` is false.
 */
export async function listen(
  t: TestContext,
  overrides: Partial<WsListenerOptions> = {},
  echo = true,
  loggedIn = true,
): Promise<TestListener> {
  const accepted: Accepted[] = [];
  const listener = await startWsListener({
    host: "127.0.0.1",
    port: 0,
    tls: null,
    allowHosts: null,
    compression: false,
    allowedOrigins: [],
    handshakeTimeout: 5000,
    maxFrameBytes: 64 * 1024,
    // Raw peers never answer a close frame; don't let every teardown wait 5 s.
    closeTimeout: 500,
    log: nullLogger,
    onAccept: (transport) => {
      const rec: Accepted = {
        transport,
        chunks: [],
        closed: false,
        closeError: undefined,
        received: () => Buffer.concat(rec.chunks),
      };
      if (loggedIn) transport.loggedIn?.();
      transport.onData((chunk) => {
        rec.chunks.push(Buffer.from(chunk));
        if (echo) transport.write(chunk);
      });
      transport.onClose((err) => {
        rec.closed = true;
        rec.closeError = err;
      });
      accepted.push(rec);
    },
    ...overrides,
  });
  t.after(() => listener.close());
  const scheme = overrides.tls ? "wss" : "ws";
  return { listener, accepted, url: (path = "/") => `${scheme}://127.0.0.1:${listener.port}${path}` };
}

/** Polls `cond` until it holds; fails with `what` after a generous deadline. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw TCP socket that collects everything it reads, and notes when it closes. */
export interface RawPeer {
  socket: Socket;
  data(): Buffer;
  closed(): boolean;
}

export async function rawConnect(t: TestContext, port: number): Promise<RawPeer> {
  const socket = connect(port, "127.0.0.1");
  t.after(() => void socket.destroy());
  const parts: Buffer[] = [];
  let isClosed = false;
  socket.on("data", (d: Buffer) => parts.push(d));
  socket.on("error", () => {});
  socket.on("close", () => (isClosed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, data: () => Buffer.concat(parts), closed: () => isClosed };
}

export function upgradeRequest(headers: Record<string, string | undefined> = {}, method = "GET", path = "/"): string {
  const base: Record<string, string | undefined> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  let text = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(base)) if (v !== undefined) text += `${k}: ${v}\r\n`;
  return text + "\r\n";
}

/** Status code of the HTTP response in `data`, or null until the header is complete. */
export function httpStatus(data: Buffer): number | null {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(data.subarray(0, end).toString("latin1"));
  return m ? Number(m[1]) : null;
}

/** Raw socket past a successful 101; `frames()` parses what the server sent after it. */
export async function rawUpgrade(t: TestContext, port: number): Promise<RawPeer & { frames(): ServerFrame[] }> {
  const peer = await rawConnect(t, port);
  peer.socket.write(upgradeRequest());
  await waitFor(() => httpStatus(peer.data()) !== null, "101 response");
  if (httpStatus(peer.data()) !== 101) throw new Error(`upgrade failed: ${peer.data().toString("latin1")}`);
  return {
    ...peer,
    frames: () => {
      const all = peer.data();
      return parseServerFrames(all.subarray(all.indexOf("\r\n\r\n") + 4));
    },
  };
}

/** A client → server frame; masked unless told otherwise (RFC 6455 section 5.2). */
export function clientFrame(opcode: number, payload: Uint8Array, opts: { mask?: boolean; fin?: boolean } = {}): Buffer {
  const mask = opts.mask ?? true;
  const fin = opts.fin ?? true;
  const len = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses complete (unmasked) server frames; a trailing partial frame is ignored. */
export function parseServerFrames(buf: Buffer): ServerFrame[] {
  const out: ServerFrame[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    const b0 = buf[i]!;
    const b1 = buf[i + 1]!;
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) {
      if (p + 2 > buf.length) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (p + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) p += 4;
    if (p + len > buf.length) break;
    out.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, payload: buf.subarray(p, p + len) });
    i = p + len;
  }
  return out;
}

/** The status code of the first close frame the server sent, or null. */
export function closeCode(frames: ServerFrame[]): number | null {
  const f = frames.find((x) => x.opcode === 8);
  return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
}
