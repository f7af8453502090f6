/**
 * What a caller may make JetStream do on its behalf. A consumer-create request
 * names, inside its JSON body, the subject the hub will push messages to
 * (`config.deliver_subject`) and the subjects it reads (`filter_subject(s)`).
 * No NATS server checks that the requester could subscribe to that deliver
 * subject, so without this anyone allowed to create a consumer could point a
 * stream at another caller's reply namespace. Decided here, for
 * `$JS.API.CONSUMER.CREATE.…` and `$JS.API.CONSUMER.DURABLE.CREATE.…`:
 *
 * - a deliver subject starting with `_INBOX.` is rewritten into the caller's
 *   reply namespace exactly as reply subjects are, so a plain NATS client's
 *   push consumer works through the gateway;
 * - the (rewritten) deliver subject, with its deliver group, must be a literal
 *   subject the caller could subscribe to itself (its own namespace, nothing
 *   in another caller's, never lifecycle, nothing outside its grants);
 * - a filter that can match `choria.lifecycle.>` is refused (lifecycle events
 *   reach nobody, through streams neither);
 * - a body that cannot be read unambiguously is refused. nats-server decodes
 *   it with Go's encoding/json, which matches keys case-insensitively (with
 *   Unicode folding: `ſ` is `s`, the Kelvin sign is `k`), so every key that
 *   folds to a field name counts, and more than one is refused. Invalid
 *   UTF-8 becomes U+FFFD as in Go. A body that is not JSON at all goes on:
 *   Go cannot read it either, and the hub answers with its own error.
 *
 * Streams can point at subjects too: `$JS.API.STREAM.CREATE.…` and
 * `$JS.API.STREAM.UPDATE.…` may name a republish destination (the hub
 * publishes every stored message there) and, for mirrors and sources from
 * another domain, an external deliver prefix (the hub has messages pushed
 * there). A destination must be one the caller could publish to itself, and a
 * deliver prefix one it could subscribe to, or the request is refused.
 *
 * Also here: whether a message the hub sends carries a lifecycle event inside
 * it rather than on its subject (a direct get or message get of a stream that
 * captures lifecycle, a republished copy). Pure: the caller's permissions and
 * reply namespace come in as arguments.
 */
import { isValidLiteralSubject, subjectsIntersect } from "../subject/subject.js";
import { LIFECYCLE_PATTERN } from "./permissions.js";
import type { Permissions, ReplyNamespace } from "./types.js";

const CONSUMER_CREATE = "$JS.API.CONSUMER.CREATE.";
const DURABLE_CREATE = "$JS.API.CONSUMER.DURABLE.CREATE.";
const INBOX = "_INBOX.";

/** What to do with a publish. */
export type JsRequestVerdict =
  | { readonly action: "pass" }
  | { readonly action: "rewrite"; readonly payload: Uint8Array; readonly deliverSubject: string }
  | { readonly action: "refuse"; readonly why: string };

const PASS: JsRequestVerdict = Object.freeze({ action: "pass" });

/** True for the subjects whose body this module must see (cheap prefix test for the hot path). */
export function isConsumerCreate(subject: string): boolean {
  return subject.startsWith(CONSUMER_CREATE) || subject.startsWith(DURABLE_CREATE);
}

/** Placeholder token standing for a wildcard of a consumer filter in a permission check. */
const FILTER_WILDCARD_TOKEN = "_filter_wildcard_";

/**
 * The literal subject a consumer-create publish is permission-checked as.
 * nats.js (2.9 API) puts the consumer's filter into the subject,
 * `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`, wildcards included, and
 * nats-server routes it like any subject. Wildcards are accepted only in the
 * filter part: each `*` becomes one placeholder token and `>` two, so a grant
 * must cover them as it would cover the filter (the hub checks that the filter
 * in the subject equals the one in the body, which checkConsumerCreate sees).
 * Anything else is returned unchanged and fails the literal-subject check.
 */
