/**
 * Compiles a caller's permissions from verified claims and the loaded policies
 * into allow/deny SubjectSets (the same trie that routes messages), with
 * bounded per-subject verdict caches because publish and delivery checks run
 * per message. Allow-list semantics: what no policy grants is denied. Two hard
 * restrictions sit above every grant and cannot be lifted by any policy or
 * claim (README.md, "What it does and refuses"): no subscription may intersect `choria.lifecycle.>`, and no
 * subscription may intersect `<collective>.reply.*.>` unless it lies inside the
 * caller's own `*.reply.<md5|sha256>.>`. Wildcards that only overlap other
 * collectives' reply subjects (`ops.>` may match `ops.reply.<hash>.x`) are
 * allowed but filtered at delivery: no caller is ever delivered a
 * `<any>.reply.<hash>.…` message whose hash is not its own. If compiling fails
 * the caller gets deny-all.
 */
import { isSubsetOf, isValidLiteralSubject, isValidSubject, subjectsIntersect } from "../subject/subject.js";
import { SubjectSet } from "../subject/subject_set.js";
import { conditionHolds, expandTemplate, type Policy, type TemplateVars } from "./policies.js";
import { replyHashes } from "./reply_namespace.js";
import type { ClientClaims, Permissions } from "./types.js";

export const LIFECYCLE_PATTERN = "choria.lifecycle.>";
const LIFECYCLE_PREFIX = "choria.lifecycle.";
/** The main collective's reply namespaces: `<collective>.reply.<hash>.<id…>`, four tokens or more. */
export function replyNamespacesPattern(collective: string): string {
  return `${collective}.reply.*.>`;
}
const DEFAULT_ACCOUNT = "choria";
const DEFAULT_OU = "choria";
const DEFAULT_COLLECTIVE = "choria";
const DEFAULT_VERDICT_CACHE = 2048;

export interface PermissionOptions {
  /** Main collective ({{collective}} in policies). */
  collective: string;
  /** Account the caller lands in (the gateway has one: "choria"). */
  account?: string;
  /** Verdict cache entries per check kind. */
  cacheSize?: number;
}

/** Plain allow/deny subject lists, before compiling. */
export interface PermissionGrants {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
  /** Names of the policies that applied, for the audit log. */
  policies: string[];
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

/** Bounded verdict cache: drops the oldest entry when full. */
function remember(cache: Map<string, boolean>, max: number, key: string, verdict: boolean): boolean {
  if (max <= 0) return verdict;
  if (cache.size >= max) cache.delete(cache.keys().next().value as string);
  cache.set(key, verdict);
  return verdict;
}

class CompiledPermissions implements Permissions {
  private readonly pubAllow: SubjectSet;
  private readonly pubDeny: SubjectSet;
  private readonly subAllow: SubjectSet;
  private readonly subDeny: SubjectSet;
  private readonly ownReplies: readonly string[];
  private readonly ownHashes: readonly string[];
  private readonly foreignReplies: string;
  private readonly pubVerdicts = new Map<string, boolean>();
  private readonly subVerdicts = new Map<string, boolean>();
  private readonly deliverVerdicts = new Map<string, boolean>();
  private readonly cacheSize: number;

  constructor(callerId: string, grants: PermissionGrants, cacheSize: number, collective: string) {
    // Each SubjectSet keeps its own verdict cache off; ours below sit one level up.
    const setOpts = { cacheSize: 0 };
    this.pubAllow = new SubjectSet(grants.publish.allow, setOpts);
    this.pubDeny = new SubjectSet(grants.publish.deny, setOpts);
    this.subAllow = new SubjectSet(grants.subscribe.allow, setOpts);
    this.subDeny = new SubjectSet(grants.subscribe.deny, setOpts);
    const { md5, sha256 } = replyHashes(callerId);
    this.ownHashes = [md5, sha256];
    this.ownReplies = [`*.reply.${md5}.>`, `*.reply.${sha256}.>`];
    this.cacheSize = cacheSize;
    this.foreignReplies = replyNamespacesPattern(collective);
  }

  canPublish(subject: string): boolean {
    const cached = this.pubVerdicts.get(subject);
    if (cached !== undefined) return cached;
    const verdict = isValidLiteralSubject(subject) && !this.pubDeny.matches(subject) && this.pubAllow.matches(subject);
    return remember(this.pubVerdicts, this.cacheSize, subject, verdict);
  }

  // Queue-group-specific grants are not used by any Choria set; the queue does not change the verdict.
  canSubscribe(subject: string, _queue?: string): boolean {
    const cached = this.subVerdicts.get(subject);
    if (cached !== undefined) return cached;
    return remember(this.subVerdicts, this.cacheSize, subject, this.subscribeVerdict(subject));
  }

