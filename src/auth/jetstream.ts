/**
 * What a caller may make JetStream do on its behalf. Several JetStream API
 * requests name subjects inside their JSON body, and no NATS server checks
 * that the requester could use them: a push consumer's deliver subject (the
 * hub pushes messages there), a stream's subjects (the hub stores whatever is
 * published there, and anyone reading the stream reads it), a republish
 * destination, a mirror's or source's filter and external deliver prefix,
 * subject transforms. Decided here, for the API under `$JS.API.` and under a
 * JetStream domain, `$JS.<domain>.API.` (the hub maps one onto the other, so
 * both get exactly the same checks):
 *
 * - consumer create (`CONSUMER.CREATE.…`, `CONSUMER.DURABLE.CREATE.…`): a
 *   deliver subject starting with `_INBOX.` is rewritten into the caller's
 *   reply namespace as reply subjects are; the (rewritten) deliver subject
 *   with its group must be one the caller could subscribe to itself; a filter
 *   that can match lifecycle events is refused;
 * - stream create and update: every stream subject, mirror or source filter
 *   and transform destination must be one the caller may capture
 *   (CallerPolicy.mayCapture: never lifecycle, never another caller's reply
 *   namespace); a republish destination one it could publish to; an external
 *   deliver prefix, and the deliver subject of a source's named consumer
 *   (nats-server 2.14), one it could subscribe to;
 * - stream snapshot and restore are refused: a snapshot carries every stored
 *   message (lifecycle events too) to a deliver subject as one opaque archive,
 *   and a restore brings back a stream configuration nobody checked;
 * - direct get with `no_hdr` (nats-server 2.12's JSApiMsgGetRequest.NoHeaders):
 *   refused, because the headers are how the gateway sees which subject the
 *   answer's message was stored on. Every direct get with a body is parsed; the
 *   usual KV get has none (its subject names the key).
 *
 * Bodies are read as the hub reads them (auth/go_json.ts: Go's grammar, key
 * folding and UTF-8 repair; a key given twice is refused), and a rewritten
 * body is written back from the parsed value, never patched as text. A body
 * that cannot be read is refused: the gateway passes on nothing it cannot
 * check.
 *
 * Also here: which stored subject a message from the hub carries inside it
 * (a lifecycle event, another caller's reply), decided only from what the hub
 * itself sets.
 * Pure: the caller's permissions come in as arguments.
 */
import { isValidLiteralSubject, subjectsIntersect } from "../subject/subject.js";
import { LIFECYCLE_PATTERN, type CallerPolicy } from "./caller_policy.js";
import { forEachHeaderLine } from "../protocol/headers.js";
import { GoJsonError, field, isBlankJson, isObject, parseGoJson, serialise, setField, type JsonObject, type JsonValue } from "./go_json.js";

const JS_PREFIX = "$JS.";
const API_PREFIX = "$JS.API.";
const INBOX = "_INBOX.";

/** What to do with a publish. */
export type JsRequestVerdict =
  | { readonly action: "pass" }
  | { readonly action: "rewrite"; readonly payload: Uint8Array; readonly deliverSubject: string }
  | { readonly action: "refuse"; readonly why: string };

const PASS: JsRequestVerdict = Object.freeze({ action: "pass" });
const refuse = (why: string): JsRequestVerdict => ({ action: "refuse", why });

/**
 * Where the operation starts in a JetStream API subject: the index after
 * `$JS.API.` or `$JS.<domain>.API.`, or -1 for any other subject (one
 * character compare for everything outside `$JS.`).
 */
export function jsApiOpStart(subject: string): number {
  if (subject.charCodeAt(0) !== 0x24 || !subject.startsWith(JS_PREFIX)) return -1;
  if (subject.startsWith(API_PREFIX)) return API_PREFIX.length;
  const dot = subject.indexOf(".", JS_PREFIX.length);
  return dot > JS_PREFIX.length && subject.startsWith(".API.", dot) ? dot + 5 : -1;
}

/** The requests whose body this module must see. */
enum Op {
  None,
  ConsumerCreate,
  StreamConfigure,
  Archive,
  DirectGet,
}

