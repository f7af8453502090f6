/**
 * A TCP or TLS socket as a Transport: the one socket transport, used by the
 * client listener (anonymous TLS) and the upstream dialer (mTLS leafnode link).
 *
 * With `upgrade`, the socket speaks clear text until the first write (the
 * INFO, which nats-server 2.9.10 sends before TLS: docs/protocol.md#connection-lifecycle)
 * and the server side of a TLS handshake starts right after it; a handshake
 * that does not finish within `upgrade.timeout` closes the socket. Without it,
 * the socket is used as it is (already TLS, or plain TCP). `upgrade.settled`
 * is called once when that handshake is over, whichever way it ended.
 *
 * Inbound data flows from the first onData registration (a dialled socket
 * arrives paused) unless pause() was called. onClose callbacks run exactly
 * once, also when registered after the close. end() flushes, and drops a peer
 * that does not read within END_GRACE_MS.
 */
import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import type { Transport } from "./transport.js";

/** How long end() waits for queued bytes to reach a peer before dropping it. */
const END_GRACE_MS = 5000;

export interface TlsUpgrade {
  context: SecureContext;
  /** ms for the TLS handshake after the first write. */
  timeout: number;
  /** Called once when the handshake is over: finished, failed, timed out or the socket closed. */
  settled?: () => void;
}

export class SocketTransport implements Transport {
  readonly kind: "tls" | "tcp";
  readonly remoteAddress: string;
  readonly remotePort: number;
  secure: boolean;
  private stream: Socket;
  private closed = false;
  private paused = false;
  private closeCbs: ((err?: Error) => void)[] = [];
  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private drainCb: (() => void) | null = null;
  private lastError: Error | undefined;

  /**
   * `socket` is the connected socket; `secure` says whether it is TLS already.
   * `upgrade` makes it TLS after the first write (the client listener).
   */
  constructor(
    private readonly raw: Socket,
    secure: boolean,
    private upgrade: TlsUpgrade | null = null,
  ) {
    this.kind = secure || upgrade !== null ? "tls" : "tcp";
    this.secure = secure;
    this.remoteAddress = raw.remoteAddress ?? "";
    this.remotePort = raw.remotePort ?? 0;
    this.stream = raw;
    // Errors are reported through onClose; a listener must exist so they are never thrown.
    raw.on("error", (err) => this.noteError(err));
    raw.once("close", () => this.finish());
    if (upgrade === null) this.attach(raw);
  }

  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  write(chunk: Uint8Array, written?: () => void): boolean {
    if (this.closed || this.stream.destroyed) return false;
    // A write callback runs once the bytes left (or with an error on destroy); either way they are no longer read.
    const ok = written === undefined ? this.stream.write(chunk) : this.stream.write(chunk, written);
    if (this.upgrade !== null) this.startTls(this.upgrade);
    return ok;
  }

  writev(chunks: Uint8Array[], written?: () => void): boolean {
    if (this.closed || this.stream.destroyed) return false;
    const last = chunks.length - 1;
    if (this.upgrade !== null) {
      let ok = true;
      for (let i = 0; i <= last; i++) ok = this.write(chunks[i]!, i === last ? written : undefined);
      return ok;
    }
    const s = this.stream;
    s.cork();
    let ok = true;
    // Callbacks run in write order: the last one's means the whole batch has left.
    for (let i = 0; i < last; i++) ok = s.write(chunks[i]!);
    if (last >= 0) ok = written === undefined ? s.write(chunks[last]!) : s.write(chunks[last]!, written);
    s.uncork();
    return ok;
  }

  pause(): void {
    this.paused = true;
    this.stream.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream.resume();
  }

  end(): void {
    if (this.closed) return;
    this.stream.end();
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => this.destroy(), END_GRACE_MS).unref();
  }

  destroy(): void {
    this.stream.destroy();
    this.raw.destroy();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
    if (!this.paused && this.upgrade === null) this.stream.resume();
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.closed) queueMicrotask(() => cb(this.lastError));
    else this.closeCbs.push(cb);
  }

  private attach(s: Socket): void {
    s.on("data", (chunk: Buffer) => this.dataCb?.(chunk));
    s.on("drain", () => this.drainCb?.());
    if (s !== this.raw) {
      s.on("error", (err) => this.noteError(err));
      s.once("close", () => this.finish());
    }
  }

  /** INFO is out in clear text: the rest of the conversation is TLS. */
  private startTls(upgrade: TlsUpgrade): void {
    this.upgrade = null;
    const tls = new TLSSocket(this.raw, {
      isServer: true,
      secureContext: upgrade.context,
      requestCert: false,
      rejectUnauthorized: false,
    });
    this.stream = tls;
    let settle = upgrade.settled;
    const over = (): void => {
      const cb = settle;
      settle = undefined;
      cb?.();
    };
    this.raw.once("close", over);
    const timer = setTimeout(() => {
      this.noteError(new Error("TLS handshake timeout"));
      this.destroy();
    }, upgrade.timeout);
    timer.unref();
    tls.once("secure", () => {
      clearTimeout(timer);
      this.secure = true;
      over();
    });
    tls.on("error", () => {
      clearTimeout(timer);
      this.destroy();
      over();
    });
    this.attach(tls);
    if (this.paused) tls.pause();
  }

  private noteError(err: Error): void {
    this.lastError ??= err;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const cbs = this.closeCbs;
    this.closeCbs = [];
    for (const cb of cbs) cb(this.lastError);
  }
}
