/**
 * Which JetStream acknowledgements and flow-control answers a connection may
 * send. A consumer takes `+ACK`, `+NAK`, `+TERM`, `+WPI` and `+NXT` on
 * `$JS.ACK.<stream>.<consumer>.<delivery count>.<stream seq>.<consumer seq>.
 * <timestamp>.<pending>` and never checks who sent it; the sequences are easy
 * to guess and the timestamp is not checked at all. So a caller allowed to
 * publish on `$JS.ACK.>` (every Streams user must be, to acknowledge its own
 * messages) could acknowledge or terminate another caller's pending work. The
 * same holds for the `$JS.FC.<stream>.<consumer>.<id>` flow-control answers.
 *
 * The rule, as nats-server's `allow_responses` does for replies: a connection
 * may answer a consumer only after that consumer has delivered to it. Each
 * delivery whose reply is such a subject grants its consumer (the subject up
 * to the consumer's name); a publish is allowed when its own consumer part is
 * granted. Callers sharing one consumer (competing workers of one queue) can
 * still answer each other's messages, as they can take each other's messages.
 * A subject of an unknown shape grants and is matched only as a whole.
 *
 * Bounded: CONSUMERS_PER_CONNECTION consumers, least recently used out first.
 * An answer to a consumer pushed out that way is refused, and the hub delivers
 * the message again after its ack wait (at-least-once holds).
 */
import { BoundedMap } from "../bounded_map.js";

const ACK_PREFIX = "$JS.ACK.";
const FC_PREFIX = "$JS.FC.";
/** Consumers one connection may answer at once. */
export const CONSUMERS_PER_CONNECTION = 1024;
/** A longer subject is never granted (nor answerable). */
const MAX_SUBJECT = 512;

/**
 * The consumer a `$JS.ACK.` or `$JS.FC.` subject answers, as the subject's
 * first tokens: 4 of the 9 of an ack (`$JS.ACK.<stream>.<consumer>`), 6 of the
 * 12 of an ack with domain and account hash, 4 of the 5 of a flow-control
 * answer; the whole subject for any other shape; null for other subjects.
 */
export function jsAnswerKey(subject: string): string | null {
  const end = jsAnswerKeyEnd(subject);
  return end < 0 ? null : end === subject.length ? subject : subject.slice(0, end);
}

/** Where jsAnswerKey's key ends in `subject` (its length for the whole), or -1; allocates nothing. */
function jsAnswerKeyEnd(subject: string): number {
  let ack: boolean;
  if (subject.startsWith(ACK_PREFIX)) ack = true;
  else if (subject.startsWith(FC_PREFIX)) ack = false;
  else return -1;
  // Token count and where the 4th and 6th tokens end, without splitting.
  let tokens = 1;
  let end4 = -1;
  let end6 = -1;
  for (let i = subject.indexOf("."); i >= 0; i = subject.indexOf(".", i + 1)) {
    tokens++;
    if (tokens === 5) end4 = i;
    else if (tokens === 7) end6 = i;
  }
  if (ack) return tokens === 9 ? end4 : tokens === 12 ? end6 : subject.length;
  return tokens === 5 ? end4 : subject.length;
}

/** One connection's grants: the consumers that delivered to it. */
export class JsAnswerGrants {
  private readonly consumers = new BoundedMap<true>({ entries: CONSUMERS_PER_CONNECTION, keyLength: MAX_SUBJECT, order: "lru" });

  /**
   * The key noted last. Only noteDelivery adds keys, so while deliveries keep
   * coming from the same consumer its key is still held, and a delivery costs
   * a token scan and no string.
   */
  private last: string | null = null;

  /** A message was delivered to this connection with `reply`: note its consumer, if it is one. */
  noteDelivery(reply: string): void {
    const end = jsAnswerKeyEnd(reply);
    if (end < 0) return;
    const last = this.last;
    if (last !== null && end === last.length && reply.startsWith(last)) return;
    const key = end === reply.length ? reply : reply.slice(0, end);
    if (this.consumers.get(key) === undefined) this.consumers.set(key, true);
    this.last = key;
  }

  /**
   * May this connection publish to `subject`? True for every subject that is
   * not a JetStream answer; for an answer, only when its consumer delivered
   * here.
   */
  mayAnswer(subject: string): boolean {
    const key = jsAnswerKey(subject);
    return key === null || this.consumers.get(key) !== undefined;
  }

  /** Consumers granted (tests). */
  get size(): number {
    return this.consumers.size;
  }
}
