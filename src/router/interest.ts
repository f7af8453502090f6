/**
 * Local interest by key, the one place where subscriptions are counted into
 * the LS+/LS- lines every upstream link sends. Keyed by "subject" or "subject
 * queue" exactly as a hub keys them; only transitions are reported: plain
 * interest on 0→1 and 1→0, queue interest whenever its weight (member count)
 * changes, so 1,000 clients on one subject produce one LS+ (nats-server
 * leafnode.go updateSmap). Each entry keeps its subscriptions, so a hub's
 * refusal of one key can be handed back to exactly the subscribers behind it.
 */
import { interestKey } from "../protocol/leaf_encode.js";
import type { LocalInterest, Subscription } from "./types.js";

interface Entry {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly subs: Set<Subscription>;
}

/** Receives each transition: weight 0 means the interest is gone. */
export type InterestListener = (subject: string, queue: string | undefined, weight: number) => void;

export class InterestMap {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onTransition: InterestListener) {}

  add(sub: Subscription): void {
    const key = interestKey(sub.subject, sub.queue);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { subject: sub.subject, queue: sub.queue, subs: new Set() };
      this.entries.set(key, entry);
    }
    const before = entry.subs.size;
    entry.subs.add(sub);
    const after = entry.subs.size;
    if (after !== before && (sub.queue !== undefined || before === 0)) this.onTransition(sub.subject, sub.queue, after);
  }

  remove(sub: Subscription): void {
    const key = interestKey(sub.subject, sub.queue);
    const entry = this.entries.get(key);
    if (entry === undefined || !entry.subs.delete(sub)) return;
    const after = entry.subs.size;
    if (after === 0) this.entries.delete(key);
    if (sub.queue !== undefined || after === 0) this.onTransition(sub.subject, sub.queue, after);
  }

  /** The subscriptions behind one exact key (copied: the caller may remove them). */
  subscriptionsOf(subject: string, queue: string | undefined): Subscription[] {
    const entry = this.entries.get(interestKey(subject, queue));
    return entry === undefined ? [] : [...entry.subs];
  }

  /** Every current entry, for the full replay after an upstream (re)connects. */
  *snapshot(): IterableIterator<LocalInterest> {
    for (const e of this.entries.values()) yield { subject: e.subject, queue: e.queue, weight: e.subs.size };
  }

  get size(): number {
    return this.entries.size;
  }
}
