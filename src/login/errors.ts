/**
 * Typed errors of the AAA login flow and the classification of network errors
 * shared by `aaa-leafnode login` and the login relay. Both must decide the same
 * question for every failure: did the request never leave (connection refused,
 * DNS, connect timeout, TLS handshake), so the next AAA URL may be tried, or
 * may the service have seen it, so trying again could act twice?
 */
import { GatewayError } from "../errors.js";

/** Stable codes of login failures; tests assert on these. */
export const LoginErrorCode = {
  Usage: "GW_ERR_LOGIN_USAGE",
  Config: "GW_ERR_LOGIN_CONFIG",
  Seed: "GW_ERR_LOGIN_SEED",
  Prompt: "GW_ERR_LOGIN_PROMPT",
  /** The service answered with `{"error": ...}` (wrong password and the like). */
  Refused: "GW_ERR_LOGIN_REFUSED",
  /** No URL could be connected to. */
  Unreachable: "GW_ERR_LOGIN_UNREACHABLE",
  /** A URL failed certificate verification (and no other URL answered). */
  Tls: "GW_ERR_LOGIN_TLS",
  /** The service answered with something that is not `{"token": "<jwt>"}`. */
  Malformed: "GW_ERR_LOGIN_MALFORMED",
  Timeout: "GW_ERR_LOGIN_TIMEOUT",
  Files: "GW_ERR_LOGIN_FILES",
} as const;
export type LoginErrorCode = (typeof LoginErrorCode)[keyof typeof LoginErrorCode];

export class LoginError extends GatewayError<LoginErrorCode> {}

/** Node/undici error codes raised before any request byte was written. */
const connectPhaseCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** OpenSSL verification results Node reports as `err.code` (subset seen in practice). */
const tlsVerifyCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH",
  "INVALID_CA",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The error code of a network failure, looking through undici's `cause` wrapping. */
export function networkErrorCode(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur !== null && typeof cur === "object"; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "UNKNOWN";
}

/** Whether a code means the TLS handshake failed (certificate or protocol). */
export function isTlsFailure(code: string): boolean {
  return tlsVerifyCodes.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_");
}

/**
 * Whether the request certainly never reached the service, so another URL may be
 * tried. TLS handshake failures count: the HTTP request is written only after
 * the handshake.
 */
export function failedBeforeSending(code: string): boolean {
  return connectPhaseCodes.has(code) || isTlsFailure(code);
}

/** Whether a code is one of undici's timeouts after the connection was made. */
export function isResponseTimeout(code: string): boolean {
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "ABORT_ERR" || code === "ETIMEDOUT" || code === "UND_ERR_ABORTED";
}
