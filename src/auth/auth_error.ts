/**
 * The stable codes of every authentication refusal. Tests and metrics key on
 * these codes; the human reason travels alongside in AuthError.reason and goes
 * only to the audit log (the peer always sees 'Authorization Violation').
 */
import { AuthError } from "../errors.js";

export const AuthCode = {
  NoToken: "GW_ERR_AUTH_NO_TOKEN",
  TooLarge: "GW_ERR_AUTH_TOO_LARGE",
  Malformed: "GW_ERR_AUTH_MALFORMED",
  Alg: "GW_ERR_AUTH_ALG",
  BadSignature: "GW_ERR_AUTH_BAD_SIGNATURE",
  Expired: "GW_ERR_AUTH_EXPIRED",
  NotYetValid: "GW_ERR_AUTH_NOT_YET_VALID",
  Purpose: "GW_ERR_AUTH_PURPOSE",
  Claims: "GW_ERR_AUTH_CLAIMS",
  Chain: "GW_ERR_AUTH_CHAIN",
  Nonce: "GW_ERR_AUTH_NONCE",
  Insecure: "GW_ERR_AUTH_INSECURE",
  NotConfigured: "GW_ERR_AUTH_NOT_CONFIGURED",
} as const;

export type AuthCodeValue = (typeof AuthCode)[keyof typeof AuthCode];

/** Shorthand used by the verifiers: `throw refuse(AuthCode.Expired, "token expired at …")`. */
export function refuse(code: AuthCodeValue, reason: string, cause?: unknown): AuthError {
  return new AuthError(code, reason, cause === undefined ? undefined : { cause });
}
