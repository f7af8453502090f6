/**
 * A raw TLS client for wire tests: reads the clear-text INFO, upgrades to TLS
 * the way NATS clients do, then lets a test send bytes and wait for exact
 * protocol lines (nats-server test/test.go send/expect style).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { readFileSync } from "node:fs";

export interface RawClient {
  info: Record<string, unknown>;
  send(s: string | Uint8Array): void;
  /** Wait until the received text (since the last expect) matches; returns it and consumes it. */
  expect(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Everything received and not yet consumed. */
  readonly buffer: string;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Stop reading from the socket (a slow consumer). */
  pauseReading(): void;
  close(): void;
}

/** The first line a NATS server sends (INFO, in clear text), without CRLF; the socket is left paused after it. */
export function readInfoLine(plain: Socket): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let acc = "";
    const onData = (b: Buffer) => {
      acc += b.toString("latin1");
      const i = acc.indexOf("\r\n");
      if (i >= 0) {
        plain.off("data", onData);
        plain.pause();
        resolve(acc.slice(0, i));
      }
    };
    plain.on("data", onData);
    plain.once("error", reject);
  });
}

export async function rawConnect(port: number, ca: string, opts: { tls?: boolean } = {}): Promise<RawClient> {
  const plain: Socket = netConnect(port, "127.0.0.1");
  const infoLine = await readInfoLine(plain);
  const info = JSON.parse(infoLine.replace(/^INFO /, "").trim()) as Record<string, unknown>;
  let sock: Socket | TLSSocket = plain;
  if (opts.tls !== false) {
    const tls = tlsConnect({ socket: plain, ca: readFileSync(ca), servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    sock = tls;
  }
  let buf = "";
  let closed = false;
  const waiters: (() => void)[] = [];
  const closedP = new Promise<void>((resolve) => sock.once("close", () => {
    closed = true;
    resolve();
    for (const w of waiters.splice(0)) w();
  }));
  sock.on("data", (b: Buffer) => {
    buf += b.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  sock.on("error", () => {});
  sock.resume();
  return {
    info,
    send: (s) => void sock.write(s),
    get buffer() {
      return buf;
    },
    async expect(re, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(buf);
        if (m) {
          const end = m.index + m[0].length;
          const got = buf.slice(0, end);
          buf = buf.slice(end);
          return got;
        }
        if (closed) throw new Error(`connection closed before ${re}; got ${JSON.stringify(buf)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timeout waiting for ${re}; got ${JSON.stringify(buf)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    closed: closedP,
    isClosed: () => closed,
    pauseReading: () => void sock.pause(),
    close: () => sock.destroy(),
  };
}
