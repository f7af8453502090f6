/**
 * The interfaces between the router and its neighbours. The router knows
 * nothing of sockets, JWTs or the leafnode wire: connections implement
 * Subscriber, each upstream leafnode link implements Upstream, and the router
 * implements LocalSide, the only way an upstream reaches back in.
 */

/** One subscription as the router stores it in the sublist. */
export interface Subscription {
  /** Subject as routed (already mapped into the caller's reply namespace). */
  readonly subject: string;
  readonly queue: string | undefined;
  /** Client-chosen sid, echoed in MSG. */
  readonly sid: string;
  readonly owner: Subscriber;
}

/** A local receiver of messages (a client connection). */
export interface Subscriber {
  /** Unique per process; used for echo suppression. */
  readonly cid: number;
  /**
   * Deliver one message. `payload` holds header bytes then body (`hdrLen` = -1 or
   * 0 means no headers). The view is only valid during the call: copy it if kept.
   * Returns false if the message was not delivered (filtered or dropped).
   * `stored`: the subject of a stored message the hub's message carries inside
   * it (a direct-get or message-get answer, a republished copy), to be judged
   * like the subject of a delivery; undefined for every other message.
   */
  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, stored?: string): boolean;
  /**
   * A hub refused this subscription after it was accepted: tell the caller with
   * the permissions -ERR, audit and count it, and drop the subscription.
   */
  refuseSubscription?(sub: Subscription): void;
}

/** The hub's interest in one subject, as one upstream knows it. */
export interface UpstreamMatch {
  /** Some plain (non-queue) interest matches. */
  readonly plain: boolean;
  /** Names of the queue groups with matching interest (empty when none). */
  readonly queues: readonly string[];
}

/**
 * One hub link, as the router sees it. Implemented by upstream/LeafConn, one
 * per configured remote. The router tells every upstream about local interest
 * and picks, per publish, which upstreams get the message (router.ts
 * `pickUpstreams`).
 */
export interface Upstream {
  /** The remote's name from the configuration: stable, unique, safe to record (reply routing, labels). */
  readonly id: string;
  /** True once messages sent now reach the hub directly (registered and past the replay barrier). */
  readonly live: boolean;
  /**
   * Local interest changed: weight 0 removes it (LS-), weight >= 1 adds it (LS+);
   * for queue interest the weight is the number of local members.
   */
  setInterest(subject: string, queue: string | undefined, weight: number): void;
  /** The hub's interest in a literal subject (meaningful while live). */
  match(subject: string): UpstreamMatch;
  /**
   * Whether this hub would refuse a subscription to `subject` (its permissions,
   * the JetStream deny, its loop-detection subject): such interest never goes up.
   */
  refusesInterest(subject: string): boolean;
  /**
   * Forward a locally published message to the hub. `servedQueues` names the
   * queue groups already served (by a local member or another hub): the hub's
   * members of those must not get it. Returns true if the message counts as
   * delivered upstream (the hub had interest, or it was buffered while down).
   */
  forward(
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    payload: Uint8Array,
    servedQueues: ReadonlySet<string> | null,
  ): boolean;
  /**
   * Send a publish to a reply subject this hub handed out (router/reply_tracker.ts),
   * whether or not the hub advertised interest in it. Returns false (counted and
   * logged by the implementation) when the link cannot take it.
   */
  forwardReply(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean;
}

/** One entry of the local interest, as replayed to a hub after it (re)connects. */
export interface LocalInterest {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly weight: number;
}

/**
 * The local side, as an upstream sees it: implemented by the Router. Every
 * call names the upstream it comes from, so the router can tell hubs apart.
 */
export interface LocalSide {
  /** Current local interest, replayed in full on every (re)connect. */
  interestSnapshot(): Iterable<LocalInterest>;
  /** A message from a hub. Returns the number of local deliveries. */
  deliverFromUpstream(
    from: Upstream,
    subject: string,
    reply: string | undefined,
    queues: readonly string[] | null,
    hdrLen: number,
    payload: Uint8Array,
  ): number;
  /**
   * The hub refused (or would refuse) this exact interest: every local
   * subscription with this subject and queue is refused to its subscriber.
   * Returns how many subscriptions were refused.
   */
  refuseInterest(from: Upstream, subject: string, queue: string | undefined): number;
}

/**
 * Where a reply subject must go: the upstream a request came from, when the
 * reply tracker recorded one. Optional; without it replies follow hub interest.
 */
export interface ReplyRoutes {
  /** A message with a reply subject arrived from upstream `upstreamId`. */
  noteRequest?(upstreamId: string, reply: string): void;
  /** The upstream a published subject must go to, or undefined to follow interest. */
  upstreamFor(subject: string): string | undefined;
}
