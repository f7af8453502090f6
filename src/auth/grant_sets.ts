/**
 * Grant sets shared between callers. Callers holding the same permissions get
 * the same allow and deny lists, and the publish grants of a full Choria
 * client (fleet management, streams, elections, governors) are a trie of some
 * thirty patterns: about 22 KiB of heap and most of the time a caller's policy
 * takes to build, paid again on every connection. A SubjectSet built without
 * its own verdict cache answers from its patterns alone, so callers whose
 * lists are equal, pattern for pattern and in order, can share one.
 *
 * - Shared sets are sealed: nothing can add a pattern to a set another caller
 *   uses.
 * - The key is the exact list (JSON, so no two lists share a key).
 * - The table is bounded in sets and in key characters; the least recently
 *   used set goes first. A set still in use by a caller stays alive through
 *   that caller; it is only no longer shared with newcomers.
 * - A list that names the caller itself (its reply hashes) is unique to it:
 *   it is built for that caller alone and never enters the table, so callers
 *   with such lists cannot push the common ones out.
 */
import { BoundedMap } from "../bounded_map.js";
import { SubjectSet } from "../subject/subject_set.js";

/** Sets kept for sharing. */
const MAX_SHARED_SETS = 256;
/** Summed key characters kept (the lists themselves, roughly). */
const MAX_SHARED_CHARS = 1024 * 1024;
/** A longer list (a token with very many subjects) is built for its caller alone. */
const MAX_LIST_CHARS = 64 * 1024;

/** List (as JSON) → its sealed set; least recently used out first. */
const table = new BoundedMap<SubjectSet>({ entries: MAX_SHARED_SETS, keyChars: MAX_SHARED_CHARS, order: "lru" });

/**
 * The sealed set of `patterns` (throws GW_ERR_INVALID_SUBJECT on an invalid
 * one, as SubjectSet does). `ownTokens` are the caller's own reply hashes: a
 * list containing one of them is not shared.
 */
export function grantSet(patterns: readonly string[], ownTokens: readonly string[]): SubjectSet {
  let chars = 0;
  for (const p of patterns) {
    chars += p.length;
    for (const t of ownTokens) if (p.includes(t)) return build(patterns);
  }
  if (chars > MAX_LIST_CHARS) return build(patterns);
  return sharedOrBuilt(patterns, JSON.stringify(patterns));
}

/** Sets the table holds now (tests). */
export function sharedGrantSets(): { sets: number; chars: number } {
  return { sets: table.size, chars: table.keyChars };
}

function build(patterns: readonly string[]): SubjectSet {
  return new SubjectSet(patterns, { cacheSize: 0 }).seal();
}

function sharedOrBuilt(patterns: readonly string[], key: string): SubjectSet {
  const hit = table.get(key);
  if (hit !== undefined) return hit;
  const set = build(patterns); // throws on an invalid pattern: nothing is stored
  table.set(key, set);
  return set;
}
