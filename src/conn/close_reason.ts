/**
 * Why a client connection ended. Every close goes through one of these, so the
 * audit log, the close-reason metric, /connz and the `-ERR` text (if any)
 * always agree (nats-server ClosedState). `wire` is null where nats-server
 * closes silently.
 */
import { WireText } from "../protocol/wire_text.js";

export interface CloseReason {
  /** Metric label and audit field. */
  readonly label: string;
  /** nats-server's text for its ClosedState, which /connz shows as a closed connection's `reason`. */
  readonly text: string;
  /** `-ERR` text sent before closing, or null for a silent close. */
  readonly wire: string | null;
  /** Flush pending data before closing (false: drop it, e.g. slow consumer). */
  readonly flush: boolean;
  /** WebSocket close status, as nats-server maps close reasons (docs/protocol.md#frames). */
  readonly wsCode: number;
}

function reason(label: string, text: string, wire: string | null, flush = true, wsCode = 1008): CloseReason {
  return Object.freeze({ label, text, wire, flush, wsCode });
}

export const CloseReasons = {
  ClientClosed: reason("client_closed", "Client Closed", null, true, 1000),
  ServerShutdown: reason("server_shutdown", "Server Shutdown", null, true, 1001),
  LameDuck: reason("lame_duck", "Server Shutdown", null, true, 1001),
  AuthTimeout: reason("auth_timeout", "Authentication Timeout", WireText.AuthTimeout),
  AuthViolation: reason("auth_violation", "Authentication Failure", WireText.AuthViolation),
  AuthExpired: reason("auth_expired", "Authentication Expired", WireText.AuthExpired),
  ForeignProtocol: reason("foreign_protocol", "Protocol Violation", WireText.AuthViolation),
  /** A route/gateway/leafnode op (RS+, LS+, LMSG, A+ ...) on the client port: nats-server 2.9.10 answers as to any unknown op. */
  ForeignOp: reason("foreign_op", "Parse Error", WireText.UnknownOp, true, 1002),
  ParseError: reason("parse_error", "Parse Error", WireText.UnknownOp, true, 1002),
  BadArguments: reason("bad_arguments", "Parse Error", null, true, 1002),
  BadConnect: reason("bad_connect", "Parse Error", null, true, 1002),
  InvalidProtocol: reason("invalid_protocol", "Bad Client Protocol Version", WireText.InvalidProtocol, true, 1002),
  NoRespondersNeedsHeaders: reason("no_responders_needs_headers", "No Responders Requires Headers", WireText.NoRespondersNeedsHeaders, true, 1002),
  HeadersNotNegotiated: reason("headers_not_negotiated", "Message Header Violation", null, true, 1002),
  MaxPayload: reason("max_payload", "Maximum Message Payload Exceeded", WireText.MaxPayload, true, 1009),
  MaxControlLine: reason("max_control_line", "Maximum Control Line Exceeded", WireText.MaxControlLine),
  MaxConnections: reason("max_connections", "Maximum Connections Exceeded", WireText.MaxConnections),
  MaxCallerConnections: reason("max_caller_connections", "Maximum Account Connections Exceeded", WireText.MaxAccountConnections),
  StaleConnection: reason("stale_connection", "Stale Connection", WireText.StaleConnection, true, 1006),
  SlowConsumerPending: reason("slow_consumer_pending_bytes", "Slow Consumer (Pending Bytes)", null, false),
  SlowConsumerDeadline: reason("slow_consumer_write_deadline", "Slow Consumer (Write Deadline)", null, false),
  ClientError: reason("client_sent_err", "Parse Error", null, true, 1002),
  TransportError: reason("transport_error", "Read Error", null, false, 1006),
  PermissionsRevoked: reason("permissions_revoked", "Authentication Failure", WireText.AuthViolation),
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
