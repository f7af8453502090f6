/**
 * The hub's subscribe grants for our leaf connection: the `import` object of
 * the connect_info INFO (`{"allow":[…],"deny":[…]}`). The hub closes the link
 * when we announce a *literal* subject outside them (a wildcard LS+ is accepted
 * and filtered at delivery), so, like Go spokes, we check literal interest
 * before announcing it (docs/protocol.md#interest and #handshake).
 */
import { hasWildcard } from "../subject/subject.js";
import { SubjectSet } from "../subject/subject_set.js";

export class ImportGrants {
  static readonly none = new ImportGrants(null, null);

  private constructor(
    private readonly allow: SubjectSet | null,
    private readonly deny: SubjectSet | null,
  ) {}

  /** From the INFO `import` field; anything else means "no restrictions". */
  static from(grants: unknown): ImportGrants {
    if (typeof grants !== "object" || grants === null) return ImportGrants.none;
    const g = grants as { allow?: unknown; deny?: unknown };
    return new ImportGrants(toSet(g.allow), toSet(g.deny));
  }

  /** May we announce interest in this subject without the hub closing the link? */
  allows(subject: string): boolean {
    if (hasWildcard(subject)) return true;
    if (this.allow !== null && !this.allow.matches(subject)) return false;
    return this.deny === null || !this.deny.matches(subject);
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
