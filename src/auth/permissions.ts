/**
 * Evaluates the loaded policies against a caller's verified claims into plain
 * allow/deny subject lists (grants), expanding `{{caller_md5}}`,
 * `{{collective}}` and the other templates. What no policy grants is denied.
 * The grants are compiled, together with the hard restrictions no grant can
 * lift, into the caller's CallerPolicy (caller_policy.ts), which answers every
 * question about the caller; if anything is in doubt the caller gets deny-all.
 */
import { isValidSubject } from "../subject/subject.js";
import { CallerPolicy, callerPolicyOrDenyAll, type PermissionGrants } from "./caller_policy.js";
import { conditionHolds, expandTemplate, type Policy, type TemplateVars } from "./policies.js";
import { replyHashes } from "./reply_namespace.js";
import type { ClientClaims } from "./types.js";

const DEFAULT_ACCOUNT = "choria";
const DEFAULT_OU = "choria";

export interface PermissionOptions {
  /** Main collective ({{collective}} in policies, and the reply namespace prefix). */
  collective: string;
  /** Account the caller lands in (the gateway has one: "choria"). */
  account?: string;
}

/** Evaluate the policies against the claims into subject lists (throws on a bad expansion). */
export function evaluatePolicies(claims: ClientClaims, policies: readonly Policy[], opts: PermissionOptions): PermissionGrants {
  const { md5, sha256 } = replyHashes(claims.callerid);
  const vars: TemplateVars = { caller_md5: md5, caller_sha256: sha256, ou: claims.ou || DEFAULT_OU, collective: opts.collective };
  const ctx = { claims, account: opts.account ?? DEFAULT_ACCOUNT };
  const grants: PermissionGrants = { publish: { allow: [], deny: [] }, subscribe: { allow: [], deny: [] }, policies: [] };
  const expand = (t: string): string => {
    const s = expandTemplate(t, vars);
    if (!isValidSubject(s)) throw new Error(`policy subject ${JSON.stringify(t)} expands to invalid ${JSON.stringify(s)}`);
    return s;
  };
  for (const p of policies) {
    if (!conditionHolds(p.when, ctx)) continue;
    grants.policies.push(p.name);
    for (const t of p.publish) grants.publish.allow.push(expand(t));
    for (const t of p.subscribe) grants.subscribe.allow.push(expand(t));
    for (const t of p.deny.publish) grants.publish.deny.push(expand(t));
    for (const t of p.deny.subscribe) grants.subscribe.deny.push(expand(t));
    if (p.tokenSubjects) {
      grants.publish.allow.push(...(claims.pub_subjects ?? []));
      grants.subscribe.allow.push(...(claims.sub_subjects ?? []));
    }
  }
  return grants;
}

/** The caller's policy. Throws when anything is in doubt (a bad expansion or subject). */
export function compileCallerPolicy(claims: ClientClaims, policies: readonly Policy[], opts: PermissionOptions): CallerPolicy {
  return new CallerPolicy(claims.callerid, opts.collective, evaluatePolicies(claims, policies, opts));
}

/** compileCallerPolicy, but deny-all (with `onError` told why) instead of throwing. */
export function compileCallerPolicyOrDenyAll(
  claims: ClientClaims,
  policies: readonly Policy[],
  opts: PermissionOptions,
  onError: (err: unknown) => void,
): CallerPolicy {
  return callerPolicyOrDenyAll(claims.callerid, opts.collective, () => evaluatePolicies(claims, policies, opts), onError);
}
