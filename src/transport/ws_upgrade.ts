/**
 * Validation of the HTTP request that asks for a WebSocket upgrade, in the
 * order nats-server 2.9.10 applies it (server/websocket.go, docs/protocol.md#upgrade):
 * method GET (405), Host (400), Upgrade contains "websocket" (400), Connection
 * contains "upgrade" (400), Sec-WebSocket-Key (400), Sec-WebSocket-Version 13
 * (400), Origin allow list (403), and no bytes sent before the 101 (400). The
 * listener runs this before handing the socket to `ws`, so every refusal has a
 * named reason for the stats and `ws` only ever sees requests it will accept.
 */
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/** Why an upgrade request was refused; the keys of `stats.rejected`. */
export const UpgradeRejectReason = {
  Method: "method",
  Host: "host",
  UpgradeHeader: "upgrade_header",
  ConnectionHeader: "connection_header",
  Key: "key",
  Version: "version",
  Origin: "origin",
  EarlyData: "early_data",
  BadRequest: "bad_request",
  HandshakeTimeout: "handshake_timeout",
  TlsHandshake: "tls_handshake",
} as const;
export type UpgradeRejectReasonName = (typeof UpgradeRejectReason)[keyof typeof UpgradeRejectReason];

export interface UpgradeRejection {
  readonly reason: UpgradeRejectReasonName;
  readonly status: number;
  /** Body of the HTTP error response (nats-server's wording where it has one). */
  readonly message: string;
}

function reject(reason: UpgradeRejectReasonName, status: number, message: string): UpgradeRejection {
  return Object.freeze({ reason, status, message });
}

// Preallocated: refusals are what a scanner or an attacker produces in bulk.
const Rejections = {
  method: reject(UpgradeRejectReason.Method, 405, "request method must be GET"),
  host: reject(UpgradeRejectReason.Host, 400, "'Host' missing in request"),
  upgrade: reject(UpgradeRejectReason.UpgradeHeader, 400, "invalid value for header 'Upgrade'"),
  connection: reject(UpgradeRejectReason.ConnectionHeader, 400, "invalid value for header 'Connection'"),
  key: reject(UpgradeRejectReason.Key, 400, "key missing"),
  version: reject(UpgradeRejectReason.Version, 400, "invalid version"),
  origin: reject(UpgradeRejectReason.Origin, 403, "origin not allowed"),
  earlyData: reject(UpgradeRejectReason.EarlyData, 400, "client sent data before handshake is complete"),
} as const;

export const BadRequestRejection = reject(UpgradeRejectReason.BadRequest, 400, "bad request");

// RFC 6455 section 4.1: the key is 16 random bytes, base64-encoded (24 characters).
const keyPattern = /^[+/0-9A-Za-z]{22}==$/;

/** True when the comma-separated header value contains `token` (case-insensitive). */
export function headerHasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const text = Array.isArray(value) ? value.join(",") : value;
  for (const part of text.split(",")) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * Canonical form of an origin for comparison: scheme, host and port, with the
 * scheme's default port filled in (nats-server compares exactly these three).
 * Returns null when the text is not a URL with a host.
 */
export function canonicalOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.host === "") return null;
  let port = url.port;
  if (port === "") {
    if (url.protocol === "http:" || url.protocol === "ws:") port = "80";
    else if (url.protocol === "https:" || url.protocol === "wss:") port = "443";
  }
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

/** An Origin allow list, canonicalised once at start. Empty = any origin. */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  /** Throws a TypeError naming the entry when one is not a valid origin URL. */
  constructor(origins: readonly string[]) {
    const set = new Set<string>();
    for (const o of origins) {
      const c = canonicalOrigin(o);
      if (c === null) throw new TypeError(`invalid allowed origin ${JSON.stringify(o)}`);
      set.add(c);
    }
    this.allowed = set;
  }

  get restricted(): boolean {
    return this.allowed.size > 0;
  }

  /** A request without Origin is accepted, as nats-server does (non-browser clients). */
  allows(origin: string | undefined): boolean {
    if (this.allowed.size === 0 || origin === undefined) return true;
    const c = canonicalOrigin(origin);
    return c !== null && this.allowed.has(c);
  }
}

/**
 * Checks an upgrade request; returns the first failed rule or null when the
 * request may be upgraded. `head` is what the client sent after the request.
 */
export function checkUpgradeRequest(req: IncomingMessage, head: Uint8Array, origins: OriginPolicy): UpgradeRejection | null {
  const h = req.headers;
  if (req.method !== "GET") return Rejections.method;
  if (h.host === undefined || h.host === "") return Rejections.host;
  if (!headerHasToken(h.upgrade, "websocket")) return Rejections.upgrade;
  if (!headerHasToken(h.connection, "upgrade")) return Rejections.connection;
  const key = h["sec-websocket-key"];
  if (key === undefined || !keyPattern.test(key)) return Rejections.key;
  if (!headerHasToken(h["sec-websocket-version"], "13")) return Rejections.version;
  if (!origins.allows(h.origin)) return Rejections.origin;
  // RFC 6455 section 4.1: the client must wait for the 101 before sending frames.
  if (head.length > 0) return Rejections.earlyData;
  return null;
}

/**
 * Rewrites the headers `ws` checks more strictly than nats-server (it wants
 * Upgrade exactly "websocket" and a numeric version), once our own checks have
 * passed, so a request nats-server accepts is accepted here too.
 */
export function normaliseForWs(req: IncomingMessage): void {
  req.headers.upgrade = "websocket";
  req.headers["sec-websocket-version"] = "13";
}

/** Writes a minimal HTTP error response and closes the socket. */
export function writeHttpRejection(socket: Duplex, rejection: UpgradeRejection): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = rejection.message + "\n";
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: text/plain\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
