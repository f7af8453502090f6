/**
 * Typed errors for the whole gateway. Every error carries a stable `code` that
 * tests assert on; errors that reach a NATS peer also carry the exact wire text
 * (see protocol/wire_text.ts), because client libraries parse those strings.
 */

export class GatewayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GatewayError";
    this.code = code;
  }
}

/**
 * A protocol violation found while parsing or processing a peer's bytes.
 * `wire` is the text to send inside `-ERR '…'`, or null when nats-server
 * closes silently; `closes` says whether the connection must be closed.
 */
export class ProtocolError extends GatewayError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ProtocolError";
  }
}

/**
 * A refused authentication. `reason` is the detail for the audit log and never
 * goes to the peer, who only ever sees 'Authorization Violation'.
 */
export class AuthError extends GatewayError {
  readonly reason: string;
  constructor(code: string, reason: string, options?: ErrorOptions) {
    super(code, reason, options);
    this.name = "AuthError";
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
    this.name = "ConfigError";
    this.file = where.file;
    this.line = where.line;
    this.key = where.key;
  }
}

/** A failure on the upstream leafnode link (refusal by the hub, TLS, protocol). */
export class UpstreamError extends GatewayError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "UpstreamError";
  }
}
