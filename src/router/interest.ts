/**
 * Reference-counted local interest, the source of the LS+/LS- lines the
 * upstream leafnode sends. Keyed by "subject" or "subject queue" exactly as the
 * hub keys them; only transitions reach the wire: plain interest on 0→1 and
 * 1→0, queue interest whenever its weight (member count) changes, so 1,000
 * clients on one subject produce one LS+ (nats-server leafnode.go updateSmap).
 */
import { interestKey } from "../protocol/leaf_encode.js";
import type { Upstream } from "./types.js";

export interface InterestEntry {
  readonly subject: string;
  readonly queue: string | undefined;
  weight: number;
}

export class InterestMap {
  private readonly entries = new Map<string, InterestEntry>();
  private sink: Upstream | null = null;

  /** Where transitions go (the upstream leafnode); null in standalone mode. */
  setSink(sink: Upstream | null): void {
    this.sink = sink;
  }

  add(subject: string, queue: string | undefined): void {
    this.change(subject, queue, +1);
  }

  remove(subject: string, queue: string | undefined): void {
    this.change(subject, queue, -1);
  }

  /** Every current entry, for the full replay after an upstream (re)connect. */
  snapshot(): InterestEntry[] {
    return [...this.entries.values()].map((e) => ({ subject: e.subject, queue: e.queue, weight: e.weight }));
  }

  get size(): number {
    return this.entries.size;
  }

  private change(subject: string, queue: string | undefined, delta: number): void {
    const key = interestKey(subject, queue);
    let entry = this.entries.get(key);
    const before = entry ? entry.weight : 0;
    const after = before + delta;
    if (after <= 0) {
      if (!entry) return;
      this.entries.delete(key);
    } else if (entry) {
      entry.weight = after;
    } else {
      entry = { subject, queue, weight: after };
      this.entries.set(key, entry);
    }
    const transition = queue !== undefined || before === 0 || after <= 0;
    if (transition && this.sink) this.sink.setInterest(subject, queue, Math.max(after, 0));
  }
}
