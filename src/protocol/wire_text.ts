/**
 * The exact texts nats-server 2.9.10 sends inside `-ERR '…'`. Client libraries
 * parse these strings (nats.go closes for good on any text it does not know), so
 * they are a contract: never invent new ones. Catalogue: docs/protocol.md#error-catalogue.
 */
export const WireText = {
  UnknownOp: "Unknown Protocol Operation",
  AuthViolation: "Authorization Violation",
  AuthTimeout: "Authentication Timeout",
  AuthExpired: "User Authentication Expired",
  MaxPayload: "Maximum Payload Violation",
  MaxControlLine: "maximum control line exceeded",
  MaxConnections: "maximum connections exceeded",
  MaxSubscriptions: "maximum subscriptions exceeded",
  InvalidProtocol: "invalid client protocol",
  NoRespondersNeedsHeaders: "no responders requires headers support",
  StaleConnection: "Stale Connection",
  InvalidSubject: "Invalid Subject",
} as const;

/** `Permissions Violation for Publish to "<subject>"` (connection stays open). */
export function pubViolation(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

/** `Permissions Violation for Publish with Reply of "<reply>"` (connection stays open). */
export function replyViolation(reply: string): string {
  return `Permissions Violation for Publish with Reply of "${reply}"`;
}

/** `Permissions Violation for Subscription to "<subject>"[ using queue "<q>"]` (stays open). */
export function subViolation(subject: string, queue?: string): string {
  return queue
    ? `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`
    : `Permissions Violation for Subscription to "${subject}"`;
}

/** The whole `-ERR` line for a text. */
export function errLine(text: string): string {
  return `-ERR '${text}'\r\n`;
}
