/**
 * A hand-driven wss client for the end-to-end tests that must control the
 * bytes on the wire: TLS to the gateway's WebSocket port, the HTTP upgrade,
 * then client frames built and masked here (split across TCP writes,
 * fragmented, ...) and the server's frames parsed back into the NATS byte
 * stream, so a test can send protocol text and wait for exact replies. The
 * frame builder and parser are the transport unit tests' own (test/helpers/ws.ts).
 */
import { readFileSync } from "node:fs";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { TestContext } from "node:test";
import { signNonce } from "../../src/auth/mint.js";
import { clientFrame, closeCode, httpStatus, parseServerFrames, upgradeRequest, type ServerFrame } from "../helpers/ws.js";

const OP_BINARY = 2;

export interface RawWss {
  socket: TLSSocket;
  /** The server's first frame, parsed (`INFO {...}`). */
  info: Record<string, unknown>;
  /** Write bytes as one TCP write. */
  write(bytes: Uint8Array): Promise<void>;
  /** Write `bytes` in pieces cut at `cuts`, each piece flushed to the kernel and followed by `gapMs`. */
  writeSplit(bytes: Uint8Array, cuts: number[], gapMs?: number): Promise<void>;
  /** One masked binary frame carrying `text`. */
  sendText(text: string | Uint8Array): Promise<void>;
  /** Wait until the NATS text received (since the last expect) matches; consumes it. */
  expect(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Every server frame received so far (after the 101). */
  frames(): ServerFrame[];
  /** The status code of the server's close frame, or null. */
  closeCode(): number | null;
  /** Resolves when the TCP connection has closed. */
  closed: Promise<void>;
  /** Send CONNECT with `token`, the nonce signed by `seedHex`, then PING; resolves on PONG. */
  login(token: string, seedHex: string): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Open a wss connection to `port`, upgrade it, and read the INFO frame. */
export async function rawWss(t: TestContext, port: number, caFile: string, headers: Record<string, string> = {}): Promise<RawWss> {
  const socket = tlsConnect({ host: "127.0.0.1", port, ca: readFileSync(caFile), servername: "localhost" });
  socket.setNoDelay(true);
  t.after(() => void socket.destroy());
  const parts: Buffer[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  socket.on("data", (d: Buffer) => { parts.push(d); wake(); });
  socket.on("error", () => {});
  let isClosed = false;
  const closed = new Promise<void>((resolve) => socket.once("close", () => { isClosed = true; wake(); resolve(); }));
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });

  const all = () => Buffer.concat(parts);
  const waitUntil = async (cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (isClosed) throw new Error(`connection closed while waiting for ${what}; got ${JSON.stringify(text())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(text())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  };

  socket.write(upgradeRequest(headers));
  await waitUntil(() => httpStatus(all()) !== null, "the HTTP response");
  if (httpStatus(all()) !== 101) throw new Error(`upgrade refused: ${all().toString("latin1")}`);
  const frames = (): ServerFrame[] => {
    const b = all();
    return parseServerFrames(b.subarray(b.indexOf("\r\n\r\n") + 4));
  };
  // The NATS byte stream: every data frame's payload in order.
  const text = (): string => frames().filter((f) => f.opcode <= 2).map((f) => f.payload.toString("latin1")).join("");
  let consumed = 0;

  const expect = async (re: RegExp, timeoutMs = 10000): Promise<string> => {
    let got = "";
    await waitUntil(() => {
      const rest = text().slice(consumed);
      const m = re.exec(rest);
      if (m === null) return false;
      got = rest.slice(0, m.index + m[0].length);
      return true;
    }, String(re), timeoutMs);
    consumed += got.length;
    return got;
  };

  const write = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));

  const infoLine = await expect(/^INFO .*\r\n/);
  const info = JSON.parse(infoLine.slice(5).trim()) as Record<string, unknown>;
  const sendText = (s: string | Uint8Array) => write(clientFrame(OP_BINARY, typeof s === "string" ? Buffer.from(s) : s));

  return {
    socket,
    info,
    write,
    async writeSplit(bytes, cuts, gapMs = 30) {
      let from = 0;
      for (const at of [...cuts, bytes.length]) {
        await write(bytes.subarray(from, at));
        from = at;
        // The write callback means the bytes reached the kernel; the gap keeps
        // Nagle-free segments apart so the server sees separate reads.
        if (at < bytes.length) await sleep(gapMs);
      }
    },
    sendText,
    expect,
    frames,
    closeCode: () => closeCode(frames()),
    closed,
    async login(token, seedHex) {
      const connect = {
        verbose: false, pedantic: false, protocol: 1, headers: true, no_responders: true,
        lang: "raw-wss", version: "0", auth_token: token, sig: signNonce(seedHex, String(info["nonce"])),
      };
      await sendText(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
      await expect(/PONG\r\n/);
    },
  };
}

/** A masked client frame (re-exported so tests build frames from one place). */
export { clientFrame };
