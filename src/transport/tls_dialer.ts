/**
 * The mTLS dialer for the upstream leafnode link. nats-server 2.9.10 speaks
 * first, in clear text, even on a TLS-only leafnode port: we connect, read its
 * INFO line, then start the TLS client handshake on the same socket (client
 * certificate, our CA, server name = the URL host). With `handshakeFirst` (hubs
 * ≥ 2.10 configured for it) TLS comes first and the INFO arrives inside it.
 * The result is a Transport plus the INFO line's bytes, which the leaf
 * connection feeds to its parser like any other input. Every step has a
 * deadline, so a silent or half-open peer can never stall a reconnect loop.
 */
import { readFileSync } from "node:fs";
import { isIP, type Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from "node:tls";
import { UpstreamError } from "../errors.js";
import type { Transport } from "./transport.js";
import { SocketTransport } from "./socket_transport.js";

export interface LeafDialOptions {
  host: string;
  port: number;
  /** Whether TLS is wanted even if the INFO does not require it (tls:// URL or a client cert). */
  tlsWanted: boolean;
  tls: { cert?: string; key?: string; ca?: string; verify: boolean; handshakeFirst: boolean };
  /** TLS version, ciphers and curves (OpenSSL names); absent = Node's defaults. */
  tlsPolicy?: Pick<ConnectionOptions, "minVersion" | "ciphers" | "ecdhCurve">;
  connectTimeout: number;
  infoTimeout: number;
  handshakeTimeout: number;
  /** Longest acceptable INFO line (guards memory against a peer that never sends LF). */
  maxInfoLine?: number;
  /** Checks the INFO before any TLS is started; throws to refuse the peer (e.g. not a leafnode port). */
  checkInfo?: (info: Record<string, unknown>) => void;
}

export interface LeafDialResult {
  transport: Transport;
  /** The hub's first INFO line, CRLF included. */
  info: Uint8Array;
  /** The INFO JSON, parsed (the dialer needs `tls_required` from it). */
  infoJson: Record<string, unknown>;
  /** Bytes that followed the INFO line in the same read (normally none). */
  leftover: Uint8Array;
}

export const DialErrorCode = {
  Connect: "GW_ERR_UPSTREAM_CONNECT",
  Timeout: "GW_ERR_UPSTREAM_TIMEOUT",
  BadInfo: "GW_ERR_UPSTREAM_BAD_INFO",
  Tls: "GW_ERR_UPSTREAM_TLS",
} as const;

/** What the hub's certificate said, kept with a failed handshake so the failure can be explained. */
export interface PeerCertFacts {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** e.g. "IP Address:127.0.0.1, DNS:localhost" ("" when none). */
  altNames: string;
}

/** A failed TLS handshake, with the hub's certificate when it presented one. */
export class TlsHandshakeError extends UpstreamError {
  constructor(message: string, readonly peer: PeerCertFacts | undefined, options?: ErrorOptions) {
    super(DialErrorCode.Tls, message, options);
  }
}

/** The facts of a peer certificate, or undefined when there is none. */
export function peerFacts(cert: PeerCertificate | undefined): PeerCertFacts | undefined {
  if (!cert || typeof cert.valid_to !== "string") return undefined;
  const dn = (x: Record<string, unknown> | undefined): string =>
    x ? Object.entries(x).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`).join(", ") : "";
  return {
    subject: dn(cert.subject as unknown as Record<string, unknown>),
    issuer: dn(cert.issuer as unknown as Record<string, unknown>),
    validFrom: cert.valid_from,
    validTo: cert.valid_to,
    altNames: cert.subjectaltname ?? "",
  };
}

/** Dial, read INFO, upgrade to TLS when required; rejects with an UpstreamError. */
export async function dialLeaf(opts: LeafDialOptions): Promise<LeafDialResult> {
  const raw = await connectTcp(opts);
  try {
    if (opts.tls.handshakeFirst) {
      const secure = await startTls(raw, opts);
      const first = await readInfoLine(secure, opts);
      opts.checkInfo?.(first.infoJson);
      return { transport: new SocketTransport(secure, true), ...first };
    }
    const first = await readInfoLine(raw, opts);
    opts.checkInfo?.(first.infoJson);
    if (first.infoJson.tls_required === true || opts.tlsWanted) {
      const secure = await startTls(raw, opts);
      return { transport: new SocketTransport(secure, true), ...first, leftover: new Uint8Array(0) };
    }
    return { transport: new SocketTransport(raw, false), ...first };
  } catch (err) {
    raw.destroy();
    throw err;
  }
}

function connectTcp(opts: LeafDialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: opts.host, port: opts.port });
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new UpstreamError(DialErrorCode.Timeout, `connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeout} ms`));
    }, opts.connectTimeout);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.removeAllListeners("error");
      resolve(sock);
    });
    sock.once("error", (err) => {
      clearTimeout(timer);
      reject(new UpstreamError(DialErrorCode.Connect, `connect to ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
    });
  });
}

