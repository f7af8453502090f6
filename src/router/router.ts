/**
 * The embedded broker's routing core: one sublist of local subscriptions plus
 * the upstream links (one per configured remote). A local publish goes to every
 * matching plain subscriber, to one member of each matching queue group (local
 * members first, as nats-server does for leafnodes), and once to each hub with
 * interest; a queue group no local member served goes to one hub that has it
 * (pickUpstreams). A message from a hub goes to plain subscribers and one
 * member of each queue group it names, never back up to another hub (as a
 * nats-server leaf with several remotes does). The router never sees sockets,
 * JWTs or wire formats: permission filtering and subject mapping happen in the
 * Subscriber (the connection); upstreams reach back only through LocalSide.
 */
import { Sublist } from "../subject/sublist.js";
import { InterestMap } from "./interest.js";
import { JS_TERM, isLifecycleSubject, storedSubject } from "../auth/jetstream.js";
import { ReplyTracker, jsDeliveredSubjectAt, type ReplyTrackerOptions } from "./reply_tracker.js";
import type { LocalInterest, LocalSide, ReplyRoutes, Subscriber, Subscription, Upstream } from "./types.js";

export class Router implements LocalSide {
  private readonly subs: Sublist<Subscription>;
  private readonly interest = new InterestMap((subject, queue, weight) => {
    const ups = this.upstreams;
    for (let i = 0; i < ups.length; i++) ups[i]!.setInterest(subject, queue, weight);
  });
  private upstreams: Upstream[] = [];
  private replyRoutes: ReplyRoutes | null;
  /** Reused per publish: queue groups that got a local member (never retained). */
  private readonly served = new Set<string>();
  /** Reply subjects of hub messages delivered here, and the upstream (id) each came from: the default ReplyRoutes. */
  readonly hubReplies: ReplyTracker<string>;
  /** Hub messages withheld because they carried a lifecycle event in their headers or body. */
  lifecycleWithheld = 0;

  constructor(opts: { cacheSize?: number; replies?: ReplyTrackerOptions } = {}) {
    this.subs = new Sublist<Subscription>({ cacheSize: opts.cacheSize });
    this.hubReplies = new ReplyTracker<string>(opts.replies);
    this.replyRoutes = this.hubReplies;
  }

  /** Attach one more hub link. Interest changes flow to it from now on (it replays the rest on connect). */
  addUpstream(upstream: Upstream): void {
    if (this.upstreams.some((u) => u.id === upstream.id)) throw new Error(`upstream "${upstream.id}" is attached twice`);
    this.upstreams = [...this.upstreams, upstream];
  }

  /** The attached hub links, in configuration order. */
  get upstreamLinks(): readonly Upstream[] {
    return this.upstreams;
  }

  /** Where reply subjects recorded from hub requests must go (optional). */
  setReplyRoutes(routes: ReplyRoutes | null): void {
    this.replyRoutes = routes;
  }

  /** Local interest, for an upstream's full replay on (re)connect. */
  interestSnapshot(): Iterable<LocalInterest> {
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
    this.interest.add(sub);
  }

  unsubscribe(sub: Subscription): void {
    if (this.subs.remove(sub)) this.interest.remove(sub);
  }

  /**
   * Whether a subscription to `subject` must be refused to the caller because
   * the hubs would refuse it: every attached hub refuses it (with none
   * attached, nothing is refused here). A hub that refuses while another
   * accepts simply never hears of it.
   */
  upstreamRefuses(subject: string): boolean {
    const ups = this.upstreams;
    if (ups.length === 0) return false;
    for (let i = 0; i < ups.length; i++) if (!ups[i]!.refusesInterest(subject)) return false;
    return true;
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
    // Set#clear allocates a fresh table even when empty: only clear what was used.
    if (served.size !== 0) served.clear();
    const qsubs = result.qsubs;
    for (let i = 0; i < qsubs.length; i++) {
      const group = qsubs[i]!;
      if (pickQueueMember(group, echo ? null : origin, subject, reply, hdrLen, payload)) {
        delivered++;
        served.add(group[0]!.queue!);
      }
    }
    if (this.upstreams.length > 0 && this.pickUpstreams(subject, reply, hdrLen, payload, served)) delivered++;
    return delivered;
  }

