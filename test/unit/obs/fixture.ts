/**
 * A mutable MetricSources for the obs tests: plain state the test changes
 * between scrapes, and a parser for the Prometheus text format so tests assert
 * on sample values rather than on formatting.
 */
import type { ConnzEntry, LeafnodeStats, MetricSources, RemoteLinkStats, SubszEntry } from "../../../src/obs/metrics.js";

export interface FakeState {
  connections: number;
  totalConnections: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  slowConsumers: number;
  subscriptions: number;
  closeReasons: Record<string, number>;
  authOutcomes: Record<string, number>;
  permissionViolations: Record<string, number>;
  rewrittenInboxes: number;
  lifecycleFiltered: number;
  writePoolBytes: number;
  /** The upstream links; `hubSubjects` lists each link's hub interest. */
  links: FakeLink[];
  subsz: SubszEntry[];
  websocket: { upgrades: number; rejected: Record<string, number> };
  loginRelay: Record<string, number>;
  connz: ConnzEntry[];
  closedConnz: ConnzEntry[];
  ready: boolean;
  readyReason: string;
}

/** One link as a test writes it: `connected` as a boolean, the hub's interest as a list. */
export type FakeLink = Omit<RemoteLinkStats, "connected" | "subjects"> & { connected: boolean; hubSubjects: string[] };

/** The LeafnodeStats the gateway would report for `links`: totals plus one entry per remote. */
function leafnodeOf(links: FakeLink[]): LeafnodeStats {
  const remotes: RemoteLinkStats[] = links.map(({ hubSubjects, connected, ...l }) => ({ ...l, connected: connected ? 1 : 0, subjects: () => [...hubSubjects] }));
  const sum = (f: (r: RemoteLinkStats) => number) => remotes.reduce((n, r) => n + f(r), 0);
  const first = remotes[0];
  return {
    configured: remotes.length, connected: sum((r) => r.connected), host: first?.host, port: first?.port, account: first?.account, rttMs: first?.rttMs,
    inMsgs: sum((r) => r.inMsgs), outMsgs: sum((r) => r.outMsgs), inBytes: sum((r) => r.inBytes), outBytes: sum((r) => r.outBytes),
    reconnects: sum((r) => r.reconnects), bufferedMsgs: sum((r) => r.bufferedMsgs), bufferedBytes: sum((r) => r.bufferedBytes),
    droppedMsgs: sum((r) => r.droppedMsgs), droppedBytes: sum((r) => r.droppedBytes), remotes,
  };
}

export function fakeState(): FakeState {
  return {
    connections: 3,
    totalConnections: 17,
    inMsgs: 101,
    outMsgs: 202,
    inBytes: 3003,
    outBytes: 4004,
    slowConsumers: 1,
    subscriptions: 9,
    closeReasons: { ClientClosed: 12, AuthViolation: 2 },
    authOutcomes: { ok: 15, GW_ERR_AUTH_EXPIRED: 2 },
    permissionViolations: { publish: 4, subscribe: 5 },
    rewrittenInboxes: 33,
    lifecycleFiltered: 7,
    writePoolBytes: 65536,
    links: [{
      remote: "hub", connected: true, rttMs: 12, inMsgs: 50, outMsgs: 60, inBytes: 5000, outBytes: 6000,
      reconnects: 2, bufferedMsgs: 3, bufferedBytes: 300, bufferLimitBytes: 1000, droppedMsgs: 4, droppedBytes: 400,
      subscriptions: 2, hubSubjects: ["choria.broadcast.agent.>", "choria.node.n1 q1"],
      host: "hub.example.net", port: 7422, account: "$G",
    }],
    subsz: [],
    websocket: { upgrades: 8, rejected: { origin: 1 } },
    loginRelay: { ok: 6, timeout: 1 },
    connz: [],
    closedConnz: [],
    ready: true,
    readyReason: "",
  };
}

/** Sources reading `state` live, so a test changes state and scrapes again. */
export function fakeSources(state: FakeState): MetricSources {
  return {
    connections: () => state.connections,
    totalConnections: () => state.totalConnections,
    inMsgs: () => state.inMsgs,
    outMsgs: () => state.outMsgs,
    inBytes: () => state.inBytes,
    outBytes: () => state.outBytes,
    slowConsumers: () => state.slowConsumers,
    subscriptions: () => state.subscriptions,
    closeReasons: () => state.closeReasons,
    authOutcomes: () => state.authOutcomes,
    permissionViolations: () => state.permissionViolations,
    rewrittenInboxes: () => state.rewrittenInboxes,
    lifecycleFiltered: () => state.lifecycleFiltered,
    writePoolBytes: () => state.writePoolBytes,
    leafnode: () => leafnodeOf(state.links),
    subsz: () => state.subsz,
    websocket: () => state.websocket,
    loginRelay: () => state.loginRelay,
    connz: () => state.connz,
    closedConnz: () => state.closedConnz,
    ready: () => state.ready,
    readyReason: () => state.readyReason,
  };
}

/** An open connection `cid` (started at cid seconds past 2024-01-01) with two subscriptions. */
export function connzEntry(cid: number, extra: Partial<ConnzEntry> = {}): ConnzEntry {
  const start = Date.UTC(2024, 0, 1) + cid * 1000;
  return {
    cid, transport: "tls", ip: "127.0.0.1", port: 40000 + cid, start, lastActivity: start + 500, rttMs: 1.5,
    callerId: `choria=user${cid}`, authMethod: "aaa-jwt",
    subscriptions: 2, pendingBytes: 0, inMsgs: cid, outMsgs: cid * 2, inBytes: cid * 10, outBytes: cid * 20,
    tokenExpiresAt: "2024-01-02T00:00:00.000Z",
    subs: [
      { subject: `choria.reply.${cid}.>`, sid: "1", cid, msgs: cid, max: 0 },
      { subject: "_INBOX.>", queue: "q", sid: "2", cid, msgs: 0, max: 5 },
    ],
    ...extra,
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses sample lines of the Prometheus text format (label values here never contain `"` or `,`). */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const pair of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[pair[1]!] = pair[2]!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when absent. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** The TYPE line of a metric family. */
export function metricType(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\w+)$`, "m").exec(text)?.[1];
}