export function consumerCreatePermissionSubject(subject: string): string {
  if (!subject.startsWith(CONSUMER_CREATE)) return subject;
  const tokens = subject.split(".");
  // $JS API CONSUMER CREATE <stream> <name> <filter…>
  if (tokens.length < 7) return subject;
  let wild = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t !== "*" && t !== ">") continue;
    if (i < 6 || (t === ">" && i !== tokens.length - 1)) return subject;
    wild = true;
  }
  return wild ? literalised(subject) : subject;
}

const STREAM_CREATE = "$JS.API.STREAM.CREATE.";
const STREAM_UPDATE = "$JS.API.STREAM.UPDATE.";

/** True for the subjects whose stream configuration this module must see. */
export function isStreamConfigure(subject: string): boolean {
  return subject.startsWith(STREAM_CREATE) || subject.startsWith(STREAM_UPDATE);
}

/** A subject pattern with its wildcards as placeholder tokens, for a literal permission check. */
function literalised(pattern: string): string {
  return pattern.split(".").map((t) => (t === "*" ? FILTER_WILDCARD_TOKEN : t === ">" ? `${FILTER_WILDCARD_TOKEN}.${FILTER_WILDCARD_TOKEN}` : t)).join(".");
}

/**
 * Decide a stream create/update: refuse a republish destination the caller
 * could not publish to, and an external deliver prefix (mirror or source) it
 * could not subscribe to. Never rewrites.
 */
export function checkStreamConfigure(hdrLen: number, payload: Uint8Array, perms: Permissions): JsRequestVerdict {
  let cfg: unknown;
  try {
    cfg = JSON.parse(decoder.decode(payload.subarray(hdrLen > 0 ? hdrLen : 0)));
  } catch {
    return PASS; // not JSON: the hub cannot read it either and answers with an error
  }
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) return { action: "refuse", why: "stream request body is not an object" };
  const c = cfg as Record<string, unknown>;
  const rp = field(c, "republish");
  if (rp.ambiguous) return { action: "refuse", why: "several republish keys" };
  if (rp.value !== undefined && rp.value !== null) {
    if (typeof rp.value !== "object" || Array.isArray(rp.value)) return { action: "refuse", why: "republish is not an object" };
    const dest = field(rp.value as Record<string, unknown>, "dest");
    if (dest.ambiguous || typeof dest.value !== "string" || !perms.canPublish(literalised(dest.value))) {
      return { action: "refuse", why: `republish destination ${JSON.stringify(dest.value)} is not one the caller may publish to` };
    }
  }
  const origins: unknown[] = [];
  const mirror = field(c, "mirror");
  const sources = field(c, "sources");
  if (mirror.ambiguous || sources.ambiguous) return { action: "refuse", why: "several mirror or sources keys" };
  if (mirror.value !== undefined && mirror.value !== null) origins.push(mirror.value);
  if (Array.isArray(sources.value)) origins.push(...sources.value);
  for (const o of origins) {
    if (o === null || typeof o !== "object" || Array.isArray(o)) continue;
    const ext = field(o as Record<string, unknown>, "external");
    if (ext.ambiguous) return { action: "refuse", why: "several external keys" };
    if (ext.value === undefined || ext.value === null || typeof ext.value !== "object") continue;
    const deliver = field(ext.value as Record<string, unknown>, "deliver");
    if (deliver.ambiguous) return { action: "refuse", why: "several deliver keys" };
    if (deliver.value === undefined || deliver.value === null || deliver.value === "") continue;
    if (typeof deliver.value !== "string" || !perms.canSubscribe(`${deliver.value}.>`)) {
      return { action: "refuse", why: `external deliver prefix ${JSON.stringify(deliver.value)} is not one the caller may subscribe to` };
    }
  }
  return PASS;
}

/** Go's encoding/json key matching: simple case folding, plus the two folds it adds. */
function foldKey(k: string): string {
  return k.toLowerCase().replace(/\u017f/g, "s").replace(/\u212a/g, "k");
}

