/**
 * The WebSocket client listener: accepts TCP (wss: TLS on accept, no
 * INFO-before-TLS dance), parses the HTTP upgrade request with node:http,
 * checks it the way nats-server 2.9.10 does (ws_upgrade.ts), lets `ws` finish
 * the upgrade and hands each WebSocket, wrapped as a `WsTransport`, to the
 * AcceptHandler. One handshake timer per socket covers TLS handshake and
 * upgrade together, so a silent or slow peer cannot hold a socket, and the
 * client port's admission (admission.ts) bounds how many sockets are in
 * their handshake per address and how many wait, as on the TLS port. Every
 * refused upgrade and every post-upgrade protocol violation is counted by
 * reason in `stats` and logged at debug: scanners and broken clients are
 * routine on an internet-facing port and must never reach the process.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";
import type { Duplex } from "node:stream";
import { WebSocketServer, type ServerOptions, type WebSocket } from "ws";
import type { Logger } from "../obs/log.js";
import type { AcceptHandler } from "./transport.js";
import { listen, loadContext, type ListenOptions, type ServerTlsFiles } from "./listen.js";
import { DEFAULTS } from "../config/defaults.js";
import {
  BadRequestRejection,
  OriginPolicy,
  UpgradeRejectReason,
  checkUpgradeRequest,
  normaliseForWs,
  writeHttpRejection,
  type UpgradeRejectReasonName,
  type UpgradeRejection,
} from "./ws_upgrade.js";
import { WsTransport, type WsTransportError, type WsViolationName } from "./ws_transport.js";
import { Admission, MAX_HANDSHAKES, MAX_WAITING, WAIT_TIMEOUT_FACTOR, type AdmissionRefusalName } from "./admission.js";

export interface WsListenerOptions {
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  /** PEM file paths; null = plain ws:// (only when explicitly allowed, for development). */
  tls: ServerTlsFiles | null;
  /** Negotiate permessage-deflate when the client offers it. */
  compression: boolean;
  /** Allowed Origin URLs; empty = any. A request without Origin is always accepted. */
  allowedOrigins: string[];
  /** ms from TCP accept to the 101 response (TLS handshake included). */
  handshakeTimeout: number;
  /** Sockets of one address in their handshake at once (default MAX_HANDSHAKES); more wait their turn. */
  maxHandshakes?: number;
  /** Sockets of all addresses that may wait for a handshake place (default MAX_WAITING); more are closed at once. */
  maxWaiting?: number;
  /** Largest accepted WebSocket message (max payload + control line slack); larger → close 1009. */
  maxFrameBytes: number;
  /**
   * Largest accepted message before the peer has logged in (a CONNECT line and
   * a PING: max_connect_line + 4 KiB), inflated and across fragments; larger →
   * close 1009. Default: the same figure for the default max_connect_line.
   */
  preLoginMessageBytes?: number;
  /** Only these peers may connect (client_hosts; null = everyone): others are dropped before TLS and upgrade. */
  allowHosts: ListenOptions["allowHosts"];
  log: Logger;
  onAccept: AcceptHandler;
  /** ms between server WebSocket pings; a peer silent for a whole interval is closed. 0/absent = off. */
  pingInterval?: number;
  /** Outbound bytes above which write() returns false (default 64 KiB). */
  highWaterMark?: number;
  /** ms to wait for the peer's close frame after end() before dropping the socket (default 5000). */
  closeTimeout?: number;
}

export interface WsListenerStats {
  /** Successful upgrades. */
  upgrades: number;
  /** Open WebSockets. */
  active: number;
  /** Sockets accepted and not yet upgraded (TLS handshake or HTTP request in progress). */
  handshaking: number;
  /** Refused before or during the upgrade, by reason (ws_upgrade.ts UpgradeRejectReason). */
  rejected: Record<string, number>;
  /** Closed after the upgrade for a WebSocket protocol violation, by reason (WsViolation). */
  violations: Record<string, number>;
}

export interface WsListener {
  readonly port: number;
  readonly stats: WsListenerStats;
  /** Sockets closed before their handshake by the admission (queue full, waited too long). */
  readonly refused: Readonly<Record<AdmissionRefusalName, number>>;
  /**
   * Stops accepting and drops sockets still in their handshake. Open
   * WebSockets are left to their owners (the connection layer drains them),
   * as the TLS listener does. Idempotent.
   */
  close(): Promise<void>;
  /** Loads a new certificate for new connections (SIGHUP); throws if the files are bad. */
  reloadCertificate(tls: ServerTlsFiles): void;
}

const ignore = (): void => {};

/**
 * Before login a message may have at most this many fragments and wait for
 * at most this many raw chunks: each is a Buffer object of its own (about
 * 100 bytes of heap however small), so without them a peer could pin
 * megabytes with tiny fragments or tiny TCP segments while staying under the
 * byte limit. A real client sends its CONNECT in one frame and a few reads.
 */
