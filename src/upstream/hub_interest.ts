/**
 * What the hub wants from us: the LS+/LS- it sends, kept in a Sublist so that
 * forward() asks one cached trie question per publish. The hub keeps one entry
 * per key (`subject` or `subject queue`), with no reference count, and restates
 * a queue group's total weight on every change (docs/protocol.md#leaf-grammar, #interest); this
 * mirrors that exactly. `$LDS.` subjects it announces are remembered separately
 * so that we never send them back (that would be a loop: docs/protocol.md#special-subjects).
 */
import { Sublist, type MatchResult, type SublistEntry } from "../subject/sublist.js";
import { isValidSubject } from "../subject/subject.js";
import { interestKey } from "../protocol/leaf_encode.js";

export interface HubSub extends SublistEntry {
  readonly subject: string;
  readonly queue: string | undefined;
  weight: number;
}

/** The hub's interest in one subject, as forward() needs it. */
export interface HubMatch {
  /** Some plain (non-queue) interest matches. */
  readonly plain: boolean;
  /** Names of the queue groups with matching interest (empty when none). */
  readonly queues: readonly string[];
}

const NO_MATCH: HubMatch = Object.freeze({ plain: false, queues: Object.freeze([]) as readonly string[] });
const LDS_PREFIX = "$LDS.";

export class HubInterest {
  private readonly byKey = new Map<string, HubSub>();
  private readonly sublist = new Sublist<HubSub>();
  private readonly matches = new WeakMap<MatchResult<HubSub>, HubMatch>();
  private readonly lds = new Set<string>();

  get size(): number {
    return this.byKey.size;
  }

  /** LS+ from the hub; false when the subject is invalid (ignored). */
  add(subject: string, queue: string | undefined, weight: number): boolean {
    if (!isValidSubject(subject)) return false;
    const key = interestKey(subject, queue);
    const known = this.byKey.get(key);
    if (known !== undefined) {
      known.weight = weight; // a weight update, not a new member
      return true;
    }
    const sub: HubSub = { subject, queue, weight };
    this.byKey.set(key, sub);
    this.sublist.insert(sub);
    if (subject.startsWith(LDS_PREFIX)) this.lds.add(subject);
    return true;
  }

  /** LS- from the hub; unknown keys are ignored, as nats-server does. */
  remove(subject: string, queue: string | undefined): void {
    const key = interestKey(subject, queue);
    const known = this.byKey.get(key);
    if (known === undefined) return;
    this.byKey.delete(key);
    this.sublist.remove(known);
    if (queue === undefined) this.lds.delete(subject);
  }

  /** Forget everything (the link is gone; the hub resends its full state on reconnect). */
  clear(): void {
    for (const sub of this.byKey.values()) this.sublist.remove(sub);
    this.byKey.clear();
    this.lds.clear();
  }

  /** Whether the hub announced this exact `$LDS.` subject: it must never go back up. */
  isHubLoopSubject(subject: string): boolean {
    return this.lds.size > 0 && this.lds.has(subject);
  }

  /** Plain interest and queue groups matching a literal subject. Cached with the trie's result. */
  match(subject: string): HubMatch {
    const result = this.sublist.match(subject);
    if (result.psubs.length === 0 && result.qsubs.length === 0) return NO_MATCH;
    let m = this.matches.get(result);
    if (m === undefined) {
      const queues = result.qsubs.map((group) => group[0]!.queue!);
      m = Object.freeze({ plain: result.psubs.length > 0, queues: Object.freeze(queues) });
      this.matches.set(result, m);
    }
    return m;
  }

  /** All entries (monitoring, tests). */
  entries(): IterableIterator<HubSub> {
    return this.byKey.values();
  }
}
