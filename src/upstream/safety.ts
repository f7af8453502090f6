/**
 * What a hub will refuse from our leaf connection, decided before anything is
 * sent, because a hub answers a refused LS+ or LMSG by closing the whole link
 * (nats-server `leafPermViolation`: "-ERR 'Permissions Violation for
 * Subscription to "x"'", then close) and every caller would lose the fleet.
 * docs/leafnode.md describes each rule:
 *
 * - the connect_info INFO's `import` (what we may subscribe to, i.e. announce
 *   with LS+) and `export` (what we may publish, i.e. send as LMSG);
 * - the JetStream deny `$JS.API.> $KV.> $OBJ.>` every nats-server hub from
 *   2.9 to 2.14 adds, in both directions, to a leaf bound to an ordinary
 *   account ("JetStream Not Extended" or "Adding deny" in its log). It is not
 *   in the INFO, so we apply it ourselves unless the remote is configured as
 *   one that extends JetStream. For interest (LS+) on every version; for
 *   messages only on hubs that check what a leaf publishes (2.14 on:
 *   `leafMsgAllowed`). Older hubs take JetStream requests from a leaf and
 *   answer them, which is how Choria Streams work through the gateway
 *   (docs/jetstream.md);
 * - the loop-detection subject `$LDS.<id>`: a hub closes a leaf that announces
 *   the hub's own one ("Loop detected"). Clients have no business there, so
 *   every literal `$LDS.` subject is refused.
 *
 * The hub checks only literal LS+ subjects (a wildcard is accepted and
 * filtered at delivery), so wildcard interest always passes here. Pure: the
 * caller-facing decision (a SUB refused with the permissions -ERR) and the
 * link's own filter ask the same functions.
 */
import { hasWildcard } from "../subject/subject.js";
import { compareVersions, parseVersion } from "../nats_version.js";
import { SubjectSet } from "../subject/subject_set.js";

/** The hub's implicit deny for a leaf that does not extend its JetStream. */
export const JETSTREAM_DENY: readonly string[] = Object.freeze(["$JS.API.>", "$KV.>", "$OBJ.>"]);
const LOOP_PREFIX = "$LDS.";

/** One allow/deny pair from the INFO (`{"allow":[…],"deny":[…]}`); null sides impose nothing. */
class Grant {
  static readonly open = new Grant(null, null);
  private constructor(
    private readonly allow: SubjectSet | null,
    private readonly deny: SubjectSet | null,
  ) {}

  static from(v: unknown): Grant {
    if (typeof v !== "object" || v === null) return Grant.open;
    const g = v as { allow?: unknown; deny?: unknown };
    const allow = toSet(g.allow), deny = toSet(g.deny);
    return allow === null && deny === null ? Grant.open : new Grant(allow, deny);
  }

  permits(literal: string): boolean {
    if (this.allow !== null && !this.allow.matches(literal)) return false;
    return this.deny === null || !this.deny.matches(literal);
  }
}

function toSet(v: unknown): SubjectSet | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const set = new SubjectSet();
  for (const p of v) {
    if (typeof p !== "string") continue;
    try {
      set.add(p);
    } catch {
      // Not a valid subject: it can match nothing, so leaving it out changes nothing.
    }
  }
  return set;
}

const jsDeny = new SubjectSet(JETSTREAM_DENY);
/** The first nats-server release that checks a leaf's messages against the link's permissions. */
const CHECKS_LEAF_PUBLISHES = "2.14.0";

/** Does a hub of this version drop a leaf that publishes what the link denies? Unknown: assume it does. */
function checksLeafPublishes(version: string | undefined): boolean {
  return version === undefined || parseVersion(version) === null || compareVersions(version, CHECKS_LEAF_PUBLISHES) >= 0;
}

/** Everything one hub refuses, as known from configuration and its INFO. */
export class HubRules {
  /** Before the hub's INFO: only the rules every hub applies. */
  static initial(jetStreamDeny: boolean): HubRules {
    return new HubRules(Grant.open, Grant.open, jetStreamDeny, true);
  }

  private constructor(
    private readonly imports: Grant,
    private readonly exports: Grant,
    readonly jetStreamDeny: boolean,
    private readonly publishChecked: boolean,
  ) {}

  /** The same rules with the grants of a connect_info INFO (`import`, `export`) and the hub's version. */
  withGrants(importGrant: unknown, exportGrant: unknown, hubVersion?: string): HubRules {
    return new HubRules(Grant.from(importGrant), Grant.from(exportGrant), this.jetStreamDeny, checksLeafPublishes(hubVersion));
  }

  /** The hub would close the link for an LS+ of this subject. */
  refusesInterest(subject: string): boolean {
    if (hasWildcard(subject)) return false;
    if (subject.startsWith(LOOP_PREFIX)) return true;
    if (this.jetStreamDeny && jsDeny.matches(subject)) return true;
    return !this.imports.permits(subject);
  }

  /** The hub would close the link for an LMSG/HMSG on this (literal) subject. */
  refusesPublish(subject: string): boolean {
    if (this.jetStreamDeny && this.publishChecked && jsDeny.matches(subject)) return true;
    return !this.exports.permits(subject);
  }
}

/**
 * The caller-facing predicate: would this hub refuse a subscription to
 * `subject`? A SUB for which it is true must get the permissions -ERR and
 * never go up.
 */
export function hubRefusesSubscription(subject: string, rules: HubRules): boolean {
  return rules.refusesInterest(subject);
}

/** The subject a hub names in the -ERR it sends before closing us for a refused LS+/LMSG. */
export function refusedSubjectOf(err: string): { kind: "subscribe" | "publish"; subject: string } | null {
  const m = /Permissions Violation for (Subscription|Publish) to "([^"]*)"/.exec(err);
  if (m === null) return null;
  return { kind: m[1] === "Publish" ? "publish" : "subscribe", subject: m[2]! };
}