const PRE_LOGIN_FRAGMENTS = 64;
const PRE_LOGIN_CHUNKS = 256;
/** After login: `ws`'s own defaults, as before the pre-login bound existed. */
const WS_FRAGMENTS = 16 * 1024;
const WS_CHUNKS = 256 * 1024;
const defaultHighWaterMark = DEFAULTS.websocket.highWaterMark;
const defaultCloseTimeout = DEFAULTS.websocket.closeTimeout;

// nats-server offers exactly these parameters whatever the client asked for (docs/protocol.md#compression).
const deflateOptions = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  // nats-server sends buffers of 64 bytes or less uncompressed, and deflates at "best speed".
  threshold: 64,
  zlibDeflateOptions: { level: 1 },
} as const;

export async function startWsListener(opts: WsListenerOptions): Promise<WsListener> {
  let secureContext: SecureContext | null = opts.tls === null ? null : loadContext(opts.tls);
  const origins = new OriginPolicy(opts.allowedOrigins);
  const highWaterMark = opts.highWaterMark ?? defaultHighWaterMark;
  const log = opts.log.child({ listener: "websocket" });

  const stats: WsListenerStats = { upgrades: 0, active: 0, handshaking: 0, rejected: {}, violations: {} };
  const countRejected = (reason: UpgradeRejectReasonName): void => {
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
  };
  const countViolation = (reason: WsViolationName): void => {
    stats.violations[reason] = (stats.violations[reason] ?? 0) + 1;
  };

  /** Sockets between accept and 101, with their handshake timers and their admission place. */
  const handshaking = new Map<Duplex, { raw: Socket; timer: NodeJS.Timeout; settled: () => void }>();
  const open = new Set<WsTransport>();
  let closing = false;

  const wsOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    perMessageDeflate: opts.compression ? deflateOptions : false,
    // Every WebSocket starts with the pre-login limits; WsTransport.loggedIn() raises them.
    maxPayload: Math.min(opts.preLoginMessageBytes ?? DEFAULTS.limits.maxConnectLine + 4096, opts.maxFrameBytes),
    maxFragments: PRE_LOGIN_FRAGMENTS,
    maxBufferedChunks: PRE_LOGIN_CHUNKS,
    // ws >= 8.18 option, not yet in @types/ws.
    closeTimeout: opts.closeTimeout ?? defaultCloseTimeout,
  };
  const wss = new WebSocketServer(wsOptions);

  const hooks = {
    violation: (t: WsTransport, err: WsTransportError): void => {
      countViolation(err.violation);
      log.debug("websocket protocol violation", { reason: err.violation, code: err.code, closeCode: err.closeCode, remote: t.remoteAddress, detail: err.message });
    },
    closed: (t: WsTransport): void => {
      if (open.delete(t)) stats.active--;
    },
    afterLogin: { maxPayload: opts.maxFrameBytes, maxFragments: WS_FRAGMENTS, maxBufferedChunks: WS_CHUNKS },
    limitsStuck: (t: WsTransport): void => {
      log.error("cannot raise the WebSocket receive limits after login (ws internals changed?): messages above the pre-login limit will be refused", { remote: t.remoteAddress });
    },
  };

  function refuse(socket: Duplex, rejection: UpgradeRejection, req?: IncomingMessage): void {
    countRejected(rejection.reason);
    if (log.debugEnabled) {
      const raw = handshaking.get(socket)?.raw;
      log.debug("websocket upgrade refused", {
        reason: rejection.reason,
        status: rejection.status,
        remote: raw?.remoteAddress,
        method: req?.method,
        origin: req?.headers.origin,
      });
    }
    forget(socket);
    writeHttpRejection(socket, rejection);
  }

  function forget(socket: Duplex): void {
    const entry = handshaking.get(socket);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    handshaking.delete(socket);
    stats.handshaking = handshaking.size;
    entry.settled();
  }

  // requireHostHeader off: the Host rule is ours (checkUpgradeRequest), counted like the others.
  const http = createHttpServer({ requireHostHeader: false });
  // Never listening: it only parses requests on sockets we hand it, so its own
  // header/request timers stay off and our handshake timer is the one deadline.
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rejection = checkUpgradeRequest(req, head, origins);
    if (rejection !== null) return refuse(socket, rejection, req);
    const entry = handshaking.get(socket);
    if (entry === undefined) return socket.destroy(); // timed out meanwhile
    forget(socket);
    normaliseForWs(req);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const transport = new WsTransport(ws, entry.raw, secureContext !== null, highWaterMark, hooks);
      open.add(transport);
      stats.upgrades++;
      stats.active++;
      try {
        opts.onAccept(transport);
      } catch (err) {
        log.error("websocket accept handler failed", { err, remote: transport.remoteAddress });
        transport.destroy();
      }
    });
  });
  // A plain HTTP request (no Upgrade/Connection: upgrade): refuse it with the
  // status nats-server would give for the first rule it breaks.
  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const rejection = checkUpgradeRequest(req, Buffer.alloc(0), origins) ?? BadRequestRejection;
    countRejected(rejection.reason);
    forget(req.socket);
    log.debug("websocket upgrade refused", { reason: rejection.reason, status: rejection.status, method: req.method });
    const body = rejection.message + "\n";
    res.writeHead(rejection.status, { Connection: "close", "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  });
  // Unparseable HTTP, or a socket error (TLS handshake failure included) before the upgrade.
  http.on("clientError", (err: Error & { code?: string }, socket: Duplex) => {
    if (!handshaking.has(socket)) return void socket.destroy();
    const code = err.code ?? "";
    if (code.startsWith("HPE_")) return refuse(socket, BadRequestRejection);
    forget(socket);
    // A peer hanging up is not a refusal; on wss anything else before the
    // upgrade is the TLS layer failing (bad ClientHello, no shared cipher, ...).
    if (secureContext !== null && code !== "ECONNRESET" && code !== "EPIPE") {
      countRejected(UpgradeRejectReason.TlsHandshake);
      log.debug("websocket TLS handshake failed", { err, code });
    }
    socket.destroy();
  });

  // The client port's admission (admission.ts): at most MAX_HANDSHAKES sockets
  // of one address between accept and 101 at once, the rest wait, MAX_WAITING
  // of all addresses together, each for at most WAIT_TIMEOUT_FACTOR handshake timeouts.
  const admission = new Admission({
    perAddress: opts.maxHandshakes ?? MAX_HANDSHAKES,
    maxWaiting: opts.maxWaiting ?? MAX_WAITING,
    waitTimeout: WAIT_TIMEOUT_FACTOR * opts.handshakeTimeout,
    log,
    start: startHandshake,
  });

  function accept(raw: Socket): void {
    if (closing || raw.destroyed) return void raw.destroy(); // destroyed: refused by client_hosts
    admission.offer(raw);
  }

  /** The handshake of an admitted socket: TLS, then the HTTP upgrade, within `handshakeTimeout`. */
  function startHandshake(raw: Socket, settled: () => void): void {
    // Errors are reported through http's clientError until the upgrade and
    // through ws after it; these keep an error in between (node:http drops its
    // listener before emitting "upgrade") from becoming an uncaught exception.
    raw.on("error", ignore);
    const conn: Socket = secureContext === null ? raw : new TLSSocket(raw, { isServer: true, secureContext, requestCert: false });
    if (conn !== raw) conn.on("error", ignore);
    const timer = setTimeout(() => {
      if (!handshaking.has(conn)) return;
      forget(conn);
      countRejected(UpgradeRejectReason.HandshakeTimeout);
      log.debug("websocket handshake timeout", { remote: raw.remoteAddress });
      conn.destroy();
      raw.destroy();
    }, opts.handshakeTimeout);
    handshaking.set(conn, { raw, timer, settled });
    stats.handshaking = handshaking.size;
    conn.once("close", () => forget(conn));
    http.emit("connection", conn);
  }

  const server: NetServer = createNetServer({ noDelay: true }, accept);
  const port = await listen(server, { host: opts.host, port: opts.port, allowHosts: opts.allowHosts, log, what: "websocket" });
  server.on("error", (err) => log.error("websocket listener error", { err }));
  let sweep: NodeJS.Timeout | null = null;
  if (opts.pingInterval !== undefined && opts.pingInterval > 0) {
    // One timer for the whole listener instead of one per connection.
    sweep = setInterval(() => {
      for (const t of open) t.pingSweep();
    }, opts.pingInterval);
    sweep.unref();
  }
  log.info("websocket listener started", { host: opts.host, port, tls: secureContext !== null, compression: opts.compression });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= stopAccepting());
  return {
    port,
    stats,
    refused: admission.refused,
    close: stop,
    reloadCertificate: (tls) => {
      if (secureContext === null) throw new TypeError("websocket listener runs without TLS");
      secureContext = loadContext(tls);
    },
  };

  async function stopAccepting(): Promise<void> {
    closing = true;
    if (sweep !== null) clearInterval(sweep);
    const stopped = new Promise<void>((resolve) => server.once("close", resolve));
    server.close();
    admission.close();
    for (const [socket, entry] of handshaking) {
      clearTimeout(entry.timer);
      socket.destroy();
      entry.raw.destroy();
    }
    handshaking.clear();
    stats.handshaking = 0;
    // The listening socket closes at once; "close" waits for open connections too.
    if (open.size === 0) await stopped;
    log.info("websocket listener stopped", { port });
  }
}