function opOf(subject: string): Op {
  const at = jsApiOpStart(subject);
  if (at < 0) return Op.None;
  const op = subject.slice(at);
  if (op.startsWith("CONSUMER.CREATE.") || op.startsWith("CONSUMER.DURABLE.CREATE.")) return Op.ConsumerCreate;
  if (op.startsWith("STREAM.CREATE.") || op.startsWith("STREAM.UPDATE.")) return Op.StreamConfigure;
  if (op.startsWith("STREAM.SNAPSHOT.") || op.startsWith("STREAM.RESTORE.")) return Op.Archive;
  if (op.startsWith("DIRECT.GET.")) return Op.DirectGet;
  return Op.None;
}

/** True when checkJsRequest must see this publish (cheap for every other subject). */
export function isCheckedJsRequest(subject: string): boolean {
  return opOf(subject) !== Op.None;
}

/**
 * Decide a publish to a JetStream API subject. `hdrLen` and `payload` as the
 * parser gives them (headers then body).
 */
export function checkJsRequest(subject: string, hdrLen: number, payload: Uint8Array, perms: CallerPolicy): JsRequestVerdict {
  const op = opOf(subject);
  if (op === Op.None) return PASS;
  if (op === Op.Archive) return refuse("stream snapshots and restores are not available through the gateway");
  const bodyStart = hdrLen > 0 ? hdrLen : 0;
  const bytes = payload.subarray(bodyStart);
  // The usual KV get has no body: its subject names the key. A byte search for the key could not
  // stand in for parsing any other body, as Go reads `\u` escapes in keys.
  if (op === Op.DirectGet && isBlankJson(bytes)) return PASS;
  let body: JsonValue;
  try {
    body = parseGoJson(bytes);
  } catch (err) {
    if (err instanceof GoJsonError) return refuse(err.message);
    throw err;
  }
  if (!isObject(body)) return refuse("request body is not a JSON object");
  switch (op) {
    case Op.DirectGet:
      return field(body, "no_hdr") === true ? refuse("a direct get without headers (no_hdr) hides the stored subject") : PASS;
    case Op.StreamConfigure:
      return checkStreamConfig(body, perms);
    default:
      return checkConsumerCreate(body, payload, bodyStart, perms);
  }
}

/** Placeholder token standing for a wildcard of a consumer filter in a permission check. */
const FILTER_WILDCARD_TOKEN = "_filter_wildcard_";

/**
 * The literal subject a consumer-create publish is permission-checked as.
 * nats.js (2.9 API) puts the consumer's filter into the subject,
 * `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>` (or under a domain),
 * wildcards included, and nats-server routes it like any subject. Wildcards
 * are accepted only in the filter part: each `*` becomes one placeholder token
 * and `>` two, so a grant must cover them as it would cover the filter (the
 * hub checks that the filter in the subject equals the one in the body).
 * Anything else is returned unchanged and fails the literal-subject check.
 */
export function consumerCreatePermissionSubject(subject: string): string {
  const at = jsApiOpStart(subject);
  if (at < 0 || !subject.startsWith("CONSUMER.CREATE.", at)) return subject;
  const tokens = subject.split(".");
  // … CONSUMER CREATE <stream> <name> <filter…>: the filter starts 4 tokens after the operation.
  const filterAt = subject.slice(0, at).split(".").length - 1 + 4;
  if (tokens.length <= filterAt) return subject;
  let wild = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t !== "*" && t !== ">") continue;
    if (i < filterAt || (t === ">" && i !== tokens.length - 1)) return subject;
    wild = true;
  }
  return wild ? literalised(subject) : subject;
}

/** A subject pattern with its wildcards as placeholder tokens, for a literal permission check. */
function literalised(pattern: string): string {
  return pattern.split(".").map((t) => (t === "*" ? FILTER_WILDCARD_TOKEN : t === ">" ? `${FILTER_WILDCARD_TOKEN}.${FILTER_WILDCARD_TOKEN}` : t)).join(".");
}

/** An optional string field: undefined when absent, null or empty; a refusal when of another type. */
function optString(obj: JsonObject, name: string): string | undefined | JsRequestVerdict {
  const v = field(obj, name);
  if (v === undefined || v === null || v === "") return undefined;
  return typeof v === "string" ? v : refuse(`${name} is not a string`);
}