  /**
   * The one place that decides which hubs get a local publish. A reply subject
   * recorded from a hub request goes back through that hub only. Otherwise
   * every hub gets it once (each forwards only where its hub has interest),
   * and each queue group that no local member served is given to one live hub
   * that has members of it, chosen at random so every hub's members are used;
   * the other hubs are told the group is served. Returns true if any hub took
   * the message.
   */
  private pickUpstreams(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array, served: Set<string>): boolean {
    const ups = this.upstreams;
    const routes = this.replyRoutes;
    if (routes !== null) {
      const id = routes.upstreamFor(subject);
      if (id !== undefined) {
        const pinned = ups.find((u) => u.id === id);
        // Advertised or not: a reply the hub handed out (router/reply_tracker.ts).
        if (pinned !== undefined) return pinned.forwardReply(subject, reply, hdrLen, payload);
      }
    }
    if (ups.length === 1) return ups[0]!.forward(subject, reply, hdrLen, payload, served.size > 0 ? served : null);
    // Queue groups that several live hubs have: one owner each.
    let owners: Map<string, Upstream[]> | null = null;
    for (let i = 0; i < ups.length; i++) {
      const u = ups[i]!;
      if (!u.live) continue;
      const queues = u.match(subject).queues;
      for (let k = 0; k < queues.length; k++) {
        const q = queues[k]!;
        if (served.has(q)) continue;
        owners ??= new Map();
        const list = owners.get(q);
        if (list === undefined) owners.set(q, [u]);
        else list.push(u);
      }
    }
    let took = false;
    if (owners === null) {
      const s = served.size > 0 ? served : null;
      for (let i = 0; i < ups.length; i++) if (ups[i]!.forward(subject, reply, hdrLen, payload, s)) took = true;
      return took;
    }
    const chosen = new Map<string, Upstream>();
    for (const [q, list] of owners) chosen.set(q, list.length === 1 ? list[0]! : list[Math.floor(Math.random() * list.length)]!);
    for (let i = 0; i < ups.length; i++) {
      const u = ups[i]!;
      const excluded = new Set(served);
      for (const [q, owner] of chosen) if (owner !== u) excluded.add(q);
      if (u.forward(subject, reply, hdrLen, payload, excluded.size > 0 ? excluded : null)) took = true;
    }
    return took;
  }

  /**
   * A message from the hub. Plain subscribers all get it; queue subscribers
   * only when the hub named their group (an LMSG naming no queue reaches no
   * queue subscriber, as on nats-server).
   */
  deliverFromUpstream(
    from: Upstream,
    subject: string,
    reply: string | undefined,
    queues: readonly string[] | null,
    hdrLen: number,
    payload: Uint8Array,
  ): number {
    // A stored message carried inside a hub answer (auth/jetstream.ts): lifecycle reaches nobody,
    // any other stored subject is judged by each recipient's policy.
    const stored = hdrLen > 0 || payload[0] === 0x7b ? storedSubject(reply, hdrLen, payload) : undefined;
    if (stored !== undefined && isLifecycleSubject(stored)) {
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
      if (sub.owner.deliver(sub, shown, reply, hdrLen, payload, stored)) delivered++;
    }
    if (queues && queues.length > 0) {
      const qsubs = result.qsubs;
      for (let i = 0; i < qsubs.length; i++) {
        const group = qsubs[i]!;
        if (!queues.includes(group[0]!.queue!)) continue;
        if (pickQueueMember(group, null, shown, reply, hdrLen, payload, stored)) delivered++;
      }
    }
    // Only replies somebody here received can be answered from here.
    if (delivered > 0 && reply !== undefined) this.replyRoutes?.noteRequest?.(from.id, reply);
    return delivered;
  }

  /** A stream tried to deliver a lifecycle event: nobody gets it, and the consumer is told to stop offering it. */
  private withholdStreamedLifecycle(ackReply: string, from: Upstream): number {
    this.lifecycleWithheld++;
    from.forwardReply(ackReply, undefined, -1, JS_TERM);
    return 0;
  }

  /**
   * A hub refused this exact interest: hand the refusal to every subscriber
   * behind it (each answers its caller and drops the subscription).
   */
  refuseInterest(_from: Upstream, subject: string, queue: string | undefined): number {
    const subs = this.interest.subscriptionsOf(subject, queue);
    for (const sub of subs) {
      if (sub.owner.refuseSubscription) sub.owner.refuseSubscription(sub);
      else this.unsubscribe(sub);
    }
    return subs.length;
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
  stored?: string,
): boolean {
  const n = group.length;
  const start = n === 1 ? 0 : Math.floor(Math.random() * n);
  for (let k = 0; k < n; k++) {
    const sub = group[(start + k) % n]!;
    if (skipOwner !== null && sub.owner === skipOwner) continue;
    if (sub.owner.deliver(sub, subject, reply, hdrLen, payload, stored)) return true;
  }
  return false;
}
