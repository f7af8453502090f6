/**
 * The login relay: an HTTPS listener on the gateway that forwards
 * `POST /choria/v1/login` and `POST /choria/v1/sign` to the AAA service, so a
 * satellite edge gives remote operators one endpoint for both logging in and
 * connecting. Bodies are size-limited and checked against the aaasvc request
 * shapes first (schemas.ts), so junk is refused here without reaching the
 * service. Each AAA URL has its own undici Pool (keep-alive, bounded
 * connections, connect/headers/body timeouts). A URL that cannot be connected
 * to is skipped for the next; once a request was written it is never sent
 * again, because the service may have acted on it. Answers pass through
 * unchanged. Passwords, tokens and signatures live only in the request bodies,
 * which are never logged.
 *
 * Every connection to the relay is a caller that has not logged in yet, so it
 * gets the client port's bounds (docs/isolation.md#before-login): the TLS
 * handshake within `handshakeTimeout` (tls_timeout), the request headers and
 * the whole request within their timeouts, checked every second; at most
 * MAX_HANDSHAKES connections per peer address (transport/admission.ts, the
 * client port's admission; one more is closed at once) and MAX_WAITING for
 * the whole listener (Node drops one more at accept). Closed ones are counted
 * in `stats.refused`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import type { Socket } from "node:net";
import type { ListenOptions } from "../transport/listen.js";
import { Pool } from "undici";
import type { Logger } from "../obs/log.js";
import { GatewayError } from "../errors.js";
import { listen } from "../transport/listen.js";
import { Admission, MAX_HANDSHAKES, MAX_WAITING } from "../transport/admission.js";
import { DEFAULTS } from "../config/defaults.js";
import { failedBeforeSending, isResponseTimeout, networkErrorCode } from "./errors.js";
import { validateRelayBody, type RelayRoute } from "./schemas.js";

export type RelayOutcome = "ok" | "bad_request" | "too_large" | "upstream_error";

export interface LoginRelayStats {
  ok: number;
  bad_request: number;
  too_large: number;
  upstream_error: number;
  /** Sum and count of request durations in seconds (for a Prometheus summary/histogram). */
  latencySecondsSum: number;
  latencyCount: number;
  /**
   * Connections closed before a request: at accept because their address had MAX_HANDSHAKES open
   * (address_busy) or the listener MAX_WAITING (listener_full); in a TLS handshake that failed or
   * did not finish within handshakeTimeout (tls_handshake); no request within handshakeTimeout
   * after it (idle).
   */
  refused: { address_busy: number; listener_full: number; tls_handshake: number; idle: number };
}

/** PEM text, or a path to a PEM file when it does not start with "-----BEGIN". */
export type PemSource = string | Buffer;

/** TLS version, ciphers and curves (OpenSSL names) the relay offers; absent = Node's defaults. */
type TlsPolicy = Pick<SecureContextOptions, "minVersion" | "ciphers" | "ecdhCurve">;

export interface LoginRelayOptions {
  listen: { host: string; port: number };
  /** client_hosts: only these peers may connect (null or absent = everyone). */
  allowHosts?: ListenOptions["allowHosts"];
  /** Server certificate; null serves plain HTTP and exists only for tests. */
  tls: ({ cert: PemSource; key: PemSource } & TlsPolicy) | null;
  /** AAA service URLs: a base (`https://aaa:8080`, `https://aaa/prefix`) or a full `.../login` URL. */
  urls: string[];
  maxBodyBytes: number;
  /** Milliseconds: upstream headers/body timeout and the whole-request budget. */
  timeout: number;
  /** Milliseconds to connect to one AAA URL; default min(timeout, 5000). */
  connectTimeout?: number;
  /** Connections per AAA URL; default 16. */
  connectionsPerUrl?: number;
  /** Milliseconds for a client's TLS handshake (tls_timeout); default DEFAULTS.tlsTimeout. */
  handshakeTimeout?: number;
  /** Open connections per peer address (default MAX_HANDSHAKES) and in all (default MAX_WAITING); more are closed at accept. */
  maxPerAddress?: number;
  maxConnections?: number;
  log: Logger;
  /** CAs that verify the AAA service (default: the system store). */
  ca?: PemSource;
  /** Called once per request; the lead connects it to prom-client. */
  onRequest?: (outcome: RelayOutcome, seconds: number) => void;
}

