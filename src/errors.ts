/**
 * Typed errors for the whole gateway. Every error carries a stable `code` that
 * tests assert on; errors that reach a NATS peer also carry the exact wire text
 * (see protocol/wire_text.ts), because client libraries parse those strings.
 */

export class GatewayError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    // Every subclass is named after itself without repeating a constructor to say so.
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A protocol violation found while parsing or processing a peer's bytes; the
 * connection maps its code to the `-ERR` text and the close (docs/protocol.md).
 */
export class ProtocolError extends GatewayError {}

/**
 * A refused authentication. `reason` is the detail for the audit log and never
 * goes to the peer, who only ever sees 'Authorization Violation'.
 */
export class AuthError extends GatewayError {
  readonly reason: string;
  constructor(code: string, reason: string, options?: ErrorOptions) {
    super(code, reason, options);
    this.reason = reason;
  }
}

/** A configuration problem; the message names the file, line and key when known. */
export class ConfigError extends GatewayError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(message: string, where: { file?: string; line?: number; key?: string } = {}, options?: ErrorOptions) {
    const prefix = [where.file, where.line !== undefined ? String(where.line) : undefined].filter(Boolean).join(":");
    const keyPart = where.key ? `${where.key}: ` : "";
    super("GW_ERR_CONFIG", `${prefix ? prefix + ": " : ""}${keyPart}${message}`, options);
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}

/** A failure on the upstream leafnode link (refusal by the hub, TLS, protocol). */
export class UpstreamError extends GatewayError {}