/** Read up to and including the first LF, which must end an INFO line. */
function readInfoLine(sock: Socket, opts: LeafDialOptions): Promise<Omit<LeafDialResult, "transport">> {
  const max = opts.maxInfoLine ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null, value?: Omit<LeafDialResult, "transport">): void => {
      clearTimeout(timer);
      sock.removeListener("data", onData);
      sock.removeListener("error", onError);
      sock.removeListener("close", onClose);
      sock.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const lf = all.indexOf(0x0a);
      if (lf < 0) {
        if (size > max) done(new UpstreamError(DialErrorCode.BadInfo, `first line from ${opts.host}:${opts.port} exceeds ${max} bytes`));
        return;
      }
      const line = all.subarray(0, lf + 1);
      const text = line.toString("utf8").trim();
      if (!/^info[ \t]/i.test(text)) {
        done(new UpstreamError(DialErrorCode.BadInfo, `expected INFO from ${opts.host}:${opts.port}, got ${JSON.stringify(text.slice(0, 80))}`));
        return;
      }
      let infoJson: Record<string, unknown>;
      try {
        infoJson = JSON.parse(text.slice(5)) as Record<string, unknown>;
      } catch (err) {
        done(new UpstreamError(DialErrorCode.BadInfo, `unparsable INFO from ${opts.host}:${opts.port}`, { cause: err }));
        return;
      }
      done(null, { info: Uint8Array.from(line), infoJson, leftover: Uint8Array.from(all.subarray(lf + 1)) });
    };
    const onError = (err: Error): void => done(new UpstreamError(DialErrorCode.Connect, `reading INFO from ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
    const onClose = (): void => done(new UpstreamError(DialErrorCode.Connect, `${opts.host}:${opts.port} closed the connection before sending INFO`));
    const timer = setTimeout(
      () => done(new UpstreamError(DialErrorCode.Timeout, `no INFO from ${opts.host}:${opts.port} within ${opts.infoTimeout} ms`)),
      opts.infoTimeout,
    );
    sock.on("data", onData);
    sock.once("error", onError);
    sock.once("close", onClose);
    sock.resume();
  });
}

function startTls(raw: Socket, opts: LeafDialOptions): Promise<TLSSocket> {
  let files: { cert?: Buffer; key?: Buffer; ca?: Buffer };
  try {
    // Read at every dial so rotated certificates are picked up on reconnect.
    files = {
      cert: opts.tls.cert ? readFileSync(opts.tls.cert) : undefined,
      key: opts.tls.key ? readFileSync(opts.tls.key) : undefined,
      ca: opts.tls.ca ? readFileSync(opts.tls.ca) : undefined,
    };
  } catch (err) {
    return Promise.reject(new UpstreamError(DialErrorCode.Tls, `reading TLS files: ${(err as Error).message}`, { cause: err }));
  }
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      socket: raw,
      host: opts.host,
      // SNI may not carry an IP address (RFC 6066); the certificate check still uses `host`.
      servername: isIP(opts.host) ? undefined : opts.host,
      ...files,
      ...opts.tlsPolicy,
      rejectUnauthorized: opts.tls.verify,
    });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new UpstreamError(DialErrorCode.Timeout, `TLS handshake with ${opts.host}:${opts.port} timed out after ${opts.handshakeTimeout} ms`));
    }, opts.handshakeTimeout);
    secure.once("secureConnect", () => {
      clearTimeout(timer);
      secure.removeAllListeners("error");
      secure.pause();
      resolve(secure);
    });
    secure.once("error", (err) => {
      clearTimeout(timer);
      const peer = peerFacts(secure.getPeerCertificate());
      secure.destroy();
      reject(new TlsHandshakeError(`TLS handshake with ${opts.host}:${opts.port}: ${err.message}`, peer, { cause: err }));
    });
  });
}
