/**
 * The hashes that name a caller's private reply namespace
 * `<collective>.reply.<md5hex(callerid)>` (go-choria's client inbox prefix;
 * sha256 in FIPS mode). The rules that use the namespace (mapping `_INBOX.`,
 * confining replies, filtering deliveries) live in caller_policy.ts.
 */
import { createHash } from "node:crypto";

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
