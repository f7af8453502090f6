/**
 * The shapes of the two AAA service requests the login relay accepts, from
 * aaasvc's api/swagger.yaml (LoginRequest, SignRequest) and its handlers: a
 * login carries the user name, password, hex ed25519 public key, a unix
 * timestamp string and a hex ed25519 signature; a sign request carries the
 * caller's JWT, the base64 (standard alphabet, Go's strfmt.Base64) Choria
 * request and an optional hex signature of the decoded request (optional
 * because aaasvc may allow bearer tokens). The relay checks these before
 * contacting the service, so junk never costs the service a bcrypt round.
 */
import { z } from "zod";

const hexOf = (chars: number, what: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
    .regex(new RegExp(`^[0-9a-fA-F]{${chars}}$`), `must be ${chars} hex characters (${what})`);

const requiredString = (max: number) =>
  z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`);

export const loginRequestSchema = z.object({
  username: requiredString(256),
  password: requiredString(4096),
  public_key: hexOf(64, "ed25519 public key"),
  timestamp: z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
    .regex(/^\d{1,19}$/, "must be unix seconds as a decimal string"),
  signature: hexOf(128, "ed25519 signature"),
});

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const signRequestSchema = z.object({
  token: requiredString(65536).regex(JWT_SHAPE, "must be a JWT (three base64url parts)"),
  request: requiredString(4 * 1024 * 1024).regex(STD_BASE64, "must be standard base64"),
  signature: z.string({ error: "must be a string" })
    .regex(/^(?:[0-9a-fA-F]{128})?$/, "must be empty or 128 hex characters (ed25519 signature)")
    .optional(),
});

/** "public_key: must be 64 hex characters (…)" — the first problem, naming the field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const field = issue.path.map(String).join(".");
  return field ? `${field}: ${issue.message}` : issue.message;
}

export type RelayRoute = "login" | "sign";

/** Validates a parsed JSON body for `route`; returns null when it is fine, else the problem. */
export function validateRelayBody(route: RelayRoute, body: unknown): string | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "request body must be a JSON object";
  const result = (route === "login" ? loginRequestSchema : signRequestSchema).safeParse(body);
  return result.success ? null : `invalid ${route} request: ${describeIssue(result.error)}`;
}
