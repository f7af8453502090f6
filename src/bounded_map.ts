/**
 * A Map bounded in entries and in the summed length of its keys: the one
 * mechanism behind every cache or table here that keeps recent answers (the
 * router's match cache, permission verdicts, SubjectSet verdicts, verified
 * tokens, shared grant sets). Past a bound the oldest entry goes first: the
 * oldest inserted ("fifo": a hit costs nothing) or the least recently used
 * ("lru": a hit moves the entry to the newest end). A key longer than
 * `keyLength` is never held and never even looked up, so one long key can
 * neither evict everything nor cost a hash of its length on every miss.
 * Every operation is O(1) amortised, clear() included.
 */

export interface BoundedMapLimits {
  /** Most entries held; 0 holds nothing. */
  entries: number;
  /** Most characters of all keys together (default: no bound but `entries`). */
  keyChars?: number;
  /** A longer key is never held (default: `keyChars`). */
  keyLength?: number;
  /** Which entry goes first past a bound (default "fifo"). */
  order?: "fifo" | "lru";
}

/**
 * "No bound" for the character limits: more characters than V8 lets a string
 * (or a process) hold, and, unlike Infinity, a small integer. V8 keeps a
 * field as a small integer only while every instance stores one; a single map
 * built with Infinity turned `maxKey` into a double and threw away the
 * compiled code of every caller that had inlined get() (the router's and
 * the connections' delivery path, docs/performance.md).
 */
const NO_BOUND = 2 ** 30 - 1;

export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  private chars = 0;
  /** Most entries held (the `entries` limit, whole and not negative); 0: the map holds nothing. */
  readonly capacity: number;
  private readonly maxChars: number;
  private readonly maxKey: number;
  private readonly lru: boolean;

  constructor(limits: BoundedMapLimits) {
    const n = limits.entries;
    this.capacity = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
    this.maxChars = boundOf(limits.keyChars);
    this.maxKey = Math.min(boundOf(limits.keyLength), this.maxChars);
    this.lru = limits.order === "lru";
  }

  /** Entries held. */
  get size(): number {
    return this.map.size;
  }

  /** Characters of all keys held, together. */
  get keyChars(): number {
    return this.chars;
  }

  get(key: string): V | undefined {
    if (key.length > this.maxKey) return undefined;
    const value = this.map.get(key);
    if (value !== undefined && this.lru) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Hold `value` under `key` (not when the key is too long or nothing may be held); the oldest entries past a bound go. */
  set(key: string, value: V): void {
    if (this.capacity === 0 || key.length > this.maxKey) return;
    if (this.map.delete(key)) this.chars -= key.length;
    this.map.set(key, value);
    this.chars += key.length;
    while (this.map.size > this.capacity || this.chars > this.maxChars) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.chars -= oldest.length;
    }
  }

  delete(key: string): boolean {
    if (!this.map.delete(key)) return false;
    this.chars -= key.length;
    return true;
  }

  /**
   * Forget everything, in O(1): V8's Map#clear starts a new table and leaves
   * the old one to the GC. (Assigning a new Map instead turned `map` from a
   * constant of the object layout into a variable at the first clear, and V8
   * threw away the compiled code of every caller that had inlined get(): the
   * router's, at the first unsubscribe.)
   */
  clear(): void {
    if (this.map.size === 0) return;
    this.map.clear();
    this.chars = 0;
  }
}

/**
 * A character limit as a whole number, NO_BOUND when missing, NaN, infinite or
 * larger. Rounding down changes no comparison: lengths are whole numbers.
 */
function boundOf(limit: number | undefined): number {
  return limit === undefined || !(limit < NO_BOUND) ? NO_BOUND : Math.floor(limit);
}
