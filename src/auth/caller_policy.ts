/**
 * The one answer to "may this caller …". A CallerPolicy is built once per
 * authentication from the caller's grants (permissions.ts) and its reply
 * namespace, and replaced as a whole on reload. The connection asks it and
 * enforces the verdict; it never decides anything itself (go-choria's
 * ChoriaAuth decides, the server enforces).
 *
 * Rules, all of them here and nowhere else (see docs/isolation.md):
 * - publish: a valid literal subject, not reserved, not denied, allowed;
 * - reply of a PUB: `_INBOX.x` is mapped to `<collective>.reply.<md5>._INBOX.x`,
 *   and after mapping it must lie in the caller's own reply namespace
 *   `*.reply.<md5|sha256>.>`, so nobody can make the fleet publish onto
 *   lifecycle, `$SYS`, `$JS` or another caller's subjects;
 * - subscribe: `_INBOX.` mapped first; never anything that can match lifecycle
 *   events or the main collective's reply namespaces other than the caller's
 *   own; then not wholly denied and covered by an allow; and not something
 *   every hub would refuse (the hubs' rules are supplied as a predicate);
 * - deliver: never lifecycle events, someone else's reply namespace (in any
 *   collective), a generic `_INBOX.` subject outside a mapped subscription, or
 *   a denied subject an allowed wildcard overlaps;
 * - deliveries sent on the caller's behalf (a JetStream push consumer's deliver
 *   subject): the subscribe rule, with the same mapping;
 * - what a stream may capture at its request: the hard part of the subscribe
 *   rule (no lifecycle, no other caller's replies, no generic inboxes);
 * - where the hub may send trace events of its message: like a reply, or a
 *   subject it may publish to.
 *
 * Verdict caches are bounded in entries and key length (nats-server keeps 128
 * publish verdicts); a long subject is simply checked every time.
 */
import { BoundedMap } from "../bounded_map.js";
import { isSubsetOf, isValidLiteralSubject, isValidSubject, subjectsIntersect } from "../subject/subject.js";
import type { SubjectSet } from "../subject/subject_set.js";
import { grantSet } from "./grant_sets.js";
import { replyHashes } from "./reply_namespace.js";

export const LIFECYCLE_PATTERN = "choria.lifecycle.>";
const LIFECYCLE_PREFIX = "choria.lifecycle.";
const INBOX = "_INBOX.";
const INBOX_PATTERN = "_INBOX.>";
const REPLY_TOKEN = "reply";
/** Publish subjects nats-server keeps for its own use (gateway replies). */
const RESERVED_PUBLISH = ["_GR_."];

/** Verdicts kept per kind, as nats-server keeps 128 publish verdicts per client. */
export const VERDICT_CACHE_ENTRIES = 128;
/** Subjects longer than this are never cached (checked every time instead). */
export const VERDICT_CACHE_MAX_KEY = 256;

/** A per-caller verdict cache: oldest verdict out first. */
function newVerdictCache(): BoundedMap<boolean> {
  return new BoundedMap<boolean>({ entries: VERDICT_CACHE_ENTRIES, keyLength: VERDICT_CACHE_MAX_KEY });
}

/** What a delivery check answers; the connection counts lifecycle filtering. */
export const Delivery = { Ok: 0, Refused: 1, Lifecycle: 2 } as const;
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

/** The main collective's reply namespaces: `<collective>.reply.<hash>.<id…>`, four tokens or more. */
export function replyNamespacesPattern(collective: string): string {
  return `${collective}.${REPLY_TOKEN}.*.>`;
}

/** Plain allow/deny subject lists, before compiling. */
export interface PermissionGrants {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
  /** Names of the policies that applied, for the audit log. */
  policies: string[];
}

export interface PolicyDescription {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
}