/** The one value under a key folding to `name`; `ambiguous` when several keys fold to it. */
function field(obj: Record<string, unknown>, name: string): { value: unknown; key: string | undefined; ambiguous: boolean } {
  let key: string | undefined;
  let n = 0;
  for (const k of Object.keys(obj)) {
    if (foldKey(k) === name) {
      key = k;
      n++;
    }
  }
  return { value: key === undefined ? undefined : obj[key], key, ambiguous: n > 1 };
}

/** Not fatal: Go's decoder replaces invalid UTF-8 with U+FFFD too, so both read the same text. */
const decoder = new TextDecoder("utf-8");

/**
 * Decide a publish to a consumer-create subject. `hdrLen` and `payload` as the
 * parser gives them (headers then body). Call only when isConsumerCreate().
 */
export function checkConsumerCreate(
  hdrLen: number,
  payload: Uint8Array,
  perms: Permissions,
  replies: ReplyNamespace,
): JsRequestVerdict {
  const bodyStart = hdrLen > 0 ? hdrLen : 0;
  let text: string;
  let req: unknown;
  try {
    text = decoder.decode(payload.subarray(bodyStart));
    req = JSON.parse(text);
  } catch {
    return PASS; // not JSON: the hub cannot read it either and answers with an error
  }
  if (req === null || typeof req !== "object" || Array.isArray(req)) return { action: "refuse", why: "consumer request body is not an object" };
  const cfgField = field(req as Record<string, unknown>, "config");
  if (cfgField.ambiguous) return { action: "refuse", why: "several config keys" };
  const cfg = cfgField.value;
  if (cfg === undefined || cfg === null) return PASS; // the hub answers "consumer config required"
  if (typeof cfg !== "object" || Array.isArray(cfg)) return { action: "refuse", why: "config is not an object" };
  const c = cfg as Record<string, unknown>;

  for (const name of ["filter_subject", "filter_subjects"]) {
    const f = field(c, name);
    if (f.ambiguous) return { action: "refuse", why: `several ${name} keys` };
    const filters = Array.isArray(f.value) ? f.value : [f.value];
    for (const s of filters) {
      if (typeof s === "string" && s !== "" && subjectsIntersect(s, LIFECYCLE_PATTERN)) {
        return { action: "refuse", why: `filter ${JSON.stringify(s)} can match lifecycle events` };
      }
    }
  }

  const ds = field(c, "deliver_subject");
  const dg = field(c, "deliver_group");
  if (ds.ambiguous || dg.ambiguous) return { action: "refuse", why: "several deliver_subject or deliver_group keys" };
  if (ds.value === undefined || ds.value === null || ds.value === "") return PASS; // a pull consumer
  if (typeof ds.value !== "string") return { action: "refuse", why: "deliver_subject is not a string" };
  const group = typeof dg.value === "string" && dg.value !== "" ? dg.value : undefined;
  const deliver = ds.value.startsWith(INBOX) ? replies.mapSubscribe(ds.value) : ds.value;
  if (!isValidLiteralSubject(deliver) || !perms.canSubscribe(deliver, group)) {
    return { action: "refuse", why: `deliver subject ${JSON.stringify(ds.value)} is not one the caller may subscribe to` };
  }
  if (deliver === ds.value) return PASS;
  c[ds.key!] = deliver;
  const body = Buffer.from(replaceOnce(text, ds.value, deliver) ?? JSON.stringify(req), "utf8");
  if (bodyStart === 0) return { action: "rewrite", payload: body, deliverSubject: deliver };
  const out = new Uint8Array(bodyStart + body.length);
  out.set(payload.subarray(0, bodyStart), 0);
  out.set(body, bodyStart);
  return { action: "rewrite", payload: out, deliverSubject: deliver };
}

/**
 * The body with the one JSON string `"from"` replaced by `"to"`, keeping every
 * other byte (numbers beyond 2^53 survive); null when `"from"` does not occur
 * exactly once as written, and the caller re-serialises instead.
 */
function replaceOnce(text: string, from: string, to: string): string | null {
  const needle = JSON.stringify(from);
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) return null;
  return text.slice(0, at) + JSON.stringify(to) + text.slice(at + needle.length);
}

