/**
 * The shape of a Choria client-id token (docs/protocol.md#token-claims), checked with zod
 * after the signature verified. Only claims we act on are typed; unknown claims
 * are dropped. Purpose is judged separately and first, on the unverified
 * payload, because it is only ever a reason to refuse (server and provisioning
 * tokens get their own audit reason, as the Go broker routes on it).
 */
import { z } from "zod";
import { isValidSubject } from "../subject/subject.js";
import type { ClientClaims } from "./types.js";
import { AuthCode, refuse } from "./auth_error.js";

export const CLIENT_ID_PURPOSE = "choria_client_id";

const numericDate = z.number().finite();
const subjectList = z
  .array(z.string().refine(isValidSubject, { message: "invalid subject" }))
  .nullish();

const permissionsSchema = z
  .object({
    streams_admin: z.boolean().optional(),
    streams_user: z.boolean().optional(),
    events_viewer: z.boolean().optional(),
    election_user: z.boolean().optional(),
    system_user: z.boolean().optional(),
    governor: z.boolean().optional(),
    org_admin: z.boolean().optional(),
    fleet_management: z.boolean().optional(),
    signed_fleet_management: z.boolean().optional(),
    service: z.boolean().optional(),
    authentication_delegator: z.boolean().optional(),
    provisioner: z.boolean().optional(),
  })
  .nullish();

const clientClaimsSchema = z.object({
  purpose: z.literal(CLIENT_ID_PURPOSE),
  callerid: z.string({ message: "callerid is required" }).min(1, "callerid is required"),
  public_key: z
    .string({ message: "public_key is required" })
    .regex(/^[0-9a-fA-F]{64}$/, "public_key must be 64 hex characters (an ed25519 public key)"),
  exp: numericDate,
  nbf: numericDate.optional(),
  iat: numericDate.optional(),
  iss: z.string().optional(),
  jti: z.string().optional(),
  tcs: z.string().optional(),
  issexp: numericDate.optional(),
  // ou ends up inside subjects ({{ou}}.republish.>), so it must be one plain subject token.
  ou: z
    .string()
    .regex(/^[^\s.*>]*$/, "ou must be a single subject token")
    .optional(),
  agents: z.array(z.string()).nullish(),
  permissions: permissionsSchema,
  pub_subjects: subjectList,
  sub_subjects: subjectList,
  user_properties: z.record(z.string(), z.string()).nullish(),
  opa_policy: z.string().optional(),
});

/**
 * Refuse anything that is not a client-id token, with a reason naming what it
 * is. Legacy provisioning tokens have no purpose but `sub = choria_provisioning`.
 */
export function checkPurpose(payload: Record<string, unknown>): void {
  const purpose = payload["purpose"];
  if (purpose === CLIENT_ID_PURPOSE) return;
  if (purpose === "choria_server") throw refuse(AuthCode.Purpose, "server tokens are not accepted");
  if (purpose === "choria_provisioning" || (purpose === undefined && payload["sub"] === "choria_provisioning")) {
    throw refuse(AuthCode.Purpose, "provisioning tokens are not accepted");
  }
  if (purpose === undefined || purpose === "") throw refuse(AuthCode.Purpose, "token has no purpose");
  throw refuse(AuthCode.Purpose, `unsupported token purpose ${JSON.stringify(String(purpose)).slice(0, 80)}`);
}

/** Validate a verified payload into ClientClaims; GW_ERR_AUTH_CLAIMS names the first bad claim. */
export function parseClientClaims(payload: Record<string, unknown>): ClientClaims {
  const result = clientClaimsSchema.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join(".") : "token";
    const missing = issue && issue.code === "invalid_type" && payload[String(issue.path[0])] === undefined;
    throw refuse(AuthCode.Claims, `${where}: ${missing ? "required claim missing" : (issue?.message ?? "invalid claims")}`);
  }
  const c = result.data;
  const claims: ClientClaims = {
    purpose: c.purpose,
    callerid: c.callerid,
    public_key: c.public_key.toLowerCase(),
    exp: c.exp,
  };
  if (c.nbf !== undefined) claims.nbf = c.nbf;
  if (c.iat !== undefined) claims.iat = c.iat;
  if (c.iss !== undefined) claims.iss = c.iss;
  if (c.jti !== undefined) claims.jti = c.jti;
  if (c.tcs !== undefined) claims.tcs = c.tcs;
  if (c.issexp !== undefined) claims.issexp = c.issexp;
  if (c.ou !== undefined && c.ou !== "") claims.ou = c.ou;
  if (c.agents) claims.agents = c.agents;
  if (c.permissions) claims.permissions = c.permissions;
  if (c.pub_subjects) claims.pub_subjects = c.pub_subjects;
  if (c.sub_subjects) claims.sub_subjects = c.sub_subjects;
  if (c.user_properties) claims.user_properties = c.user_properties;
  if (c.opa_policy !== undefined) claims.opa_policy = c.opa_policy;
  // Verified claims are cached and shared by every connection using the token.
  for (const v of Object.values(claims)) if (typeof v === "object" && v !== null) Object.freeze(v);
  return Object.freeze(claims);
}
