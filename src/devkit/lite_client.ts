/**
 * A small NATS client, just enough for `aaa-leafnode demo` to run from the
 * installed package, where the official client (a devDependency) is absent:
 * INFO then an optional TLS upgrade (nats-server 2.9 order), CONNECT with a
 * Choria client's `auth_token` and nonce `sig` when credentials are given, a
 * PING barrier, then SUB/UNSUB/PUB out and MSG/PING/PONG/+OK/-ERR in (no
 * headers). A `-ERR 'Permissions Violation for Subscription to "S"'` goes to
 * the callback of the subscriptions on S, as the official client does. The
 * tests and benchmarks keep using the official client; the demo's fleet, hub
 * witness and callers use this one, through the DevConnection shape both have.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { signNonce } from "../auth/mint.js";
import { VERSION } from "../version.js";

/** A received message. */
export interface DevMsg {
  subject: string;
  reply?: string;
  data: Uint8Array;
  /** Publish `data` to the reply subject; false when there is none. */
  respond(data: Uint8Array): boolean;
}

export type DevCallback = (err: Error | null, m: DevMsg) => void;

/** What the demo and the fleet need of a NATS connection (the official client's NatsConnection has it too). */
export interface DevConnection {
  subscribe(subject: string, opts: { callback: DevCallback }): { unsubscribe(): void };
  publish(subject: string, data: Uint8Array, opts?: { reply?: string }): void;
  request(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<DevMsg>;
  /** Resolves when the server has processed everything sent before (PING/PONG). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface LiteConnectOptions {
  /** nats://host:port or tls://host:port */
  url: string;
  name: string;
  /** CA file that verifies the server's certificate (TLS). */
  ca?: string;
  /** A Choria client's token and the hex seed of its key: sent as auth_token and the signed nonce. */
  credentials?: { token: string; seedHex: string };
  /** Deadline of the whole handshake (default 10 s). */
  timeoutMs?: number;
}

const CRLF = Buffer.from("\r\n");
const SUB_VIOLATION = /^Permissions Violation for Subscription to "(.*)"$/;

/** Connect, authenticate and wait for the server's PONG; rejects with the server's -ERR text. */
export async function connectLite(opts: LiteConnectOptions): Promise<DevConnection> {
  const url = new URL(opts.url);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 4222);
  const raw = netConnect({ host, port });
  raw.setNoDelay(true);
  const conn = new LiteConnection();
  const timer = setTimeout(() => raw.destroy(new Error(`no answer from ${opts.url} within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
  try {
    const info = await readInfo(raw);
    let sock: Socket = raw;
    if (url.protocol === "tls:" || info.tls_required === true) {
      sock = await new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ socket: raw, host, servername: isIP(host) ? undefined : host, ca: opts.ca ? readFileSync(opts.ca) : undefined });
        s.once("secureConnect", () => resolve(s));
        s.once("error", reject);
      });
    }
    const connect: Record<string, unknown> = {
      verbose: false, pedantic: false, protocol: 1, headers: false, lang: "aaa-leafnode-devkit", version: VERSION,
      name: opts.name, tls_required: sock !== raw,
    };
    if (opts.credentials) {
      connect.auth_token = opts.credentials.token;
      connect.sig = signNonce(opts.credentials.seedHex, typeof info.nonce === "string" ? info.nonce : "");
    }
    await conn.start(sock, `CONNECT ${JSON.stringify(connect)}\r\n`);
    return conn;
  } catch (err) {
    raw.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The INFO line, read before anything else is sent (the socket stays paused afterwards). */
function readInfo(sock: Socket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const lf = buf.indexOf(0x0a);
      if (lf < 0) return;
      sock.removeListener("data", onData);
      sock.pause();
      const line = buf.subarray(0, lf).toString("utf8").trim();
      if (!line.startsWith("INFO ")) reject(new Error(`expected INFO, got ${JSON.stringify(line.slice(0, 80))}`));
      else resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
    };
    sock.on("data", onData);
    sock.once("error", reject);
    sock.once("close", () => reject(new Error("the server closed the connection before INFO")));
  });
}

class LiteConnection implements DevConnection {
  private sock!: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private nextSid = 1;
  private readonly subs = new Map<number, { subject: string; callback: DevCallback }>();
  private readonly pongs: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private closedWith: Error | null = null;
  /** The last -ERR text: the reason given when the server then closes the connection. */
  private lastError: string | undefined;

  /** Send CONNECT and a PING; resolves on the PONG, rejects on -ERR or close. */
  start(sock: Socket, connectLine: string): Promise<void> {
    this.sock = sock;
    sock.on("data", (chunk: Buffer) => this.read(chunk));
    sock.on("error", (err) => this.fail(err));
    sock.on("close", () => this.fail(new Error(this.lastError ?? "connection closed")));
    sock.resume();
    sock.write(connectLine);
    return this.flush();
  }

  subscribe(subject: string, opts: { callback: DevCallback }): { unsubscribe(): void } {
    const sid = this.nextSid++;
    this.subs.set(sid, { subject, callback: opts.callback });
    this.write(`SUB ${subject} ${sid}\r\n`);
    return {
      unsubscribe: () => {
        if (this.subs.delete(sid)) this.write(`UNSUB ${sid}\r\n`);
      },
    };
  }

  publish(subject: string, data: Uint8Array, opts: { reply?: string } = {}): void {
    const head = opts.reply ? `PUB ${subject} ${opts.reply} ${data.length}\r\n` : `PUB ${subject} ${data.length}\r\n`;
    if (this.closedWith) return;
    this.sock.write(Buffer.concat([Buffer.from(head), data, CRLF]));
  }

  request(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<DevMsg> {
    const inbox = `_INBOX.${randomBytes(12).toString("hex")}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`request on ${subject}: no reply within ${opts.timeout} ms`));
      }, opts.timeout);
      const sub = this.subscribe(inbox, {
        callback: (err, m) => {
          clearTimeout(timer);
          sub.unsubscribe();
          if (err) reject(err);
          else resolve(m);
        },
      });
      this.publish(subject, data, { reply: inbox });
    });
  }

  flush(): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.pongs.push({ resolve, reject });
      this.sock.write("PING\r\n");
    });
  }

  close(): Promise<void> {
    if (this.closedWith) return Promise.resolve();
    return new Promise((resolve) => {
      this.sock.once("close", () => resolve());
      this.sock.end();
    });
  }

  private write(line: string): void {
    if (!this.closedWith) this.sock.write(line);
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const p of this.pongs.splice(0)) p.reject(err);
  }

  /** Ops in arrival order; an op split across reads waits in `buf`. */
  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf < 0) return;
      const line = this.buf.subarray(0, lf).toString("utf8").replace(/\r$/, "");
      const op = line.split(" ", 1)[0]!.toUpperCase();
      if (op === "MSG") {
        // MSG <subject> <sid> [reply] <#bytes>
        const args = line.split(" ").filter(Boolean);
        const size = Number(args.at(-1));
        if (this.buf.length < lf + 1 + size + 2) return;
        const data = Uint8Array.from(this.buf.subarray(lf + 1, lf + 1 + size));
        this.buf = this.buf.subarray(lf + 1 + size + 2);
        this.deliver(Number(args[2]), args[1]!, args.length === 5 ? args[3] : undefined, data);
        continue;
      }
      this.buf = this.buf.subarray(lf + 1);
      if (op === "PING") this.write("PONG\r\n");
      else if (op === "PONG") this.pongs.shift()?.resolve();
      else if (op === "-ERR") this.serverError(line.slice(4).trim().replace(/^'|'$/g, ""));
    }
  }

  private deliver(sid: number, subject: string, reply: string | undefined, data: Uint8Array): void {
    const sub = this.subs.get(sid);
    if (!sub) return;
    const respond = (body: Uint8Array) => {
      if (!reply) return false;
      this.publish(reply, body);
      return true;
    };
    sub.callback(null, reply === undefined ? { subject, data, respond } : { subject, reply, data, respond });
  }

  /** A refused subscription goes to its callback; any other -ERR is kept as the reason of a close that follows. */
  private serverError(text: string): void {
    this.lastError = text;
    const refused = SUB_VIOLATION.exec(text);
    if (!refused) return;
    for (const sub of this.subs.values()) {
      if (sub.subject === refused[1]) sub.callback(new Error(text), { subject: sub.subject, data: new Uint8Array(0), respond: () => false });
    }
  }
}