/** An optional object field; a refusal when of another type. */
function optObject(obj: JsonObject, name: string): JsonObject | undefined | JsRequestVerdict {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  return isObject(v) ? v : refuse(`${name} is not an object`);
}

/** An optional array field; a refusal when of another type. */
function optArray(obj: JsonObject, name: string): JsonValue[] | undefined | JsRequestVerdict {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v : refuse(`${name} is not an array`);
}

function isVerdict(v: unknown): v is JsRequestVerdict {
  return typeof v === "object" && v !== null && "action" in v;
}

/** Subjects a stream would store or rename messages onto: each must be one the caller may capture. */
function checkCaptured(what: string, subjects: readonly (string | undefined)[], perms: CallerPolicy): JsRequestVerdict | null {
  for (const s of subjects) {
    if (s !== undefined && !perms.mayCapture(s)) return refuse(`${what} ${JSON.stringify(s)} can match lifecycle events or another caller's replies`);
  }
  return null;
}

/** Subject transforms (`[{src, dest}]` or one `{src, dest}`): both sides are captured subjects. */
function checkTransforms(what: string, list: readonly JsonValue[], perms: CallerPolicy): JsRequestVerdict | null {
  for (const t of list) {
    if (!isObject(t)) return refuse(`${what} is not an object`);
    const src = optString(t, "src");
    const dest = optString(t, "dest");
    if (isVerdict(src)) return src;
    if (isVerdict(dest)) return dest;
    const bad = checkCaptured(what, [src, dest], perms);
    if (bad) return bad;
  }
  return null;
}

/**
 * Decide a stream create/update from its configuration: what it stores, what
 * it renames stored messages to, where it republishes, where a mirror or
 * source from another domain has messages pushed. Never rewrites.
 */
function checkStreamConfig(cfg: JsonObject, perms: CallerPolicy): JsRequestVerdict {
  const subjects = optArray(cfg, "subjects");
  if (isVerdict(subjects)) return subjects;
  for (const s of subjects ?? []) if (typeof s !== "string") return refuse("subjects holds something other than a string");
  const bad = checkCaptured("stream subject", (subjects ?? []) as string[], perms);
  if (bad) return bad;

  const transform = optObject(cfg, "subject_transform");
  if (isVerdict(transform)) return transform;
  const badTransform = transform && checkTransforms("subject transform", [transform], perms);
  if (badTransform) return badTransform;

  const rp = optObject(cfg, "republish");
  if (isVerdict(rp)) return rp;
  if (rp !== undefined) {
    const dest = optString(rp, "dest");
    if (isVerdict(dest)) return dest;
    if (dest === undefined || !perms.mayPublish(literalised(dest))) {
      return refuse(`republish destination ${JSON.stringify(dest)} is not one the caller may publish to`);
    }
  }

  const origins: JsonValue[] = [];
  const mirror = optObject(cfg, "mirror");
  if (isVerdict(mirror)) return mirror;
  if (mirror) origins.push(mirror);
  const sources = optArray(cfg, "sources");
  if (isVerdict(sources)) return sources;
  origins.push(...(sources ?? []));
  for (const o of origins) {
    const v = isObject(o) ? checkOrigin(o, perms) : refuse("a mirror or source is not an object");
    if (v) return v;
  }
  return PASS;
}

/** One mirror or source: its filter and transforms are captured subjects; its external deliver prefix a subscription. */
function checkOrigin(o: JsonObject, perms: CallerPolicy): JsRequestVerdict | null {
  const filter = optString(o, "filter_subject");
  if (isVerdict(filter)) return filter;
  const transformDest = optString(o, "subject_transform_dest");
  if (isVerdict(transformDest)) return transformDest;
  const bad = checkCaptured("mirror or source filter", [filter, transformDest], perms);
  if (bad) return bad;
  const transforms = optArray(o, "subject_transforms");
  if (isVerdict(transforms)) return transforms;
  const badTransform = transforms && checkTransforms("mirror or source subject transform", transforms, perms);
  if (badTransform) return badTransform;
  const consumer = optObject(o, "consumer");
  if (isVerdict(consumer)) return consumer;
  if (consumer !== undefined) {
    // nats-server 2.14: the stream takes in whatever arrives on a named durable's deliver subject.
    const sourced = optString(consumer, "deliver_subject");
    if (isVerdict(sourced)) return sourced;
    if (sourced !== undefined && (!isValidLiteralSubject(sourced) || perms.routeSubscribe(sourced) !== sourced)) {
      return refuse(`source consumer deliver subject ${JSON.stringify(sourced)} is not one the caller may subscribe to`);
    }
  }
  const ext = optObject(o, "external");
  if (isVerdict(ext)) return ext;
  if (ext === undefined) return null;
  const deliver = optString(ext, "deliver");
  if (isVerdict(deliver)) return deliver;
  if (deliver !== undefined && perms.routeSubscribe(`${deliver}.>`) === null) {
    return refuse(`external deliver prefix ${JSON.stringify(deliver)} is not one the caller may subscribe to`);
  }
  return null;
}

