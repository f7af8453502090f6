/**
 * The two interfaces the router delivers through. The router knows nothing of
 * sockets, JWTs or the leafnode wire: connections implement Subscriber, the
 * upstream leafnode implements Upstream, and gateway.ts wires them together.
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
   */
  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean;
}

/** The hub side, as the router sees it. Implemented by upstream/LeafConn. */
export interface Upstream {
  /**
   * Local interest changed: weight 0 removes it (LS-), weight >= 1 adds it (LS+);
   * for queue interest the weight is the number of local members.
   */
  setInterest(subject: string, queue: string | undefined, weight: number): void;
  /**
   * Forward a locally published message to the hub. `hasLocalQueueMember(q)`
   * tells whether a local member of queue q received it (then the hub's members
   * of q must not). Returns true if the message counts as delivered upstream
   * (hub had interest, or it was buffered while the link is down).
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
