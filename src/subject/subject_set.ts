/**
 * A set of subject patterns for permission checks (allow/deny lists, the
 * lifecycle ban, reply namespaces). Literal-subject verdicts go through the
 * same Sublist trie that routes messages and are cached in a bounded map,
 * because publish and delivery checks run per message. The wildcard questions
 * (`covers`, `intersects`) are asked once per SUB and scan the few patterns.
 */

import { BoundedMap } from "../bounded_map.js";
import { GatewayError } from "../errors.js";
import { hasWildcard, isSubsetOf, isValidSubject, subjectsIntersect } from "./subject.js";
import { Sublist, type SublistEntry } from "./sublist.js";

const DEFAULT_VERDICT_CACHE_SIZE = 1024;

export class SubjectSet {
  // The trie's own cache stays off: the boolean verdict cache below is smaller.
  private readonly trie = new Sublist<SublistEntry>({ cacheSize: 0 });
  private readonly list: string[] = [];
  private readonly known = new Set<string>();
  private readonly verdicts: BoundedMap<boolean>;
  /** Sealed: add() refuses (a set shared between callers must never change). */
  private sealed = false;

  constructor(patterns: Iterable<string> = [], opts: { cacheSize?: number } = {}) {
    this.verdicts = new BoundedMap<boolean>({ entries: opts.cacheSize ?? DEFAULT_VERDICT_CACHE_SIZE });
    for (const p of patterns) this.add(p);
  }

  /**
   * Add a pattern. An invalid one throws (GW_ERR_INVALID_SUBJECT) instead of
   * being dropped, so a bad grant becomes a visible deny rather than a silent gap.
   */
  add(pattern: string): void {
    if (this.sealed) throw new Error("SubjectSet is sealed: a shared grant set cannot change");
    if (!isValidSubject(pattern)) {
      throw new GatewayError("GW_ERR_INVALID_SUBJECT", `invalid subject pattern ${JSON.stringify(pattern)}`);
    }
    if (this.known.has(pattern)) return;
    this.known.add(pattern);
    this.list.push(pattern);
    this.trie.insert({ subject: pattern, queue: undefined });
    // Patterns are added while compiling permissions, so a full reset is cheap enough.
    this.verdicts.clear();
  }

  /** No more patterns from now on (add() throws); returns the set. */
  seal(): this {
    this.sealed = true;
    return this;
  }

  get size(): number {
    return this.list.length;
  }

  /** The patterns in the order they were added (copy). */
  patterns(): string[] {
    return this.list.slice();
  }

  /** Some pattern matches this literal subject (cached, bounded). */
  matches(literal: string): boolean {
    if (this.verdicts.capacity === 0) return this.trie.hasInterest(literal);
    const cached = this.verdicts.get(literal);
    if (cached !== undefined) return cached;
    const verdict = this.trie.hasInterest(literal);
    this.verdicts.set(literal, verdict);
    return verdict;
  }

  /**
   * Some pattern covers every literal `sub` can match — "may this (possibly
   * wildcard) subscription be made". For a literal `sub` this is `matches`.
   */
  covers(sub: string): boolean {
    if (!hasWildcard(sub)) return this.matches(sub);
    for (const p of this.list) if (isSubsetOf(sub, p)) return true;
    return false;
  }

  /**
   * Some pattern intersects `sub` — "can this subscription ever receive a
   * subject of this set" (e.g. a denied one). For a literal `sub` this is `matches`.
   */
  intersects(sub: string): boolean {
    if (!hasWildcard(sub)) return this.matches(sub);
    for (const p of this.list) if (subjectsIntersect(sub, p)) return true;
    return false;
  }
}
