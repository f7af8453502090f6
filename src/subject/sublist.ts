/**
 * The subscription trie: one level per subject token, with `*` and `>` held
 * beside the literal children, plus a bounded cache of match results keyed by
 * literal subject. Routing (match) and permission/interest checks (hasInterest)
 * both use it, so there is a single wildcard implementation. The idea follows
 * nats-server's sublist.go; the code is our own. Results are frozen and never
 * touched after they are built. The cache is bounded in entries and in the
 * bytes of its keys, and every insert or remove costs O(1) in the cache,
 * whatever it holds (see invalidate()).
 */
import { BoundedMap } from "../bounded_map.js";
import { hasWildcard } from "./subject.js";

export interface SublistEntry {
  readonly subject: string;
  readonly queue: string | undefined;
}

/** Plain subscribers, and queue subscribers grouped by queue name (across patterns). */
export interface MatchResult<T> {
  readonly psubs: readonly T[];
  readonly qsubs: readonly (readonly T[])[];
}

/** The one result every empty match returns, so a miss allocates nothing. */
export const EMPTY_RESULT: MatchResult<never> = Object.freeze({
  psubs: Object.freeze([]) as readonly never[],
  qsubs: Object.freeze([]) as readonly (readonly never[])[],
});

const DEFAULT_CACHE_SIZE = 1024;
/** Bound on the summed length of cached subjects (a cache of 1024 4 KB subjects would pin 4 MB). */
const DEFAULT_CACHE_BYTES = 256 * 1024;

class TrieNode<T> {
  next: TrieLevel<T> | null = null;
  psubs: Set<T> | null = null;
  qsubs: Map<string, Set<T>> | null = null;

  hasSubs(): boolean {
    return (this.psubs !== null && this.psubs.size > 0) || (this.qsubs !== null && this.qsubs.size > 0);
  }

  isPrunable(): boolean {
    return !this.hasSubs() && (this.next === null || this.next.isEmpty());
  }
}

class TrieLevel<T> {
  readonly literals = new Map<string, TrieNode<T>>();
  /** Child for a `*` token. */
  pwc: TrieNode<T> | null = null;
  /** Child for a `>` token (always a leaf: `>` is last). */
  fwc: TrieNode<T> | null = null;

  isEmpty(): boolean {
    return this.literals.size === 0 && this.pwc === null && this.fwc === null;
  }

  child(token: string): TrieNode<T> | undefined {
    if (token === "*") return this.pwc ?? undefined;
    if (token === ">") return this.fwc ?? undefined;
    return this.literals.get(token);
  }

  childOrCreate(token: string): TrieNode<T> {
    if (token === "*") return (this.pwc ??= new TrieNode<T>());
    if (token === ">") return (this.fwc ??= new TrieNode<T>());
    let node = this.literals.get(token);
    if (node === undefined) {
      node = new TrieNode<T>();
      this.literals.set(token, node);
    }
    return node;
  }

  dropChild(token: string): void {
    if (token === "*") this.pwc = null;
    else if (token === ">") this.fwc = null;
    else this.literals.delete(token);
  }
}

/** Scratch accumulator for one uncached match. */
interface Collector<T> {
  psubs: T[];
  groups: Map<string, T[]> | null;
}

export class Sublist<T extends SublistEntry> {
  private readonly root = new TrieLevel<T>();
  /** Match results, oldest out first past its entries or key characters; a subject longer than all its key room is never cached. */
  private readonly cache: BoundedMap<MatchResult<T>>;
  private entryCount = 0;

  constructor(opts: { cacheSize?: number; cacheBytes?: number } = {}) {
    const bytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.cache = new BoundedMap<MatchResult<T>>({
      entries: opts.cacheSize ?? DEFAULT_CACHE_SIZE,
      keyChars: Number.isFinite(bytes) && bytes > 0 ? Math.floor(bytes) : 0,
    });
  }

