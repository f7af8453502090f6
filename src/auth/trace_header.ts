/**
 * The `Nats-Trace-Dest` header of a caller's publish. A nats-server 2.11 or
 * later hub that sees it publishes a trace event of the message's path to that
 * subject, after checking the destination against the permissions of the
 * connection the message came from. For the hub that connection is our leaf
 * link, which may publish far more than any one caller, so without this check
 * a caller could have the hub publish onto another caller's reply subjects or
 * onto lifecycle subjects. The destination is held to the caller's own rule
 * (CallerPolicy.routeTraceDestination): its reply namespace, `_INBOX.`
 * mapped into it as for replies (so `nats trace` works through the gateway),
 * or a subject it may publish to itself.
 *
 * The hub reads the first line named exactly `Nats-Trace-Dest`; this reads
 * every line whose name matches in any case, and a publish naming more than
 * one destination is refused, so no reading of the block escapes the check.
 * A rewritten destination is put back into that one line, the rest of the
 * block byte for byte. Pure.
 */
import type { CallerPolicy } from "./caller_policy.js";

const NAME = "nats-trace-dest";

export type TraceVerdict =
  | { readonly action: "pass" }
  | { readonly action: "rewrite"; readonly payload: Uint8Array }
  | { readonly action: "refuse"; readonly destination: string };

const PASS: TraceVerdict = Object.freeze({ action: "pass" });

/** Decide a publish with headers (`hdrLen` > 0): pass, rewrite its trace destination, or refuse it. */
export function checkTraceDestination(hdrLen: number, payload: Uint8Array, perms: CallerPolicy): TraceVerdict {
  const hdr = Buffer.from(payload.buffer, payload.byteOffset, hdrLen);
  if (!mayNameTrace(hdr)) return PASS;
  let found: { from: number; to: number; value: string } | null = null;
  let line = hdr.indexOf(0x0a) + 1; // after the status line
  while (line > 0 && line < hdr.length) {
    const next = hdr.indexOf(0x0a, line);
    const end = next < 0 ? hdr.length : hdr[next - 1] === 0x0d ? next - 1 : next;
    const colon = hdr.indexOf(0x3a, line);
    if (colon > line && colon < end && hdr.toString("latin1", line, colon).trim().toLowerCase() === NAME) {
      let from = colon + 1;
      let to = end;
      while (from < to && (hdr[from] === 0x20 || hdr[from] === 0x09)) from++;
      while (to > from && (hdr[to - 1] === 0x20 || hdr[to - 1] === 0x09)) to--;
      if (to > from) {
        const value = hdr.toString("utf8", from, to);
        if (found !== null) return { action: "refuse", destination: value };
        found = { from, to, value };
      }
    }
    line = next + 1;
  }
  if (found === null) return PASS;
  const routed = perms.routeTraceDestination(found.value);
  if (routed === null) return { action: "refuse", destination: found.value };
  if (routed === found.value) return PASS;
  return { action: "rewrite", payload: Buffer.concat([payload.subarray(0, found.from), Buffer.from(routed, "utf8"), payload.subarray(found.to)]) };
}

/** Cheap test before the line scan: "trace-dest" in any case somewhere in the block. */
function mayNameTrace(hdr: Buffer): boolean {
  for (let i = hdr.indexOf(0x2d); i >= 0; i = hdr.indexOf(0x2d, i + 1)) {
    if (i >= 5 && hdr.toString("latin1", i - 5, i + 6).toLowerCase() === "trace-dest:") return true;
  }
  return false;
}