export class CallerPolicy {
  readonly callerId: string;
  /** `<collective>.reply.<md5hex(callerid)>`, without the trailing dot. */
  readonly replyPrefix: string;
  /** Names of the policies that applied. */
  readonly policies: readonly string[];
  /** replyPrefix with its trailing dot. */
  readonly prefixDot: string;
  private readonly inboxPrefix: string;
  private readonly md5: string;
  private readonly sha256: string;
  private readonly ownReplies: readonly string[];
  private readonly foreignReplies: string;
  private readonly pubAllow: SubjectSet;
  private readonly pubDeny: SubjectSet;
  private readonly subAllow: SubjectSet;
  private readonly subDeny: SubjectSet;
  private readonly denyAll: boolean;
  private readonly pubVerdicts = newVerdictCache();
  private readonly deliverVerdicts = newVerdictCache();
  /**
   * The last deliver() question and its answer. A fan-in asks about one
   * subject for every reply; the policy never changes, so the answer cannot.
   */
  private lastDelivered: string | undefined = undefined;
  private lastMapped = false;
  private lastVerdict: Delivery = Delivery.Refused;

  /** Throws (GW_ERR_INVALID_SUBJECT) on an invalid grant; see compileCallerPolicy for the safe form. */
  constructor(callerId: string, collective: string, grants: PermissionGrants, denyAll = false) {
    this.callerId = callerId;
    this.policies = grants.policies.slice();
    const { md5, sha256 } = replyHashes(callerId);
    this.md5 = md5;
    this.sha256 = sha256;
    this.replyPrefix = `${collective}.${REPLY_TOKEN}.${md5}`;
    this.prefixDot = this.replyPrefix + ".";
    this.inboxPrefix = this.prefixDot + INBOX;
    this.ownReplies = [`*.${REPLY_TOKEN}.${md5}.>`, `*.${REPLY_TOKEN}.${sha256}.>`];
    this.foreignReplies = replyNamespacesPattern(collective);
    // Sealed sets without verdict caches, shared by callers with equal lists (grant_sets.ts);
    // the bounded verdict caches here, per caller, sit above them.
    const own = [md5, sha256];
    this.pubAllow = grantSet(grants.publish.allow, own);
    this.pubDeny = grantSet(grants.publish.deny, own);
    this.subAllow = grantSet(grants.subscribe.allow, own);
    this.subDeny = grantSet(grants.subscribe.deny, own);
    this.denyAll = denyAll;
  }

  // ---- publish ----

  /** May this caller publish to `subject`? */
  mayPublish(subject: string): boolean {
    if (this.denyAll) return false;
    const cached = this.pubVerdicts.get(subject);
    if (cached !== undefined) return cached;
    const verdict =
      isValidLiteralSubject(subject) && !hasPrefix(subject, RESERVED_PUBLISH) && !this.pubDeny.matches(subject) && this.pubAllow.matches(subject);
    this.pubVerdicts.set(subject, verdict);
    return verdict;
  }

  /**
   * The reply subject of a PUB as routed: `_INBOX.x` mapped into the caller's
   * namespace, anything else unchanged; null when, after mapping, it does not
   * lie in the caller's own reply namespace (refuse with the reply violation).
   * No exception list: every Choria and JetStream client flow replies into an
   * inbox (see docs/isolation.md).
   */
  routePublishReply(reply: string): string | null {
    if (this.denyAll) return null;
    if (reply.startsWith(INBOX)) {
      const mapped = this.prefixDot + reply;
      return isValidLiteralSubject(mapped) ? mapped : null;
    }
    return isValidLiteralSubject(reply) && this.isOwnReply(reply) ? reply : null;
  }

  /** `<any collective>.reply.<our md5|sha256>.<at least one more token>` (a valid literal). */
  private isOwnReply(subject: string): boolean {
    const hashStart = replyHashStart(subject);
    if (hashStart < 0) return false;
    const end = subject.indexOf(".", hashStart);
    if (end < 0) return false; // `<c>.reply.<hash>` names no reply inside the namespace
    return this.isOwnHash(subject, hashStart, end);
  }

  private isOwnHash(subject: string, start: number, end: number): boolean {
    const len = end - start;
    return (len === this.md5.length && subject.startsWith(this.md5, start)) || (len === this.sha256.length && subject.startsWith(this.sha256, start));
  }

  // ---- subscribe ----