  /** Number of stored entries. */
  get count(): number {
    return this.entryCount;
  }

  /** Number of cached match results (for tests and monitoring). */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** Summed length of the cached subjects (for tests and monitoring). */
  get cachedBytes(): number {
    return this.cache.keyChars;
  }

  /**
   * Add an entry. Precondition: the caller validated `item.subject`.
   * Inserting the same object twice keeps one copy.
   */
  insert(item: T): void {
    const tokens = item.subject.split(".");
    let level = this.root;
    let node: TrieNode<T> | undefined;
    for (let i = 0; i < tokens.length; i++) {
      node = level.childOrCreate(tokens[i]!);
      if (i < tokens.length - 1) level = node.next ??= new TrieLevel<T>();
    }
    const leaf = node!;
    let members: Set<T>;
    if (item.queue === undefined) {
      members = leaf.psubs ??= new Set<T>();
    } else {
      const groups = (leaf.qsubs ??= new Map<string, Set<T>>());
      let group = groups.get(item.queue);
      if (group === undefined) {
        group = new Set<T>();
        groups.set(item.queue, group);
      }
      members = group;
    }
    if (members.has(item)) return;
    members.add(item);
    this.entryCount++;
    this.invalidate(item.subject);
  }

  /** Remove an entry by identity; false if it was not stored. */
  remove(item: T): boolean {
    const tokens = item.subject.split(".");
    const levels: TrieLevel<T>[] = [];
    const nodes: TrieNode<T>[] = [];
    let level: TrieLevel<T> | null = this.root;
    for (let i = 0; i < tokens.length; i++) {
      if (level === null) return false;
      const node = level.child(tokens[i]!);
      if (node === undefined) return false;
      levels.push(level);
      nodes.push(node);
      level = node.next;
    }
    const leaf = nodes[nodes.length - 1]!;
    if (item.queue === undefined) {
      if (leaf.psubs === null || !leaf.psubs.delete(item)) return false;
      if (leaf.psubs.size === 0) leaf.psubs = null;
    } else {
      const group = leaf.qsubs?.get(item.queue);
      if (group === undefined || !group.delete(item)) return false;
      if (group.size === 0) {
        leaf.qsubs!.delete(item.queue);
        if (leaf.qsubs!.size === 0) leaf.qsubs = null;
      }
    }
    this.entryCount--;
    // Prune empty nodes bottom-up so long-lived lists do not keep dead branches.
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      if (!node.isPrunable()) break;
      levels[i]!.dropChild(tokens[i]!);
      if (i > 0) {
        const parent = nodes[i - 1]!;
        if (parent.next !== null && parent.next.isEmpty()) parent.next = null;
      }
    }
    this.invalidate(item.subject);
    return true;
  }

  /**
   * Everything stored that matches the literal subject. The result is frozen and
   * may be shared with later callers; EMPTY_RESULT when nothing matches.
   */
  match(literal: string): MatchResult<T> {
    if (this.cache.capacity > 0) {
      const hit = this.cache.get(literal);
      if (hit !== undefined) return hit;
    }
    const result = hasEmptyToken(literal) ? EMPTY_RESULT : this.collect(literal);
    if (this.cache.capacity > 0) this.cache.set(literal, result);
    return result;
  }

  /** Does anything stored match the literal subject? Stops at the first hit. */
  hasInterest(literal: string): boolean {
    if (this.cache.capacity > 0) {
      const hit = this.cache.get(literal);
      if (hit !== undefined) return hit !== EMPTY_RESULT;
    }
    return !hasEmptyToken(literal) && this.anyMatch(this.root, literal.split("."), 0);
  }

  /** All stored entries (interest replay, monitoring). Do not mutate while iterating. */
  *entries(): IterableIterator<T> {
    yield* this.walkLevel(this.root);
  }

  private *walkLevel(level: TrieLevel<T>): Generator<T> {
    for (const node of level.literals.values()) yield* this.walkNode(node);
    if (level.pwc !== null) yield* this.walkNode(level.pwc);
    if (level.fwc !== null) yield* this.walkNode(level.fwc);
  }

  private *walkNode(node: TrieNode<T>): Generator<T> {
    if (node.psubs !== null) yield* node.psubs;
    if (node.qsubs !== null) for (const group of node.qsubs.values()) yield* group;
    if (node.next !== null) yield* this.walkLevel(node.next);
  }

  /**
   * Drop cached results that `subject` could change, in O(1) whatever the cache
   * holds. A literal subject can only change its own entry. A wildcard one
   * replaces the whole cache: nats-server instead walks its cache (about 1024
   * entries) and edits or drops every literal the wildcard matches, which costs
   * entries x subject length per change; here one caller churning wildcard
   * SUB/UNSUB over a cache of long subjects would stall the event loop for
   * every other caller (nats-server spreads that cost over goroutines and a
   * lock, we have one thread). Refilling costs one trie walk per subject on its
   * next lookup, which is what an uncached match costs anyway.
   */
  private invalidate(subject: string): void {
    if (this.cache.size === 0) return;
    if (!hasWildcard(subject)) this.cache.delete(subject);
    else this.cache.clear();
  }

  private collect(literal: string): MatchResult<T> {
    const acc: Collector<T> = { psubs: [], groups: null };
    this.collectLevel(this.root, literal.split("."), 0, acc);
    if (acc.psubs.length === 0 && acc.groups === null) return EMPTY_RESULT;
    const qsubs: (readonly T[])[] = [];
    if (acc.groups !== null) for (const members of acc.groups.values()) qsubs.push(Object.freeze(members));
    return Object.freeze({ psubs: Object.freeze(acc.psubs), qsubs: Object.freeze(qsubs) });
  }

  private collectLevel(level: TrieLevel<T>, tokens: string[], i: number, acc: Collector<T>): void {
    const last = i === tokens.length - 1;
    // `>` matches this token and everything after it.
    if (level.fwc !== null) addNode(level.fwc, acc);
    if (level.pwc !== null) {
      if (last) addNode(level.pwc, acc);
      else if (level.pwc.next !== null) this.collectLevel(level.pwc.next, tokens, i + 1, acc);
    }
    const node = level.literals.get(tokens[i]!);
    if (node !== undefined) {
      if (last) addNode(node, acc);
      else if (node.next !== null) this.collectLevel(node.next, tokens, i + 1, acc);
    }
  }

  private anyMatch(level: TrieLevel<T>, tokens: string[], i: number): boolean {
    const last = i === tokens.length - 1;
    if (level.fwc !== null && level.fwc.hasSubs()) return true;
    const pwc = level.pwc;
    if (pwc !== null) {
      if (last ? pwc.hasSubs() : pwc.next !== null && this.anyMatch(pwc.next, tokens, i + 1)) return true;
    }
    const node = level.literals.get(tokens[i]!);
    if (node === undefined) return false;
    return last ? node.hasSubs() : node.next !== null && this.anyMatch(node.next, tokens, i + 1);
  }
}

/**
 * nats-server matches nothing for a subject with an empty token ("a..b", ".a",
 * "a."); publish subjects are not validated, so match() must check.
 */
function hasEmptyToken(s: string): boolean {
  return s.length === 0 || s.charCodeAt(0) === 0x2e || s.charCodeAt(s.length - 1) === 0x2e || s.includes("..");
}

function addNode<T>(node: TrieNode<T>, acc: Collector<T>): void {
  if (node.psubs !== null) for (const s of node.psubs) acc.psubs.push(s);
  if (node.qsubs === null) return;
  const groups = (acc.groups ??= new Map<string, T[]>());
  for (const [queue, members] of node.qsubs) {
    let out = groups.get(queue);
    if (out === undefined) {
      out = [];
      groups.set(queue, out);
    }
    for (const s of members) out.push(s);
  }
}