/**
 * Decide a consumer create: lifecycle filters refused, the deliver subject
 * checked (and an `_INBOX.` one rewritten into the caller's namespace, the
 * body written back from the parsed value with the headers kept in front).
 */
function checkConsumerCreate(req: JsonObject, payload: Uint8Array, bodyStart: number, perms: CallerPolicy): JsRequestVerdict {
  const c = optObject(req, "config");
  if (isVerdict(c)) return c;
  if (c === undefined) return PASS; // the hub answers "consumer config required"

  const single = optString(c, "filter_subject");
  if (isVerdict(single)) return single;
  const many = optArray(c, "filter_subjects");
  if (isVerdict(many)) return many;
  for (const s of [single, ...(many ?? [])]) {
    if (s === undefined || s === "") continue;
    if (typeof s !== "string") return refuse("filter_subjects holds something other than a string");
    if (subjectsIntersect(s, LIFECYCLE_PATTERN)) return refuse(`filter ${JSON.stringify(s)} can match lifecycle events`);
  }

  const ds = optString(c, "deliver_subject");
  if (isVerdict(ds)) return ds;
  const dg = optString(c, "deliver_group");
  if (isVerdict(dg)) return dg;
  if (ds === undefined) return PASS; // a pull consumer
  // The caller policy's rule for deliveries on the caller's behalf (subscribe rule, `_INBOX.` mapped).
  const deliver = isValidLiteralSubject(ds) ? perms.routeDeliverySubject(ds, dg) : null;
  if (deliver === null) return refuse(`deliver subject ${JSON.stringify(ds)} is not one the caller may subscribe to`);
  if (deliver === ds) return PASS;
  setField(c, "deliver_subject", deliver);
  return { action: "rewrite", payload: withBody(payload, bodyStart, serialise(req)), deliverSubject: deliver };
}

/** The header block of `payload` (its first `bodyStart` bytes) followed by a new body. */
function withBody(payload: Uint8Array, bodyStart: number, text: string): Uint8Array {
  const body = Buffer.from(text, "utf8");
  if (bodyStart === 0) return body;
  const out = new Uint8Array(bodyStart + body.length);
  out.set(payload.subarray(0, bodyStart), 0);
  out.set(body, bodyStart);
  return out;
}

/**
 * The reverse of the deliver-subject rewrite, for the hub's answers (consumer
 * create, info and list): a client that asked for `_INBOX.x` must read
 * `_INBOX.x` back, or it resubscribes to the rewritten subject and stops
 * recognising its own flow-control and heartbeat messages. `nsPrefix` is the
 * caller's namespace with a trailing dot. Every `deliver_subject` value inside
 * the caller's `<nsPrefix>_INBOX.` is shown without the prefix; the body is
 * read and written back like a request, never patched as text. Returns the
 * new payload, or null when there is nothing to change (the common case: one
 * byte search).
 */
export function unmapDeliverSubjects(hdrLen: number, payload: Uint8Array, nsPrefix: string): Uint8Array | null {
  const start = hdrLen > 0 ? hdrLen : 0;
  // Checked first, as it costs nothing: most deliveries on a rewritten inbox are replies, not API answers.
  if (payload[start] !== 0x7b) return null;
  const bytes = payload.subarray(start);
  const mapped = nsPrefix + INBOX;
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(mapped, 0, "latin1") < 0) return null;
  let body: JsonValue;
  try {
    body = parseGoJson(bytes);
  } catch {
    return null; // not an API answer: delivered as it is
  }
  return unmapIn(body, mapped) ? withBody(payload, start, serialise(body)) : null;
}

