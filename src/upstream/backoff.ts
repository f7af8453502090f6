/**
 * Reconnect delays for the upstream link: exponential growth from a base delay
 * up to a cap, with "equal jitter" (half fixed, half random) so that many
 * gateways that lost the same hub do not all return in the same instant, while
 * none retries much sooner than planned. Pure; the random source is injectable
 * so tests can pin it.
 */

export interface BackoffOptions {
  baseDelay: number;
  maxDelay: number;
  /** Returns a number in [0, 1); Math.random by default. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms; each call counts one more failure. */
  next(): number {
    const ceiling = backoffCeiling(this.opts.baseDelay, this.opts.maxDelay, this.attempt);
    this.attempt++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** After a successful connection. */
  reset(): void {
    this.attempt = 0;
  }
}

/** min(max, base · 2^attempt), without overflowing for large attempt counts. */
export function backoffCeiling(base: number, max: number, attempt: number): number {
  if (attempt >= 30) return max;
  return Math.min(max, base * 2 ** attempt);
}