export interface LoginRelay {
  port: number;
  close(): Promise<void>;
  /** New server certificate for connections accepted from now on (SIGHUP); throws if it cannot be loaded. */
  reloadCertificate(tls: { cert: PemSource; key: PemSource } & TlsPolicy): void;
  stats: LoginRelayStats;
}

/** Longest AAA answer relayed (a token or a signed request is far smaller). */
const MAX_UPSTREAM_BODY = 1024 * 1024;

interface Upstream {
  url: string;
  pathPrefix: string;
  pool: Pool;
}

function pem(source: PemSource): string | Buffer {
  if (Buffer.isBuffer(source)) return source;
  return source.trimStart().startsWith("-----BEGIN") ? source : readFileSync(source);
}

/** `https://h:1/choria/v1/login` → (origin, "/choria/v1"); a bare origin → "/choria/v1". */
export function upstreamBase(url: string): { origin: string; pathPrefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayError("GW_ERR_RELAY_CONFIG", `login relay: invalid AAA URL '${url}'`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new GatewayError("GW_ERR_RELAY_CONFIG", `login relay: AAA URL '${url}' must be https or http`);
  }
  let path = parsed.pathname.replace(/\/+$/, "");
  path = path.replace(/\/(login|sign)$/, "");
  return { origin: parsed.origin, pathPrefix: path === "" ? "/choria/v1" : path };
}

const ROUTES: Record<string, RelayRoute> = { "/choria/v1/login": "login", "/choria/v1/sign": "sign" };

type BodyResult = { kind: "ok"; body: Buffer } | { kind: "too_large" } | { kind: "aborted" };

/** Reads the request body up to `limit` bytes; stops storing (but keeps the socket sane) when over. */
function readLimitedBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      resolve({ kind: "too_large" });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        resolve({ kind: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ kind: "ok", body: Buffer.concat(chunks, size) });
    };
    const onAbort = (): void => {
      cleanup();
      resolve({ kind: "aborted" });
    };
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("aborted", onAbort);
  });
}