  private subscribeVerdict(subject: string): boolean {
    if (!isValidSubject(subject)) return false;
    // Hard restriction (a): lifecycle events are never subscribable, whatever the grants.
    if (subjectsIntersect(subject, LIFECYCLE_PATTERN)) return false;
    // Hard restriction (b): another caller's replies are never subscribable.
    // Generic inboxes are reachable only through the reply-namespace mapping (the connection maps `_INBOX.` first).
    if (subject.startsWith("_INBOX.") || subject === "_INBOX") return false;
    if (subjectsIntersect(subject, this.foreignReplies) && !this.ownReplies.some((own) => isSubsetOf(subject, own))) return false;
    // A subscription wholly inside a deny is refused; one that merely overlaps is filtered at delivery.
    if (this.subDeny.covers(subject)) return false;
    return this.subAllow.covers(subject);
  }

  // Per delivered message: reply subjects are unique per request, so the common
  // path avoids the cache and allocates nothing; only a deny list needs a lookup.
  canDeliver(subject: string): boolean {
    if (subject.startsWith(LIFECYCLE_PREFIX) || this.isForeignReply(subject)) return false;
    if (this.subDeny.size === 0) return true;
    const cached = this.deliverVerdicts.get(subject);
    if (cached !== undefined) return cached;
    return remember(this.deliverVerdicts, this.cacheSize, subject, !this.subDeny.matches(subject));
  }

  /** `<c>.reply.<hash>.…` where hash is not ours (defence in depth; SUB checks already exclude it). */
  private isForeignReply(subject: string): boolean {
    const first = subject.indexOf(".");
    if (first < 0 || !subject.startsWith("reply.", first + 1)) return false;
    const start = first + 7; // after "<c>.reply."
    const end = subject.indexOf(".", start);
    if (end < 0) return false; // `<c>.reply.<x>` is not inside anyone's `*.reply.<hash>.>`
    const len = end - start;
    for (const h of this.ownHashes) if (len === h.length && subject.startsWith(h, start)) return false;
    return true;
  }

  describe(): { publish: { allow: string[]; deny: string[] }; subscribe: { allow: string[]; deny: string[] } } {
    return {
      publish: { allow: this.pubAllow.patterns(), deny: this.pubDeny.patterns() },
      subscribe: {
        allow: this.subAllow.patterns(),
        deny: [...this.subDeny.patterns(), LIFECYCLE_PATTERN, `${this.foreignReplies} (other callers' reply namespaces)`],
      },
    };
  }
}

const DENY_ALL: Permissions = Object.freeze({
  canPublish: () => false,
  canSubscribe: () => false,
  canDeliver: () => false,
  describe: () => ({ publish: { allow: [], deny: [">"] }, subscribe: { allow: [], deny: [">"] } }),
});

/** Compile explicit grants for `callerId` (hard restrictions added). Throws on an invalid subject. */
export function permissionsFromGrants(
  callerId: string,
  grants: PermissionGrants,
  cacheSize = DEFAULT_VERDICT_CACHE,
  collective = DEFAULT_COLLECTIVE,
): Permissions {
  return new CompiledPermissions(callerId, grants, cacheSize, collective);
}

/** Compile the permissions of a verified caller. Throws when anything is in doubt. */
export function compilePermissions(claims: ClientClaims, policies: readonly Policy[], opts: PermissionOptions): Permissions {
  return permissionsFromGrants(claims.callerid, evaluatePolicies(claims, policies, opts), opts.cacheSize ?? DEFAULT_VERDICT_CACHE, opts.collective);
}

/** compilePermissions, but deny-all (with `onError` told why) instead of throwing. */
export function compilePermissionsOrDenyAll(
  claims: ClientClaims,
  policies: readonly Policy[],
  opts: PermissionOptions,
  onError: (err: unknown) => void,
): Permissions {
  try {
    return compilePermissions(claims, policies, opts);
  } catch (err) {
    onError(err);
    return DENY_ALL;
  }
}

/** Development mode: pub/sub `>`, minus the hard restrictions that bind everyone. */
export function developmentPermissions(callerId: string, collective = DEFAULT_COLLECTIVE): Permissions {
  return permissionsFromGrants(
    callerId,
    { publish: { allow: [">"], deny: [] }, subscribe: { allow: [">"], deny: [] }, policies: ["development"] },
    DEFAULT_VERDICT_CACHE,
    collective,
  );
}
