/**
 * How many connections each caller id holds, against a limit, so one caller
 * (one token, or many tokens minted for one id) cannot take every connection
 * slot or pin memory through sheer numbers. Taken when a connection is
 * authenticated, given back when it closes. nats-server counts connections per
 * account the same way and refuses the one over the limit with
 * 'maximum account active connections exceeded'.
 */
export class CallerSlots {
  private readonly held = new Map<string, number>();

  /** `limit` 0 means unlimited; may be changed live (reload). */
  constructor(public limit: number) {}

  /** Take a slot for `callerId`; false when the caller already holds `limit`. */
  acquire(callerId: string): boolean {
    const n = this.held.get(callerId) ?? 0;
    if (this.limit > 0 && n >= this.limit) return false;
    this.held.set(callerId, n + 1);
    return true;
  }

  /** Give a slot back (once per successful acquire). */
  release(callerId: string): void {
    const n = this.held.get(callerId) ?? 0;
    if (n <= 1) this.held.delete(callerId);
    else this.held.set(callerId, n - 1);
  }

  /** Connections `callerId` holds now. */
  count(callerId: string): number {
    return this.held.get(callerId) ?? 0;
  }

  /** Caller ids holding at least one connection. */
  get callers(): number {
    return this.held.size;
  }
}