function unmapIn(v: JsonValue, mapped: string): boolean {
  if (Array.isArray(v)) return v.reduce<boolean>((changed, e) => unmapIn(e, mapped) || changed, false);
  if (!isObject(v)) return false;
  let changed = false;
  for (let i = 0; i < v.keys.length; i++) {
    const val = v.values[i]!;
    if (v.keys[i] === "deliver_subject" && typeof val === "string" && val.startsWith(mapped)) {
      v.values[i] = val.slice(mapped.length - INBOX.length);
      changed = true;
    } else if (unmapIn(val, mapped)) changed = true;
  }
  return changed;
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

/** How nats-server's message-get answer begins, as bytes (compared in place: Choria replies are JSON too). */
const MSG_GET_RESPONSE = Buffer.from('{"type":"io.nats.jetstream.api.v1.stream_msg_get_response"', "latin1");
const LIFECYCLE_PREFIX = LIFECYCLE_PATTERN.slice(0, -1);

/**
 * The subject of a stored message that a message from the hub carries inside
 * it (a direct-get or message-get answer, a republished copy), or undefined.
 * Taken only from what the hub sets, never from what a caller stored:
 *
 * - a message with a reply is not an answer that carries a stored message
 *   (a stream delivery is judged by its stream subject, the part of its
 *   reply after `@`, in the router), so its headers and body are the
 *   caller's and are not read;
 * - a direct-get answer or republished copy: the hub appends its own
 *   `Nats-Subject` header after the headers stored with the message, so the
 *   last `Nats-Subject` line is the stored subject;
 * - a message-get answer (a JetStream API answer: no headers, no reply): the
 *   `message.subject` of the hub's JSON. The stored message is inside it,
 *   base64-encoded, so it cannot pose as the answer.
 *
 * The router withholds a carried lifecycle event from everyone, and each
 * recipient's policy judges any other carried subject as it judges a
 * delivered one (another caller's reply never reaches it this way either).
 * Cheap for everything else: a header scan, a prefix compare.
 */
export function storedSubject(reply: string | undefined, hdrLen: number, payload: Uint8Array): string | undefined {
  if (reply !== undefined) return undefined;
  if (hdrLen > 0) return lastHeaderValue(payload, hdrLen, NATS_SUBJECT);
  if (payload.length < MSG_GET_RESPONSE.length) return undefined;
  for (let i = 0; i < MSG_GET_RESPONSE.length; i++) if (payload[i] !== MSG_GET_RESPONSE[i]) return undefined;
  try {
    const r = parseGoJson(payload);
    const m = isObject(r) ? field(r, "message") : undefined;
    const s = isObject(m) ? field(m, "subject") : undefined;
    return typeof s === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Does a message from the hub carry a stored lifecycle event inside it (storedSubject)? */
export function carriesLifecycleEvent(reply: string | undefined, hdrLen: number, payload: Uint8Array): boolean {
  return isLifecycleSubject(storedSubject(reply, hdrLen, payload) ?? "");
}

const NATS_SUBJECT = Buffer.from("Nats-Subject", "latin1");

/**
 * The value of the last header line whose name is exactly `name` (the case
 * nats-server writes and looks up), trimmed of leading spaces; a view, no copy
 * of the block.
 */
function lastHeaderValue(payload: Uint8Array, hdrLen: number, name: Buffer): string | undefined {
  const hdr = Buffer.from(payload.buffer, payload.byteOffset, hdrLen);
  let value: string | undefined;
  forEachHeaderLine(hdr, (start, colon, end) => {
    if (colon - start !== name.length || hdr.compare(name, 0, name.length, start, colon) !== 0) return;
    let v = colon + 1;
    while (v < end && hdr[v] === 0x20) v++;
    // A last line without its LF still loses a trailing CR, as it always did here.
    value = hdr.toString("latin1", v, end === hdr.length && hdr[end - 1] === 0x0d ? end - 1 : end);
  });
  return value;
}