  /**
   * The subject a SUB is routed under (`_INBOX.x` mapped into the caller's
   * namespace), or null when the subscription is refused.
   */
  routeSubscribe(subject: string, _queue?: string, upstreamRefuses?: (routed: string) => boolean): string | null {
    // Queue-group-specific grants are not used by any Choria set; the queue does not change the verdict.
    if (this.denyAll || !isValidSubject(subject)) return null;
    const routed = subject.startsWith(INBOX) ? this.prefixDot + subject : subject;
    if (!this.subscribeVerdict(routed)) return null;
    // Interest every hub would refuse (the connection supplies the hubs' rules
    // as a fact) would cost everybody the link: refused like a permission.
    return upstreamRefuses?.(routed) ? null : routed;
  }

  /** True when routeSubscribe maps this client subject (deliveries must be mapped back). */
  isMapped(subject: string): boolean {
    return subject.startsWith(INBOX);
  }

  private subscribeVerdict(subject: string): boolean {
    if (!this.outsideOthersTraffic(subject)) return false;
    // A subscription wholly inside a deny is refused; one that merely overlaps is filtered at delivery.
    if (this.subDeny.covers(subject)) return false;
    return this.subAllow.covers(subject);
  }

  /**
   * The hard restrictions that bind every caller whatever it is granted:
   * nothing that can match lifecycle events, nothing that can match the main
   * collective's reply namespaces except inside the caller's own, and no
   * generic inbox (those are reachable only through the `_INBOX.` mapping).
   */
  private outsideOthersTraffic(subject: string): boolean {
    if (subjectsIntersect(subject, LIFECYCLE_PATTERN)) return false;
    if (subject === "_INBOX" || subject.startsWith(INBOX)) return false;
    return !subjectsIntersect(subject, this.foreignReplies) || this.ownReplies.some((own) => isSubsetOf(subject, own));
  }

  /**
   * May JetStream store (or rename stored messages onto) `pattern` at this
   * caller's request: a stream's subjects, a mirror's or source's filter, a
   * subject transform's destination. What a stream stores can be read back by
   * message get, so the rule is the hard part of the subscribe rule (no
   * lifecycle, no other caller's replies) without the grants: a streams_admin
   * may capture any other traffic, as on the Choria broker. Stricter than a
   * subscription in one point: a stream is read back without the delivery
   * filter, so nothing that can match a generic inbox (`*.*` would store
   * hub clients' `_INBOX.x` replies) is accepted either.
   */
  mayCapture(pattern: string): boolean {
    return !this.denyAll && isValidSubject(pattern) && this.outsideOthersTraffic(pattern) && !subjectsIntersect(pattern, INBOX_PATTERN);
  }

  /**
   * Where the hub may send trace events of this caller's message
   * (`Nats-Trace-Dest`): mapped and confined like a reply subject (its own
   * namespace, `_INBOX.` mapped into it), or else a subject the caller may
   * publish to itself. The destination as it must be sent, or null (refuse).
   */
  routeTraceDestination(dest: string): string | null {
    return this.routePublishReply(dest) ?? (this.mayPublish(dest) ? dest : null);
  }

  /**
   * May messages be sent to `subject` on this caller's behalf (a JetStream push
   * consumer's deliver subject)? The subject as it must be used (mapped like a
   * SUB), or null when refused. The same rule as subscribe, on purpose: a
   * deliver subject is a subscription the server makes for the caller.
   */
  routeDeliverySubject(subject: string, group?: string): string | null {
    return this.routeSubscribe(subject, group);
  }

  // ---- deliver ----

  /**
   * May a message on literal `subject` reach this caller through a subscription
   * (`mapped`: the subscription was an `_INBOX.` one routed into the namespace)?
   * Per delivered message: the common path allocates nothing.
   */
  deliver(subject: string, mapped: boolean): Delivery {
    if (subject === this.lastDelivered && mapped === this.lastMapped) return this.lastVerdict;
    const verdict = this.deliveryVerdict(subject, mapped);
    this.lastDelivered = subject;
    this.lastMapped = mapped;
    this.lastVerdict = verdict;
    return verdict;
  }

