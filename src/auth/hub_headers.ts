/**
 * Headers of a caller's publish that make the hub act on the caller's behalf.
 * The hub checks what such a header asks for against the permissions of the
 * connection the message came from, and for the hub that connection is our
 * leaf link, which may publish and read far more than any one caller. So each
 * one is held here to what the caller itself may do:
 *
 * - `Nats-Trace-Dest` (nats-server 2.11+): the hub publishes trace events of
 *   the message's path there. Held to the caller's rule for a destination
 *   (CallerPolicy.routeTraceDestination): its reply namespace, `_INBOX.`
 *   mapped into it as for replies (so `nats trace` works through the
 *   gateway), or a subject it may publish to itself. A mapped destination is
 *   put back into its line, the rest of the block byte for byte.
 * - `Nats-Schedule-Target` (nats-server 2.12+, in a stream that allows
 *   message schedules): the hub stores a message on that subject, in the same
 *   stream, when the schedule fires. It must be a subject the caller may
 *   publish to.
 * - `Nats-Schedule-Source` (same): the hub takes the content of the last
 *   message stored on that subject instead of the schedule's own, and stores
 *   it on the target. That reads the subject, so it must be one the caller may
 *   subscribe to as written. Otherwise a schedule could copy a lifecycle event
 *   or another caller's reply onto a subject the caller reads.
 *
 * The hub reads the first line named exactly as above. This reads every line
 * whose name matches in any case, and a publish naming one of them twice is
 * refused, so no reading of the block escapes the check. Pure.
 */
import { forEachHeaderLine } from "../protocol/headers.js";
import { isBlank } from "../protocol/line_reader.js";
import { isValidLiteralSubject } from "../subject/subject.js";
import type { CallerPolicy } from "./caller_policy.js";

export type HubHeaderVerdict =
  | { readonly action: "pass" }
  | { readonly action: "rewrite"; readonly payload: Uint8Array }
  | { readonly action: "refuse"; readonly subject: string; readonly why: string };

const PASS: HubHeaderVerdict = Object.freeze({ action: "pass" });

const TRACE_DEST = "nats-trace-dest";
const SCHEDULE_TARGET = "nats-schedule-target";
const SCHEDULE_SOURCE = "nats-schedule-source";

/** One header line's value: where it lies in the block and what it says. */
interface HeaderValue {
  from: number;
  to: number;
  value: string;
}

/** Decide a publish with headers (`hdrLen` > 0): pass, rewrite its trace destination, or refuse it. */
export function checkHubHeaders(hdrLen: number, payload: Uint8Array, perms: CallerPolicy): HubHeaderVerdict {
  const hdr = Buffer.from(payload.buffer, payload.byteOffset, hdrLen);
  if (!mentionsHubHeader(hdr)) return PASS;
  const found = new Map<string, HeaderValue>();
  let twice: HubHeaderVerdict | null = null;
  forEachHeaderLine(hdr, (start, colon, end) => {
    const name = hdr.toString("latin1", start, colon).trim().toLowerCase();
    if (name !== TRACE_DEST && name !== SCHEDULE_TARGET && name !== SCHEDULE_SOURCE) return;
    let from = colon + 1;
    let to = end;
    while (from < to && isBlank(hdr[from]!)) from++;
    while (to > from && isBlank(hdr[to - 1]!)) to--;
    if (to === from) return;
    const value = hdr.toString("utf8", from, to);
    if (found.has(name)) {
      twice = { action: "refuse", subject: value, why: `${name} given more than once` };
      return false;
    }
    found.set(name, { from, to, value });
  });
  if (twice !== null) return twice;

  const target = found.get(SCHEDULE_TARGET);
  if (target !== undefined && !(isValidLiteralSubject(target.value) && perms.mayPublish(target.value))) {
    return { action: "refuse", subject: target.value, why: "a schedule target the caller may not publish to" };
  }
  const source = found.get(SCHEDULE_SOURCE);
  if (source !== undefined && !(isValidLiteralSubject(source.value) && perms.routeSubscribe(source.value) === source.value)) {
    return { action: "refuse", subject: source.value, why: "a schedule source the caller may not read" };
  }

  const trace = found.get(TRACE_DEST);
  if (trace === undefined) return PASS;
  const routed = perms.routeTraceDestination(trace.value);
  if (routed === null) return { action: "refuse", subject: trace.value, why: "a trace destination outside the caller's rights" };
  if (routed === trace.value) return PASS;
  return { action: "rewrite", payload: Buffer.concat([payload.subarray(0, trace.from), Buffer.from(routed, "utf8"), payload.subarray(trace.to)]) };
}

/**
 * Cheap test before the line scan: `nats-trace-dest` or `nats-schedule-` in
 * any case somewhere in the block (a superset of every name read above; the
 * hub itself needs the exact name followed by a colon).
 */
function mentionsHubHeader(hdr: Buffer): boolean {
  for (let i = hdr.indexOf(0x2d); i >= 0; i = hdr.indexOf(0x2d, i + 1)) {
    if (i >= 4 && foldedAt(hdr, i - 4, "nats-") && (foldedAt(hdr, i + 1, "trace-dest") || foldedAt(hdr, i + 1, "schedule-"))) return true;
  }
  return false;
}

/** Does `hdr` hold `lower` (ASCII, lower case) at `at`, in any case? */
function foldedAt(hdr: Buffer, at: number, lower: string): boolean {
  if (at + lower.length > hdr.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = hdr[at + k]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(k)) return false;
  }
  return true;
}
