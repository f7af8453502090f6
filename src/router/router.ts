/**
 * The embedded broker's routing core: one sublist of local subscriptions plus
 * the upstream. A local publish goes to every matching plain subscriber, to one
 * member of each matching queue group (local members first, as nats-server
 * does for leafnodes), and to the hub when it has interest; a message from the
 * hub goes to plain subscribers and one member of each queue group it names.
 * The router never sees sockets, JWTs or wire formats: permission filtering
 * and subject mapping happen in the Subscriber (the connection).
 */
import { Sublist } from "../subject/sublist.js";
import { InterestMap, type InterestEntry } from "./interest.js";
import { JS_TERM, carriesLifecycleEvent, isLifecycleSubject } from "../auth/jetstream.js";
import { ReplyTracker, jsDeliveredSubjectAt, type ReplyTrackerOptions } from "./reply_tracker.js";
import type { Subscriber, Subscription, Upstream } from "./types.js";

export class Router {
  private readonly subs: Sublist<Subscription>;
  private readonly interest = new InterestMap();
  private upstream: Upstream | null = null;
  /** Reused per publish: queue groups that got a local member (never retained). */
  private readonly served = new Set<string>();
  /** Reply subjects of hub messages delivered here, and the upstream each came from. */
  readonly hubReplies: ReplyTracker<Upstream>;
  /** Hub messages withheld because they carried a lifecycle event in their headers or body. */
  lifecycleWithheld = 0;

  constructor(opts: { cacheSize?: number; replies?: ReplyTrackerOptions } = {}) {
    this.subs = new Sublist<Subscription>({ cacheSize: opts.cacheSize });
    this.hubReplies = new ReplyTracker<Upstream>(opts.replies);
  }

  /** Attach the hub side. Interest changes flow to it from now on. */
  setUpstream(upstream: Upstream | null): void {
    this.upstream = upstream;
    this.interest.setSink(upstream);
  }

  /** Local interest, for the upstream's full replay on (re)connect. */
  interestSnapshot(): InterestEntry[] {
    return this.interest.snapshot();
  }

  get subscriptionCount(): number {
    return this.subs.count;
  }

  get interestCount(): number {
    return this.interest.size;
  }

  subscribe(sub: Subscription): void {
    this.subs.insert(sub);
    this.interest.add(sub.subject, sub.queue);
  }

  unsubscribe(sub: Subscription): void {
    if (this.subs.remove(sub)) this.interest.remove(sub.subject, sub.queue);
  }

  /**
   * A publish from a local client. `echo` false keeps the message away from the
   * publisher's own subscriptions. Returns the number of local deliveries plus
   * one if the upstream took it: zero means nobody received it (no-responders).
   */
  publish(
    origin: Subscriber,
    echo: boolean,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    payload: Uint8Array,
  ): number {
    const result = this.subs.match(subject);
    let delivered = 0;
    const psubs = result.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      if (!echo && sub.owner === origin) continue;
      if (sub.owner.deliver(sub, subject, reply, hdrLen, payload)) delivered++;
    }
    const served = this.served;
    served.clear();
    const qsubs = result.qsubs;
    for (let i = 0; i < qsubs.length; i++) {
      const group = qsubs[i]!;
      if (pickQueueMember(group, echo ? null : origin, subject, reply, hdrLen, payload)) {
        delivered++;
        served.add(group[0]!.queue!);
      }
    }
    // A reply the hub handed out goes back through its link, advertised or not.
    const back = this.hubReplies.route(subject);
    if (back !== undefined) {
      if (back.forwardReply(subject, reply, hdrLen, payload)) delivered++;
      return delivered;
    }
    const upstream = this.upstream;
    if (upstream && upstream.forward(subject, reply, hdrLen, payload, served.size > 0 ? served : null)) delivered++;
    return delivered;
  }

  /**
   * A message from the hub. Plain subscribers all get it; queue subscribers
   * only when the hub named their group (an LMSG naming no queue reaches no
   * queue subscriber, as on nats-server).
   */
  deliverFromUpstream(
    subject: string,
    reply: string | undefined,
    queues: readonly string[] | null,
    hdrLen: number,
    payload: Uint8Array,
    from: Upstream | null = this.upstream,
  ): number {
    // Lifecycle events reach nobody, also when carried inside a stream's answer (auth/jetstream.ts).
    if ((hdrLen > 0 || payload[0] === 0x7b) && carriesLifecycleEvent(hdrLen, payload)) {
      this.lifecycleWithheld++;
      return 0;
    }
    const result = this.subs.match(subject);
    // A JetStream delivery shows its stream subject and the bare ack reply (reply_tracker.ts).
    let shown = subject;
    if (reply !== undefined) {
      const at = jsDeliveredSubjectAt(reply);
      if (at > 0) {
        shown = reply.slice(at + 1);
        reply = reply.slice(0, at);
        if (isLifecycleSubject(shown)) return this.withholdStreamedLifecycle(reply, from);
      }
    }
    let delivered = 0;
    const psubs = result.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      if (sub.owner.deliver(sub, shown, reply, hdrLen, payload)) delivered++;
    }
    if (queues && queues.length > 0) {
      const qsubs = result.qsubs;
      for (let i = 0; i < qsubs.length; i++) {
        const group = qsubs[i]!;
        if (!queues.includes(group[0]!.queue!)) continue;
        if (pickQueueMember(group, null, shown, reply, hdrLen, payload)) delivered++;
      }
    }
    if (delivered > 0 && reply !== undefined && from !== null) this.hubReplies.remember(reply, from);
    return delivered;
  }

  /** A stream tried to deliver a lifecycle event: nobody gets it, and the consumer is told to stop offering it. */
  private withholdStreamedLifecycle(ackReply: string, from: Upstream | null): number {
    this.lifecycleWithheld++;
    from?.forwardReply(ackReply, undefined, -1, JS_TERM);
    return 0;
  }

  /** The first plain subscription of `owner` matching `subject` (no-responders target). */
  findOwnSubscription(owner: Subscriber, subject: string): Subscription | undefined {
    const psubs = this.subs.match(subject).psubs;
    for (let i = 0; i < psubs.length; i++) if (psubs[i]!.owner === owner) return psubs[i];
    return undefined;
  }
}

/**
 * Deliver to one member of a queue group, starting at a random member and
 * moving on when a member refuses (filtered, closing) or is the non-echo origin.
 */
function pickQueueMember(
  group: readonly Subscription[],
  skipOwner: Subscriber | null,
  subject: string,
  reply: string | undefined,
  hdrLen: number,
  payload: Uint8Array,
): boolean {
  const n = group.length;
  const start = n === 1 ? 0 : Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const sub = group[(start + k) % n]!;
    if (skipOwner !== null && sub.owner === skipOwner) continue;
    if (sub.owner.deliver(sub, subject, reply, hdrLen, payload)) return true;
  }
  return false;
}