  private deliveryVerdict(subject: string, mapped: boolean): Delivery {
    if (this.denyAll) return Delivery.Refused;
    // Someone else's generic inbox (a hub client's `_INBOX.…`) reaches no wildcard subscription here.
    if (!mapped && subject.startsWith(INBOX)) return Delivery.Refused;
    if (subject.startsWith(LIFECYCLE_PREFIX)) return Delivery.Lifecycle;
    if (this.isForeignReply(subject)) return Delivery.Refused;
    if (this.subDeny.size === 0) return Delivery.Ok;
    let ok = this.deliverVerdicts.get(subject);
    if (ok === undefined) {
      ok = !this.subDeny.matches(subject);
      this.deliverVerdicts.set(subject, ok);
    }
    return ok ? Delivery.Ok : Delivery.Refused;
  }

  /** `<c>.reply.<hash>.…` where hash is not ours (defence in depth; SUB checks already exclude the main collective). */
  private isForeignReply(subject: string): boolean {
    const hashStart = replyHashStart(subject);
    if (hashStart < 0) return false;
    const end = subject.indexOf(".", hashStart);
    if (end < 0) return false; // `<c>.reply.<x>` is not inside anyone's `*.reply.<hash>.>`
    return !this.isOwnHash(subject, hashStart, end);
  }

  /** A delivered subject of a mapped subscription as the client knows it: `<prefix>._INBOX.x` → `_INBOX.x`. */
  clientSubject(subject: string): string {
    return subject.startsWith(this.inboxPrefix) ? subject.slice(this.prefixDot.length) : subject;
  }

  // ---- for people ----

  /** Allow/deny lists including the hard restrictions, for `token inspect`, `check` and /connz. */
  describe(): PolicyDescription {
    if (this.denyAll) return { publish: { allow: [], deny: [">"] }, subscribe: { allow: [], deny: [">"] } };
    return {
      publish: { allow: this.pubAllow.patterns(), deny: [...this.pubDeny.patterns(), ...RESERVED_PUBLISH.map((p) => `${p}> (reserved)`)] },
      subscribe: {
        allow: this.subAllow.patterns(),
        deny: [...this.subDeny.patterns(), LIFECYCLE_PATTERN, `${this.foreignReplies} (other callers' reply namespaces)`],
      },
    };
  }

  /** Cached verdicts held (for the memory-bound tests). */
  get cachedVerdicts(): number {
    return this.pubVerdicts.size + this.deliverVerdicts.size;
  }
}

/** Index of the hash token in `<c>.reply.<hash>…`, or -1 when the second token is not `reply`. */
function replyHashStart(subject: string): number {
  const first = subject.indexOf(".");
  if (first < 0) return -1;
  const second = subject.indexOf(".", first + 1);
  if (second < 0 || second - first - 1 !== REPLY_TOKEN.length || !subject.startsWith(REPLY_TOKEN, first + 1)) return -1;
  return second + 1;
}

function hasPrefix(s: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (s.startsWith(p)) return true;
  return false;
}

const NO_GRANTS: PermissionGrants = { publish: { allow: [], deny: [] }, subscribe: { allow: [], deny: [] }, policies: [] };

/** A policy that allows nothing at all (what a caller gets when anything is in doubt). */
export function denyAllPolicy(callerId: string, collective: string): CallerPolicy {
  return new CallerPolicy(callerId, collective, NO_GRANTS, true);
}

/** The policy for explicit grants, or deny-all (with `onError` told why) when a grant is invalid. */
export function callerPolicyOrDenyAll(
  callerId: string,
  collective: string,
  grants: () => PermissionGrants,
  onError: (err: unknown) => void,
): CallerPolicy {
  try {
    return new CallerPolicy(callerId, collective, grants());
  } catch (err) {
    onError(err);
    return denyAllPolicy(callerId, collective);
  }
}

/** Development mode: pub/sub `>`, minus the hard restrictions that bind everyone. */
export function developmentPolicy(callerId: string, collective: string): CallerPolicy {
  return new CallerPolicy(callerId, collective, {
    publish: { allow: [">"], deny: [] },
    subscribe: { allow: [">"], deny: [] },
    policies: ["development"],
  });
}
