/**
 * /connz in nats-server's shape (its Connz and ConnInfo), so nats-top and
 * scripts written against a nats-server monitor port read the gateway's client
 * connections: the same field names, the same sort orders and the same query
 * options (sort, state, subs, auth, cid, user, offset, limit), over the open
 * connections and the bounded ring of recently closed ones. nats-server's
 * fields that mean nothing here (account, jwt, issuer_key, name_tag, tags,
 * tls_peer_certs, mqtt_client) are left out; the gateway adds `auth_method`
 * and `token_expires`. A sort or state nats-server refuses is refused with
 * nats-server's text (the monitor answers it 400).
 */
import type { ConnzEntry, MetricSources } from "./metrics.js";
import { boolParam, goDuration, intParam, natsUptime, subDetail } from "./nats_json.js";

/** nats-server's default /connz page size. */
const defaultConnzLimit = 1024;

type Order = (a: ConnzEntry, b: ConnzEntry, now: number) => number;
const up = (f: (c: ConnzEntry) => number): Order => (a, b) => f(a) - f(b);
const down = (f: (c: ConnzEntry) => number): Order => (a, b) => f(b) - f(a);
const uptime = (c: ConnzEntry, now: number): number => (c.stop ?? now) - c.start;

/**
 * nats-server's sort options and their directions (server/monitor.go):
 * cid, start, uptime and reason ascending, the others descending. Ties keep
 * cid order.
 */
const SORTS: Record<string, Order> = {
  cid: up((c) => c.cid),
  start: up((c) => c.cid),
  subs: down((c) => c.subscriptions),
  pending: down((c) => c.pendingBytes),
  msgs_to: down((c) => c.outMsgs),
  msgs_from: down((c) => c.inMsgs),
  bytes_to: down((c) => c.outBytes),
  bytes_from: down((c) => c.inBytes),
  last: down((c) => c.lastActivity),
  idle: up((c) => c.lastActivity),
  uptime: (a, b, now) => uptime(a, now) - uptime(b, now),
  stop: down((c) => c.stop ?? 0),
  reason: (a, b) => ((a.reason ?? "") < (b.reason ?? "") ? -1 : (a.reason ?? "") > (b.reason ?? "") ? 1 : 0),
  rtt: down((c) => c.rttMs),
};

type State = "open" | "closed" | "all";

/** nats-server's state parameter: open (default), closed, any or all; null for anything else. */
function stateParam(q: URLSearchParams): State | null {
  const raw = (q.get("state") ?? "").toLowerCase();
  if (raw === "" || raw === "open") return "open";
  if (raw === "closed") return "closed";
  if (raw === "any" || raw === "all") return "all";
  return null;
}

/** Whether a /connz request with this query reads closed connections (worker mode fetches them only then). */
export function wantsClosed(q: URLSearchParams): boolean {
  const s = stateParam(q);
  return s === "closed" || s === "all";
}

interface Shown {
  subs: boolean;
  detail: boolean;
  auth: boolean;
}

/** One connection as nats-server's ConnInfo, plus the gateway's own two fields. */
function connInfo(c: ConnzEntry, now: number, shown: Shown): Record<string, unknown> {
  const hasSubs = c.subs.length > 0;
  return {
    cid: c.cid,
    kind: "Client",
    type: c.transport === "websocket" ? "websocket" : "nats",
    ip: c.ip,
    port: c.port,
    start: new Date(c.start).toISOString(),
    last_activity: new Date(c.lastActivity).toISOString(),
    stop: c.stop !== undefined ? new Date(c.stop).toISOString() : undefined,
    reason: c.reason,
    rtt: goDuration(c.rttMs),
    uptime: natsUptime(uptime(c, now)),
    idle: natsUptime((c.stop ?? now) - c.lastActivity),
    pending_bytes: c.pendingBytes,
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    in_bytes: c.inBytes,
    out_bytes: c.outBytes,
    subscriptions: c.subscriptions,
    name: c.name,
    lang: c.lang,
    version: c.version,
    authorized_user: shown.auth ? (c.callerId ?? undefined) : undefined,
    subscriptions_list: shown.subs && hasSubs ? c.subs.map((s) => s.subject) : undefined,
    subscriptions_list_detail: shown.detail && hasSubs ? c.subs.map(subDetail) : undefined,
    auth_method: c.authMethod ?? undefined,
    token_expires: c.tokenExpiresAt ?? undefined,
  };
}

/** One /connz page, or nats-server's text for a sort or state it refuses. */
export function connzPage(sources: MetricSources, serverId: string, q: URLSearchParams): Record<string, unknown> | string {
  const sortName = q.get("sort") || "cid";
  const order = Object.hasOwn(SORTS, sortName) ? SORTS[sortName]! : undefined;
  if (!order) return `invalid sorting option: ${sortName}`;
  const state = stateParam(q);
  if (state === null) return `Error decoding state for ${q.get("state")}`;
  if ((sortName === "stop" || sortName === "reason") && state !== "closed") return `sort by ${sortName} only valid on closed connections`;
  const detail = (q.get("subs") ?? "").toLowerCase() === "detail";
  const shown: Shown = { subs: !detail && boolParam(q, "subs"), detail, auth: boolParam(q, "auth") };
  const cid = intParam(q, "cid", 0);
  const user = q.get("user");
  const offset = intParam(q, "offset", 0);
  const limit = cid > 0 ? 1 : intParam(q, "limit", defaultConnzLimit) || defaultConnzLimit;

  const open = state === "closed" ? [] : sources.connz();
  const closed = state === "open" ? [] : (sources.closedConnz?.() ?? []);
  let all = [...open, ...closed];
  // A cid names one connection: the open one if it is still open.
  if (cid > 0) all = all.filter((c) => c.cid === cid).slice(0, 1);
  if (user) all = all.filter((c) => c.callerId === user);
  const now = Date.now();
  all.sort((a, b) => order(a, b, now) || a.cid - b.cid);
  const page = all.slice(offset, offset + limit).map((c) => connInfo(c, now, shown));
  return {
    server_id: serverId,
    now: new Date(now).toISOString(),
    num_connections: page.length,
    total: all.length,
    offset,
    limit,
    connections: page,
  };
}
