/**
 * Replies the hub hands out, and the way back for them. A message from a hub
 * may carry a reply subject the hub never advertises interest in: JetStream
 * acknowledgements (`$JS.ACK.…`), flow-control answers (`$JS.FC.…`), a hub
 * requester's inbox whose LS+ has not arrived yet. Routing such a publish by
 * advertised interest alone gives false no-responders and silently lost acks,
 * so the router remembers the reply subject of every hub message it delivered,
 * with the link it came from, and sends a publish to that subject back through
 * that link whatever the hub advertised. nats-server needs no table for this
 * because its leafnode interest covers every subscription of the account; the
 * gateway's does not (the hub withholds JetStream subjects from a leafnode
 * that does not extend JetStream), hence this module.
 *
 * The table is bounded in entries and in bytes (oldest first out) and entries
 * expire; a use refreshes an entry (an ack may be followed by more progress
 * signals and a final ack on the same subject). Insertion order is expiry
 * order, so expiry and eviction pop from the front in O(1) amortised, with no
 * timer. Pure: no sockets, no clocks but the one passed in.
 *
 * Also here, because it is how the hub encodes such replies for a leafnode:
 * a JetStream delivery crossing a leafnode carries `<ack reply>@<stream
 * subject>` as its reply (nats-server client.go, processMsgResults), and the
 * receiving server delivers it with the stream subject and the bare ack reply.
 */
import { jsApiOpStart } from "../auth/jetstream.js";

/** Limits of one tracker. */
export interface ReplyTrackerOptions {
  /** Most replies remembered at once. */
  maxEntries?: number;
  /** Most bytes of reply subjects (plus per-entry overhead) remembered at once. */
  maxBytes?: number;
  /** How long an unused reply stays routable, ms. */
  ttlMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface ReplyTrackerStats {
  /** Replies remembered (including refreshed ones). */
  remembered: number;
  /** Publishes routed back through a remembered link. */
  routed: number;
  /** Entries pushed out by the entry or byte bound before expiring. */
  evicted: number;
  /** Entries that expired unused. */
  expired: number;
}

export const REPLY_TRACKER_DEFAULTS = {
  maxEntries: 100_000,
  maxBytes: 16 * 1024 * 1024,
  // JetStream's default AckWait is 30 s; in-progress signals refresh the entry.
  ttlMs: 120_000,
} as const;

/** Bookkeeping bytes charged per entry besides the subject itself. */
const ENTRY_OVERHEAD = 64;

interface Entry<L> {
  link: L;
  expires: number;
  bytes: number;
}

export class ReplyTracker<L> {
  readonly stats: ReplyTrackerStats = { remembered: 0, routed: 0, evicted: 0, expired: 0 };
  private readonly entries = new Map<string, Entry<L>>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private bytesUsed = 0;

  constructor(opts: ReplyTrackerOptions = {}) {
    this.maxEntries = opts.maxEntries ?? REPLY_TRACKER_DEFAULTS.maxEntries;
    this.maxBytes = opts.maxBytes ?? REPLY_TRACKER_DEFAULTS.maxBytes;
    this.ttlMs = opts.ttlMs ?? REPLY_TRACKER_DEFAULTS.ttlMs;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes charged for the live entries. */
  get bytes(): number {
    return this.bytesUsed;
  }

  /** A hub message with `reply` was delivered locally; `link` is where it came from. */
  remember(reply: string, link: L): void {
    const bytes = reply.length + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes || this.maxEntries <= 0) return;
    const now = this.now();
    const known = this.entries.get(reply);
    if (known !== undefined) {
      // Move to the back: insertion order must stay expiry order.
      this.entries.delete(reply);
      known.link = link;
      known.expires = now + this.ttlMs;
      this.entries.set(reply, known);
    } else {
      this.entries.set(reply, { link, expires: now + this.ttlMs, bytes });
      this.bytesUsed += bytes;
    }
    this.stats.remembered++;
    this.trim(now);
  }