/**
 * The reverse of the deliver-subject rewrite, for the hub's answers (consumer
 * create and info): a client that asked for `_INBOX.x` must read `_INBOX.x`
 * back, or it resubscribes to the rewritten subject and stops recognising its
 * own flow-control and heartbeat messages. `nsPrefix` is the caller's
 * namespace with a trailing dot. Returns the new payload, or null when there
 * is nothing to change (the common case: one byte search).
 */
export function unmapDeliverSubjects(hdrLen: number, payload: Uint8Array, nsPrefix: string): Uint8Array | null {
  const start = hdrLen > 0 ? hdrLen : 0;
  const body = Buffer.from(payload.buffer, payload.byteOffset + start, payload.length - start);
  const needle = `"deliver_subject":"${nsPrefix}${INBOX}`;
  if (body.indexOf(needle, 0, "latin1") < 0) return null;
  const text = body.toString("utf8").split(needle).join(`"deliver_subject":"${INBOX}`);
  const out = Buffer.from(text, "utf8");
  if (start === 0) return out;
  return Buffer.concat([Buffer.from(payload.buffer, payload.byteOffset, start), out]);
}

/** A subject inside `choria.lifecycle.>`. */
export function isLifecycleSubject(subject: string): boolean {
  return subject.startsWith(LIFECYCLE_PREFIX);
}

/**
 * The ack body that ends redelivery of a JetStream message for good. A
 * lifecycle event a stream tried to deliver to a client is answered with it,
 * so the consumer does not offer it again every ack wait.
 */
export const JS_TERM = new Uint8Array(Buffer.from("+TERM"));

const NATS_SUBJECT_HEADER = "Nats-Subject:";
const MSG_GET_RESPONSE = '{"type":"io.nats.jetstream.api.v1.stream_msg_get_response"';
const LIFECYCLE_PREFIX = LIFECYCLE_PATTERN.slice(0, -1);

/**
 * Does a message from the hub carry a lifecycle event inside it? True for a
 * direct-get answer or republished copy whose `Nats-Subject` header names a
 * lifecycle subject, and for a message-get answer whose message subject is
 * one. Cheap for everything else: a header scan, a prefix compare.
 */
export function carriesLifecycleEvent(hdrLen: number, payload: Uint8Array): boolean {
  if (hdrLen > 0 && headerNamesLifecycle(payload, hdrLen)) return true;
  const start = hdrLen > 0 ? hdrLen : 0;
  if (payload.length - start < MSG_GET_RESPONSE.length || payload[start] !== 0x7b) return false;
  if (Buffer.from(payload.buffer, payload.byteOffset + start, MSG_GET_RESPONSE.length).toString("latin1") !== MSG_GET_RESPONSE) return false;
  try {
    const r = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset + start, payload.length - start).toString("utf8")) as { message?: { subject?: unknown } };
    const s = r.message?.subject;
    return typeof s === "string" && s.startsWith(LIFECYCLE_PREFIX);
  } catch {
    return false;
  }
}

const SUBJECT_HEADER_BYTES = Buffer.from(NATS_SUBJECT_HEADER, "latin1");
const LIFECYCLE_BYTES = Buffer.from(LIFECYCLE_PREFIX, "latin1");

/** A byte search of the header block (a view, no copy). */
function headerNamesLifecycle(payload: Uint8Array, hdrLen: number): boolean {
  const hdr = Buffer.from(payload.buffer, payload.byteOffset, hdrLen);
  let at = hdr.indexOf(SUBJECT_HEADER_BYTES);
  while (at >= 0) {
    let v = at + SUBJECT_HEADER_BYTES.length;
    while (hdr[v] === 0x20) v++;
    if (hdr.length - v >= LIFECYCLE_BYTES.length && hdr.compare(LIFECYCLE_BYTES, 0, LIFECYCLE_BYTES.length, v, v + LIFECYCLE_BYTES.length) === 0) return true;
    at = hdr.indexOf(SUBJECT_HEADER_BYTES, v);
  }
  return false;
}
