/**
 * A bounded ring of the most recent items, oldest first: /connz?state=closed
 * keeps the last closed connections in one, as nats-server keeps its closed
 * clients. Past the bound each new item overwrites the oldest, so memory never
 * grows with the number of items ever pushed.
 */
export class RecentRing<T> {
  private readonly items: T[] = [];
  /** Items ever pushed; the next slot is `pushed % capacity`. */
  private pushed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.pushed % this.capacity] = item;
    this.pushed++;
  }

  get size(): number {
    return this.items.length;
  }

  /** A copy, oldest first. */
  list(): T[] {
    if (this.items.length < this.capacity) return this.items.slice();
    const head = this.pushed % this.capacity;
    return [...this.items.slice(head), ...this.items.slice(0, head)];
  }
}