  /** The link a publish to `subject` must go back through, if it is a live remembered reply. */
  route(subject: string): L | undefined {
    if (this.entries.size === 0) return undefined;
    const e = this.entries.get(subject);
    if (e === undefined) return undefined;
    const now = this.now();
    if (e.expires <= now) {
      this.drop(subject, e);
      this.stats.expired++;
      return undefined;
    }
    this.entries.delete(subject);
    e.expires = now + this.ttlMs;
    this.entries.set(subject, e);
    this.stats.routed++;
    return e.link;
  }

  /** ReplyRoutes (router/types.ts): a hub message with `reply` from `link` was delivered here. */
  noteRequest(link: L, reply: string): void {
    this.remember(reply, link);
  }

  /** ReplyRoutes: the link a publish to `subject` must go back through, if any. */
  upstreamFor(subject: string): L | undefined {
    return this.route(subject);
  }

  /** Forget every reply that would go back through `link` (it was removed for good). */
  forgetLink(link: L): void {
    for (const [subject, e] of this.entries) if (e.link === link) this.drop(subject, e);
  }

  private trim(now: number): void {
    for (const [subject, e] of this.entries) {
      const full = this.entries.size > this.maxEntries || this.bytesUsed > this.maxBytes;
      if (!full && e.expires > now) return;
      this.drop(subject, e);
      if (full && e.expires > now) this.stats.evicted++;
      else this.stats.expired++;
    }
  }

  private drop(subject: string, e: Entry<L>): void {
    this.entries.delete(subject);
    this.bytesUsed -= e.bytes;
  }
}

const JS_ACK_PREFIX = "$JS.ACK.";

/**
 * Where the stream subject starts in a JetStream reply that crossed a
 * leafnode (`$JS.ACK.…@orders.new`): the index of the `@`, or -1 when the
 * reply is not of that form. nats-server splits at the last `@` and only when
 * something follows it; so do we.
 */
export function jsDeliveredSubjectAt(reply: string): number {
  if (!reply.startsWith(JS_ACK_PREFIX)) return -1;
  const at = reply.lastIndexOf("@");
  return at > JS_ACK_PREFIX.length && at < reply.length - 1 ? at : -1;
}

/**
 * Subjects a nats-server hub withholds from every leafnode that does not
 * extend its JetStream domain ("JetStream Not Extended": it denies
 * `$JS.API.> $KV.> $OBJ.>` on the link, so it never sends LS+ for them). It
 * still takes messages on them from the leafnode (2.9.x checks no permission
 * on inbound leaf messages), so a publish to one of them goes to a hub that
 * offers JetStream even without advertised interest. `$JS.API.>` itself is
 * advertised through the JetStream service import and needs nothing.
 */
export function isHubWithheldJetStreamSubject(subject: string): boolean {
  return subject.startsWith("$KV.") || subject.startsWith("$OBJ.");
}

const DIRECT_GET_OP = "DIRECT.GET.";
/** nats-server's queue group for the subscriptions of JetStream's own services (direct get). */
const JS_SYSTEM_QUEUE = "_sys_";

/**
 * The queue group a withheld JetStream subscription of the hub listens in, or
 * null. Direct gets are answered by a queue subscription in `_sys_` on the
 * stream; a leafnode message reaches a hub's queue subscribers only when it
 * names their group, so a direct get must name it (the plain `$JS.API.>`
 * interest the hub advertises is JetStream's API service, which ignores them).
 * The same under a JetStream domain (`$JS.<domain>.API.DIRECT.GET.…`), which
 * the hub maps onto `$JS.API.` before it delivers.
 */
export function hubWithheldQueue(subject: string): string | null {
  const op = jsApiOpStart(subject);
  return op > 0 && subject.startsWith(DIRECT_GET_OP, op) ? JS_SYSTEM_QUEUE : null;
}

/** A subject whose advertised interest shows the hub offers JetStream to our account. */
export const JS_API_PROBE_SUBJECT = "$JS.API.INFO";
