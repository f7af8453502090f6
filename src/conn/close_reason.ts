/**
 * Why a client connection ended. Every close goes through one of these, so the
 * audit log, the close-reason metric and the `-ERR` text (if any) always agree
 * (nats-server ClosedState). `wire` is null where nats-server closes silently.
 */
import { WireText } from "../protocol/wire_text.js";

export interface CloseReason {
  /** Metric label and audit field. */
  readonly label: string;
  /** `-ERR` text sent before closing, or null for a silent close. */
  readonly wire: string | null;
  /** Flush pending data before closing (false: drop it, e.g. slow consumer). */
  readonly flush: boolean;
  /** WebSocket close status, as nats-server maps close reasons (docs/protocol.md#frames). */
  readonly wsCode: number;
}

function reason(label: string, wire: string | null, flush = true, wsCode = 1008): CloseReason {
  return Object.freeze({ label, wire, flush, wsCode });
}

export const CloseReasons = {
  ClientClosed: reason("client_closed", null, true, 1000),
  ServerShutdown: reason("server_shutdown", null, true, 1001),
  LameDuck: reason("lame_duck", null, true, 1001),
  AuthTimeout: reason("auth_timeout", WireText.AuthTimeout),
  AuthViolation: reason("auth_violation", WireText.AuthViolation),
  AuthExpired: reason("auth_expired", WireText.AuthExpired),
  ForeignProtocol: reason("foreign_protocol", WireText.AuthViolation),
  /** A route/gateway/leafnode op (RS+, LS+, LMSG, A+ ...) on the client port: nats-server 2.9.10 answers as to any unknown op. */
  ForeignOp: reason("foreign_op", WireText.UnknownOp, true, 1002),
  ParseError: reason("parse_error", WireText.UnknownOp, true, 1002),
  BadArguments: reason("bad_arguments", null, true, 1002),
  BadConnect: reason("bad_connect", null, true, 1002),
  InvalidProtocol: reason("invalid_protocol", WireText.InvalidProtocol, true, 1002),
  NoRespondersNeedsHeaders: reason("no_responders_needs_headers", WireText.NoRespondersNeedsHeaders, true, 1002),
  HeadersNotNegotiated: reason("headers_not_negotiated", null, true, 1002),
  MaxPayload: reason("max_payload", WireText.MaxPayload, true, 1009),
  MaxControlLine: reason("max_control_line", WireText.MaxControlLine),
  MaxConnections: reason("max_connections", WireText.MaxConnections),
  MaxCallerConnections: reason("max_caller_connections", WireText.MaxAccountConnections),
  StaleConnection: reason("stale_connection", WireText.StaleConnection, true, 1006),
  SlowConsumerPending: reason("slow_consumer_pending_bytes", null, false),
  SlowConsumerDeadline: reason("slow_consumer_write_deadline", null, false),
  ClientError: reason("client_sent_err", null, true, 1002),
  TransportError: reason("transport_error", null, false, 1006),
  PermissionsRevoked: reason("permissions_revoked", WireText.AuthViolation),
} as const;

/**
 * Why a connection ended when its transport closed under it. A WebSocket
 * message over the limit (closed with 1009 by the transport) is what the TLS
 * port calls the same thing: before login a CONNECT line too long, after it a
 * payload too large. Anything else failing is a transport error.
 */
export function transportCloseReason(err: Error | undefined, loggedIn: boolean): CloseReason {
  if (err === undefined) return CloseReasons.ClientClosed;
  if ((err as { code?: unknown }).code === "GW_ERR_WS_MESSAGE_TOO_LARGE") return loggedIn ? CloseReasons.MaxPayload : CloseReasons.MaxControlLine;
  return CloseReasons.TransportError;
}
