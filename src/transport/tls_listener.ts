/**
 * The anonymous-TLS client listener. nats-server 2.9.10 order: the first bytes
 * written (INFO) go out in clear text, then the server-side TLS handshake
 * starts on the same socket; the client shows no certificate and none is asked
 * for. A client that does not complete the handshake in `tlsTimeout` (or
 * speaks plain text) is closed. `tls: null` gives a plain TCP listener, for
 * development and tests only.
 */
import { createServer, type BlockList, type Server, type Socket } from "node:net";
import { TLSSocket, createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { readFileSync } from "node:fs";
import type { AcceptHandler, Transport } from "./transport.js";
import type { Logger } from "../obs/log.js";

export interface TlsListenerOptions {
  host: string;
  port: number;
  tls: ServerTlsFiles | null;
  tlsTimeout: number;
  /** Only these peers may connect (null = everyone). */
  allowHosts: BlockList | null;
  log: Logger;
  onAccept: AcceptHandler;
}

export interface ListenerStats {
  accepted: number;
  tlsFailures: number;
  deniedHosts: number;
}

export interface TlsListener {
  readonly port: number;
  readonly stats: ListenerStats;
  /** Stop accepting; existing connections are left to their owners. */
  close(): Promise<void>;
  /** Reload the server certificate (SIGHUP). */
  reloadCertificate(tls: ServerTlsFiles): void;
}

/** Certificate and key files, with the TLS version, ciphers and curves (OpenSSL names) to offer. */
export type ServerTlsFiles = { cert: string; key: string } & Pick<SecureContextOptions, "minVersion" | "ciphers" | "ecdhCurve">;

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  let context: SecureContext | null = opts.tls ? loadContext(opts.tls) : null;
  const stats: ListenerStats = { accepted: 0, tlsFailures: 0, deniedHosts: 0 };
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const remote = socket.remoteAddress ?? "";
    if (opts.allowHosts && !opts.allowHosts.check(remote, remote.includes(":") ? "ipv6" : "ipv4")) {
      stats.deniedHosts++;
      opts.log.warn("connection from a host outside client_hosts refused", { remote });
      socket.destroy();
      return;
    }
    stats.accepted++;
    const transport = new SocketTransport(socket, context, opts.tlsTimeout, () => {
      stats.tlsFailures++;
    });
    opts.onAccept(transport);
  });
  server.on("error", (err) => opts.log.error("client listener error", { error: err }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A connection storm must not overflow the accept queue (Node defaults to 511; nats-server uses 4096).
    server.listen({ port: opts.port, host: opts.host, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  return {
    port,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    reloadCertificate(tls) {
      context = loadContext(tls);
    },
  };
}

export function loadContext(tls: ServerTlsFiles): SecureContext {
  return createSecureContext({ minVersion: "TLSv1.2", ...tls, cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
}

/** A client socket: clear text until the first write, TLS after it (when configured). */
class SocketTransport implements Transport {
  readonly kind: "tls" | "tcp";
  readonly remoteAddress: string;
  readonly remotePort: number;
  secure = false;
  private stream: Socket;
  private upgraded = false;
  private closed = false;
  private closeCbs: ((err?: Error) => void)[] = [];
  private dataCb: ((chunk: Uint8Array) => void) | null = null;
  private drainCb: (() => void) | null = null;
  private lastError: Error | undefined;

  constructor(
    private readonly raw: Socket,
    private readonly context: SecureContext | null,
    private readonly tlsTimeout: number,
    private readonly onTlsFailure: () => void,
  ) {
    this.kind = context ? "tls" : "tcp";
    this.remoteAddress = raw.remoteAddress ?? "";
    this.remotePort = raw.remotePort ?? 0;
    this.stream = raw;
    if (!context) this.wire(raw);
    else raw.on("error", (err) => (this.lastError = err));
    raw.on("close", () => this.finish());
  }

  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    const ok = this.stream.write(chunk);
    if (this.context && !this.upgraded) this.startTls();
    return ok;
  }

  writev(chunks: Uint8Array[]): boolean {
    if (this.closed) return false;
    if (this.context && !this.upgraded) {
      let ok = true;
      for (const c of chunks) ok = this.write(c);
      return ok;
    }
    const s = this.stream;
    s.cork();
    let ok = true;
    for (const c of chunks) ok = s.write(c);
    s.uncork();
    return ok;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  end(): void {
    if (this.closed) return;
    this.stream.end();
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => this.destroy(), 5000).unref();
  }

  destroy(): void {
    this.stream.destroy();
    this.raw.destroy();
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb);
  }

  private wire(s: Socket): void {
    s.on("data", (chunk: Buffer) => this.dataCb?.(chunk));
    s.on("drain", () => this.drainCb?.());
    s.on("error", (err) => (this.lastError = err));
    s.on("close", () => this.finish());
  }

  /** INFO is out in clear text: the rest of the conversation is TLS. */
  private startTls(): void {
    this.upgraded = true;
    const tls = new TLSSocket(this.raw, {
      isServer: true,
      secureContext: this.context!,
      requestCert: false,
      rejectUnauthorized: false,
    });
    this.stream = tls;
    const timer = setTimeout(() => {
      this.lastError = new Error("TLS handshake timeout");
      this.onTlsFailure();
      this.destroy();
    }, this.tlsTimeout);
    timer.unref();
    tls.once("secure", () => {
      clearTimeout(timer);
      this.secure = true;
    });
    tls.on("error", (err) => {
      if (!this.secure) this.onTlsFailure();
      clearTimeout(timer);
      this.lastError = err;
      this.destroy();
    });
    this.wire(tls);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const cbs = this.closeCbs;
    this.closeCbs = [];
    for (const cb of cbs) cb(this.lastError);
  }
}
