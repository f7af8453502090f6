/**
 * A caller's private reply namespace `<collective>.reply.<md5hex(callerid)>`
 * (go-choria's client inbox prefix, docs/protocol.md#choria-connect) and the rewriting of
 * generic `_INBOX.` subjects into it, so standard NATS request/reply works while
 * nobody can subscribe to someone else's replies. Only subjects starting with
 * `_INBOX.` are ever rewritten, and the mapping is exact and reversible.
 * Replies into another caller's namespace (`<c>.reply.<other hash>.…`) are
 * refused: nobody may direct a server's answer into someone else's inbox.
 */
import { createHash } from "node:crypto";
import type { ReplyNamespace } from "./types.js";

const INBOX = "_INBOX.";
const REPLY_TOKEN = "reply";

export function md5Hex(s: string): string {
  return createHash("md5").update(s, "utf8").digest("hex");
}

export function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** Both hashes Choria accepts for a caller's reply subjects (md5 normally, sha256 in FIPS mode). */
export function replyHashes(callerId: string): { md5: string; sha256: string } {
  return { md5: md5Hex(callerId), sha256: sha256Hex(callerId) };
}

class CallerReplyNamespace implements ReplyNamespace {
  readonly prefix: string;
  private readonly prefixDot: string;
  private readonly inboxPrefix: string;
  private readonly md5: string;
  private readonly sha256: string;

  constructor(collective: string, callerId: string) {
    const { md5, sha256 } = replyHashes(callerId);
    this.md5 = md5;
    this.sha256 = sha256;
    this.prefix = `${collective}.${REPLY_TOKEN}.${md5}`;
    this.prefixDot = this.prefix + ".";
    this.inboxPrefix = this.prefixDot + INBOX;
  }

  mapSubscribe(subject: string): string {
    return subject.startsWith(INBOX) ? this.prefixDot + subject : subject;
  }

  isRewritten(subject: string): boolean {
    return subject.startsWith(INBOX);
  }

  mapPublishReply(reply: string): string | null {
    if (reply.startsWith(INBOX)) return this.prefixDot + reply;
    // Is the second token "reply"? Then the third names whose namespace it is.
    const first = reply.indexOf(".");
    if (first < 0) return reply;
    const second = reply.indexOf(".", first + 1);
    const secondEnd = second < 0 ? reply.length : second;
    if (secondEnd - first - 1 !== REPLY_TOKEN.length || !reply.startsWith(REPLY_TOKEN, first + 1)) return reply;
    if (second < 0) return reply; // "<c>.reply" names no caller
    const third = reply.indexOf(".", second + 1);
    const start = second + 1;
    const len = (third < 0 ? reply.length : third) - start;
    const own =
      (len === this.md5.length && reply.startsWith(this.md5, start)) ||
      (len === this.sha256.length && reply.startsWith(this.sha256, start));
    return own ? reply : null;
  }

  unmapDelivered(subject: string): string {
    return subject.startsWith(this.inboxPrefix) ? subject.slice(this.prefixDot.length) : subject;
  }
}

export function createReplyNamespace(collective: string, callerId: string): ReplyNamespace {
  return new CallerReplyNamespace(collective, callerId);
}