function sendJson(res: ServerResponse, status: number, body: Record<string, string>, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

async function readUpstreamBody(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_UPSTREAM_BODY) {
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export async function startLoginRelay(opts: LoginRelayOptions): Promise<LoginRelay> {
  if (opts.urls.length === 0) throw new GatewayError("GW_ERR_RELAY_CONFIG", "login relay: no AAA service URLs configured");
  const log = opts.log.child({ component: "login_relay" });
  const connectTimeout = opts.connectTimeout ?? Math.min(opts.timeout, 5000);
  const ca = opts.ca !== undefined ? pem(opts.ca) : undefined;
  const upstreams: Upstream[] = opts.urls.map((url) => {
    const { origin, pathPrefix } = upstreamBase(url);
    const pool = new Pool(origin, {
      connections: opts.connectionsPerUrl ?? 16,
      connect: { timeout: connectTimeout, ...(ca !== undefined ? { ca } : {}) },
      headersTimeout: opts.timeout,
      bodyTimeout: opts.timeout,
      keepAliveTimeout: 4000,
    });
    return { url: origin + pathPrefix, pathPrefix, pool };
  });

  const stats: LoginRelayStats = {
    ok: 0, bad_request: 0, too_large: 0, upstream_error: 0, latencySecondsSum: 0, latencyCount: 0, refused: { address_busy: 0, listener_full: 0, tls_handshake: 0, idle: 0 },
  };

  const record = (outcome: RelayOutcome, started: bigint): void => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    stats[outcome]++;
    stats.latencySecondsSum += seconds;
    stats.latencyCount++;
    opts.onRequest?.(outcome, seconds);
  };

  /** Relays one validated body; returns the outcome after answering the client. */
  const relay = async (route: RelayRoute, body: Buffer, req: IncomingMessage, res: ServerResponse, rlog: Logger): Promise<RelayOutcome> => {
    const failures: string[] = [];
    const clientGone = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) clientGone.abort();
    });
    for (const up of upstreams) {
      const signal = AbortSignal.any([AbortSignal.timeout(opts.timeout), clientGone.signal]);
      const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
      if (req.socket.remoteAddress) headers["x-forwarded-for"] = req.socket.remoteAddress;
      try {
        const answer = await up.pool.request({ path: `${up.pathPrefix}/${route}`, method: "POST", headers, body, signal });
        const payload = await readUpstreamBody(answer.body as unknown as AsyncIterable<Buffer> & { destroy(): unknown });
        if (payload === null) {
          rlog.warn("AAA answer too large", { upstream: up.url, limit: MAX_UPSTREAM_BODY });
          sendJson(res, 502, { error: `AAA service answer too large: ${up.url}` });
          return "upstream_error";
        }
        const out: Record<string, string | number> = { "content-length": payload.length };
        const contentType = answer.headers["content-type"];
        if (typeof contentType === "string") out["content-type"] = contentType;
        res.writeHead(answer.statusCode, out);
        res.end(payload);
        rlog.info("relayed", { upstream: up.url, status: answer.statusCode });
        return answer.statusCode >= 500 ? "upstream_error" : "ok";
      } catch (err) {
        const code = networkErrorCode(err);
        if (clientGone.signal.aborted) {
          rlog.info("client went away during relay", { upstream: up.url });
          return "upstream_error";
        }
        if (!signal.aborted && failedBeforeSending(code)) {
          rlog.warn("AAA service unreachable, trying next", { upstream: up.url, code });
          failures.push(`${up.url}: ${code}`);
          continue;
        }
        if (signal.aborted || isResponseTimeout(code)) {
          rlog.warn("AAA service timed out", { upstream: up.url, code });
          sendJson(res, 504, { error: `AAA service timed out: ${up.url}` });
          return "upstream_error";
        }
        // Sent (or partly sent): not retried, the service may have acted on it.
        rlog.warn("AAA request failed after sending", { upstream: up.url, code });
        sendJson(res, 502, { error: `AAA service failed: ${up.url}: ${code}` });
        return "upstream_error";
      }
    }
    sendJson(res, 502, { error: `AAA service unreachable: ${failures.join("; ")}` });
    return "upstream_error";
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path]! : undefined;
    const rlog = log.child({ remote: req.socket.remoteAddress, route: route ?? "unknown" });
    if (route === undefined) {
      sendJson(res, 404, { error: "not found: the login relay serves POST /choria/v1/login and /choria/v1/sign" });
      req.resume();
      record("bad_request", started);
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: `method ${req.method ?? "?"} not allowed, use POST` }, { allow: "POST" });
      req.resume();
      record("bad_request", started);
      return;
    }
    const read = await readLimitedBody(req, opts.maxBodyBytes);
    if (read.kind === "aborted") {
      record("bad_request", started);
      return;
    }
    if (read.kind === "too_large") {
      rlog.warn("request body too large", { limit: opts.maxBodyBytes });
      // Close after answering: the rest of the body is not read.
      sendJson(res, 413, { error: `request body larger than ${opts.maxBodyBytes} bytes` }, { connection: "close" });
      req.resume();
      record("too_large", started);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.body.toString("utf8"));
    } catch {
      rlog.info("request body is not JSON");
      sendJson(res, 400, { error: "request body is not valid JSON" });
      record("bad_request", started);
      return;
    }
    const problem = validateRelayBody(route, parsed);
    if (problem !== null) {
      // The problem names a field and a rule, never a value.
      rlog.info("invalid request", { problem });
      sendJson(res, 400, { error: problem });
      record("bad_request", started);
      return;
    }
    record(await relay(route, read.body, req, res, rlog), started);
  };

  /** Sockets with a request in progress (idle while the AAA service answers is not idle), and those that sent one. */
  const busy = new WeakSet<object>();
  const served = new WeakSet<object>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    busy.add(socket);
    served.add(socket);
    res.once("close", () => busy.delete(socket));
    handle(req, res).catch((err: unknown) => {
      log.error("login relay handler failed", { error: err as Error });
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  };

  // The TLS handshake gets tls_timeout, as on the client port (Node's default is 120 s).
  const handshakeTimeout = opts.handshakeTimeout ?? DEFAULTS.tlsTimeout;
  // Node checks the headers and request timeouts every connectionsCheckingInterval (30 s by default).
  const httpOptions = { connectionsCheckingInterval: 1000 };
  const server: Server = opts.tls
    ? createHttpsServer({ ...httpOptions, handshakeTimeout, minVersion: "TLSv1.2", ...opts.tls, cert: pem(opts.tls.cert), key: pem(opts.tls.key) }, onRequest)
    : createHttpServer(httpOptions, onRequest);
  // Slow clients may not hold a socket longer than an upstream request may take.
  server.requestTimeout = Math.max(opts.timeout, 1000);
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  // Node enforces the two above only once a request has begun: a connection that sends nothing
  // after its handshake would be held forever. Idle without a request, it gets tls_timeout, as
  // the client port gives a connection for its handshake (between keep-alive requests Node's
  // keepAliveTimeout, 5 s, takes over).
  server.timeout = handshakeTimeout;
  server.on("timeout", (socket: Socket) => {
    if (busy.has(socket)) return; // requestTimeout and the upstream timeout bound a request
    if (!served.has(socket)) {
      stats.refused.idle++;
      log.debug("login relay connection idle without a request: closed", { remote: socket.remoteAddress });
    }
    socket.destroy();
  });
  server.maxConnections = opts.maxConnections ?? MAX_WAITING;
  server.on("drop", () => {
    stats.refused.listener_full++;
    log.debug("connection dropped: the login relay has maxConnections open", { limit: server.maxConnections });
  });
  // Per address: a connection holds its place until it closes; one beyond the limit is closed at once.
  const admission = new Admission({
    perAddress: opts.maxPerAddress ?? MAX_HANDSHAKES,
    maxWaiting: 0,
    waitTimeout: 0,
    log,
    start: (socket, settled) => void socket.once("close", settled),
  });
  server.prependListener("connection", (socket: Socket) => {
    if (socket.destroyed) return; // refused by client_hosts
    admission.offer(socket);
    if (socket.destroyed) stats.refused.address_busy++;
  });
  server.on("tlsClientError", (err: Error & { code?: string }) => {
    stats.refused.tls_handshake++;
    log.debug("login relay TLS handshake failed", { code: err.code });
  });

  const port = await listen(server, { ...opts.listen, allowHosts: opts.allowHosts ?? null, log, what: "login relay" });
  log.info("login relay listening", { host: opts.listen.host, port, tls: opts.tls !== null, upstreams: upstreams.map((u) => u.url) });

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await Promise.all(upstreams.map((u) => u.pool.destroy().catch(() => {})));
    })();
    return closed;
  };
  const reloadCertificate = (tls: { cert: PemSource; key: PemSource } & TlsPolicy): void => {
    if (!opts.tls) throw new TypeError("the login relay runs without TLS");
    (server as HttpsServer).setSecureContext({ minVersion: "TLSv1.2", ...tls, cert: pem(tls.cert), key: pem(tls.key) });
  };
  return { port, close, stats, reloadCertificate };
}
