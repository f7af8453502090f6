/**
 * Worker mode (`plugin.choria.network.aaa_leafnode.workers = 2`) of a real
 * `aaa-leafnode run` child behind a real nats-server hub, with the official
 * NATS client: clients on different workers (told apart by the server id in
 * their INFO) exchange messages through the hub; a queue group
 * with members on both workers gets each hub message exactly once and both
 * members get some; /metrics, /connz and /varz add up across the workers;
 * SIGHUP reaches every worker (and a bad file is refused once, by the
 * primary); a SIGKILLed worker is restarted and its client reconnects and
 * works again; SIGTERM stops every worker and the process exits 0; SIGUSR2
 * puts every worker in lame duck mode and the process exits 0 after the
 * window. Standalone with workers = 2 runs one process and says why.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { baseConf, Clients, httpGet, metricValue, opsDir, scrape, spawnGateway, type OpsGateway } from "./ops_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const W = "plugin.choria.network.aaa_leafnode.";

interface World {
  gw: OpsGateway;
  tokens: TokenWorld;
  clients: Clients;
  stats: number;
  lines: string[];
}

function upstreamLines(pki: Pki, hub: Hub): string[] {
  return [
    "plugin.choria.network.leafnode_remotes = hub",
    `plugin.choria.network.leafnode_remote.hub.url = ${hub.leafUrl}`,
    `plugin.choria.network.leafnode_remote.hub.tls.cert = ${pki.leaf.cert}`,
    `plugin.choria.network.leafnode_remote.hub.tls.key = ${pki.leaf.key}`,
    `${W}reconnect_delay = 200ms`,
    `${W}reconnect_max_delay = 1s`,
  ];
}

async function startWorld(t: TestContext, pki: Pki, hub: Hub | null, extra: string[] = []): Promise<World> {
  const dir = opsDir(t, "aaa-workers-");
  const tokens = tokenWorld();
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const lines = baseConf(pki, [publicKeyPath], [`${W}workers = 2`, ...(hub ? upstreamLines(pki, hub) : []), ...extra]);
  // Round robin (the primary hands connections out in turn) puts two sequential clients on two
  // workers for certain. Under the default, each worker accepts from the shared socket and the
  // kernel picks: in a loaded CI run ten sequential clients all landed on one worker. Where a
  // connection lands is all the policy decides; everything these tests check happens after it.
  const gw = await spawnGateway(t, dir, lines, { NODE_CLUSTER_SCHED_POLICY: "rr" });
  return { gw, tokens, clients: new Clients(t, pki), stats: gw.statsPort ?? 0, lines };
}

async function waitReady(port: number): Promise<void> {
  await waitFor("/readyz 200", async () => ((await httpGet(port, "/readyz")).status === 200 ? true : undefined), 30_000);
}

function serverId(nc: NatsConnection): string {
  const info = (nc as unknown as { info?: { server_id?: string } }).info;
  return String(info?.server_id ?? "");
}

/** Connect clients until there is one on each of two different workers (round robin: the second does it). */
async function onTwoWorkers(w: World, token: string): Promise<[NatsConnection, NatsConnection, NatsConnection[]]> {
  const started = w.gw.logged("aaa-leafnode started").find((r) => r["worker"] === undefined);
  assert.equal(started?.["scheduling"], "rr", "the primary took NODE_CLUSTER_SCHED_POLICY=rr");
  const all: NatsConnection[] = [];
  for (let i = 0; i < 10; i++) {
    const nc = await w.clients.connect(w.gw.url, token, w.tokens.user, { name: `c${i}`, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    all.push(nc);
    const other = all.find((o) => serverId(o) !== serverId(nc));
    if (other) return [other, nc, all];
  }
  throw new Error(`10 clients all landed on one worker (${serverId(all[0]!)})`);
}

interface WorkerDetail { worker: number; pid: number; server_id: string; connections: number }
function varzWorkers(body: string): WorkerDetail[] {
  return (JSON.parse(body) as { worker_details: WorkerDetail[] }).worker_details;
}

describe("worker mode", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("hub-side"));
  });
  after(() => stopHubWithClient(hub, hubClient));

  test("two workers: messages and queue groups across workers through the hub; metrics add up; SIGHUP; a killed worker is restarted; SIGTERM", async (t) => {
    const w = await startWorld(t, pki, hub);
    await waitReady(w.stats);
    await waitFor("two leafnode links on the hub", async () => (Number((await hub.leafz())["leafnodes"] ?? 0) >= 2 ? true : undefined), 30_000);
    const token = w.tokens.mint({ callerid: "up=workers", pubSubjects: ["wk.>"], subSubjects: ["wk.>"] });
    const [a, b, all] = await onTwoWorkers(w, token);
    assert.notEqual(serverId(a), serverId(b));

    // Publish on one worker, receive on the other: only the hub connects them.
    const got: string[] = [];
    a.subscribe("wk.cross", { callback: (_e, m) => void got.push(dec.decode(m.data)) });
    await a.flush();
    await waitFor("the cross-worker subscription to reach the hub", async () => {
      b.publish("wk.cross", enc.encode("probe"));
      await b.flush();
      return got.includes("probe") || undefined;
    });
    got.length = 0;
    for (let i = 0; i < 20; i++) b.publish("wk.cross", enc.encode(`m${i}`));
    await b.flush();
    const data = () => got.filter((x) => x !== "probe");
    await waitFor("20 messages across workers", () => (data().length >= 20 ? true : undefined));
    assert.deepEqual(data(), Array.from({ length: 20 }, (_, i) => `m${i}`), "in order, each once");

    // One queue group, a member on each worker; the hub delivers each message once.
    const perMember = [0, 0];
    const seen = new Set<string>();
    let dupes = 0;
    for (const [i, nc] of [a, b].entries()) {
      nc.subscribe("wk.q", { queue: "workers", callback: (_e, m) => {
        perMember[i]!++;
        const k = dec.decode(m.data);
        if (seen.has(k)) dupes++;
        seen.add(k);
      } });
      await nc.flush();
    }
    await waitFor("both queue members known to the hub", async () => {
      const leafz = (await hub.leafz()) as { leafs?: { subscriptions_list?: string[] }[] };
      const withQ = (leafz.leafs ?? []).filter((l) => (l.subscriptions_list ?? []).some((s) => s.startsWith("wk.q")));
      return withQ.length >= 2 || undefined;
    });
    const Q = 200;
    for (let i = 0; i < Q; i++) hubClient.publish("wk.q", enc.encode(`q${i}`));
    await hubClient.flush();
    await waitFor(`${Q} queue messages`, () => (seen.size >= Q ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(perMember[0]! + perMember[1]!, Q, "each queue message delivered exactly once");
    assert.equal(dupes, 0);
    assert.ok(perMember[0]! > 0 && perMember[1]! > 0, `both workers' members got some (${perMember.join(" / ")})`);

    // Metrics, /connz and /varz add up across workers.
    const m = await scrape(w.stats);
    assert.equal(metricValue(m, "choria_network_connections"), all.length);
    assert.equal(metricValue(m, "aaa_leafnode_auth_total", { outcome: "ok" }), all.length);
    assert.equal(metricValue(m, "choria_network_leafnode_remotes"), 2, "one upstream link per worker");
    assert.equal(metricValue(m, "aaa_leafnode_ready"), 1);
    const inMsgs = metricValue(m, "choria_network_in_msgs") ?? 0;
    assert.ok(inMsgs >= 20 + 1, `in_msgs summed over the workers (${inMsgs})`);
    const connz = JSON.parse((await httpGet(w.stats, "/connz")).body) as { total: number; connections: { cid: number }[] };
    assert.equal(connz.total, all.length);
    assert.equal(new Set(connz.connections.map((c) => c.cid)).size, all.length, "client ids unique across workers");
    const varz = JSON.parse((await httpGet(w.stats, "/varz")).body) as Record<string, unknown>;
    assert.equal(varz["connections"], all.length);
    assert.equal(varz["workers"], 2);
    const details = varzWorkers((await httpGet(w.stats, "/varz")).body);
    assert.equal(details.length, 2);
    assert.equal(details.reduce((n, d) => n + d.connections, 0), all.length);

    // SIGHUP: the primary checks the file once; every worker reloads.
    w.gw.writeConf([...w.lines, "loglevel = nonsense"]);
    w.gw.signal("SIGHUP");
    await w.gw.waitLogged("reload refused: configuration has errors; keeping the running one");
    assert.equal(w.gw.logged("configuration reloaded").length, 0, "no worker reloaded a bad file");
    w.gw.writeConf(w.lines);
    w.gw.signal("SIGHUP");
    await w.gw.waitLogged("configuration reloaded", 2);
    assert.deepEqual(new Set(w.gw.logged("configuration reloaded").map((r) => r["worker"])), new Set([1, 2]));

    // Kill the worker `a` is on: it is restarted and `a` reconnects and works again.
    const aPid = details.find((d) => d.server_id === serverId(a))?.pid;
    assert.ok(aPid, "a's worker is listed in /varz");
    const events: string[] = [];
    void (async () => {
      for await (const s of a.status()) events.push(s.type);
    })();
    process.kill(aPid, "SIGKILL");
    await w.gw.waitLogged(/^worker exited; restarting it/);
    await waitFor("a to reconnect", () => (events.includes("disconnect") && events.includes("reconnect") ? true : undefined), 30_000)
      .catch((err: unknown) => { throw new Error(`${String(err)}; status events: ${events.join(",")}; closed=${a.isClosed()}`); });
    await w.gw.waitLogged("worker started", 3, 30_000);
    await waitReady(w.stats);
    got.length = 0;
    await waitFor("cross-worker traffic after the restart", async () => {
      b.publish("wk.cross", enc.encode("after"));
      await b.flush();
      return got.includes("after") || undefined;
    }, 20_000);
    const after = varzWorkers((await httpGet(w.stats, "/varz")).body);
    assert.equal(after.length, 2, "two workers again");
    assert.ok(after.every((d) => d.pid !== aPid), "the killed worker was replaced");

    // SIGTERM: every worker stops, then the primary; exit 0.
    w.gw.signal("SIGTERM");
    const res = await w.gw.exited;
    assert.equal(res.code, 0);
    const stopped = w.gw.logged("aaa-leafnode stopped");
    assert.deepEqual(new Set(stopped.map((r) => r["worker"])), new Set([1, 2, undefined]), "both workers and the primary stopped");
  });

  test("SIGUSR2 puts every worker in lame duck mode; the process exits 0 after the window", async (t) => {
    const w = await startWorld(t, pki, hub, [`${W}lame_duck_duration = 2s`, `${W}lame_duck_grace_period = 500ms`]);
    await waitReady(w.stats);
    const token = w.tokens.mint({ callerid: "up=ldm", pubSubjects: ["wk.>"], subSubjects: ["wk.>"] });
    const [a, b] = await onTwoWorkers(w, token);
    const dropped = new Set<NatsConnection>();
    for (const nc of [a, b]) {
      void (async () => {
        for await (const s of nc.status()) if (s.type === "disconnect") dropped.add(nc);
      })();
    }
    w.gw.signal("SIGUSR2");
    await w.gw.waitLogged("entering lame duck mode", 3);
    assert.deepEqual(new Set(w.gw.logged("entering lame duck mode").map((r) => r["worker"])), new Set([1, 2, undefined]));
    const ready = await httpGet(w.stats, "/readyz");
    assert.equal(ready.status, 503);
    const res = await w.gw.exited;
    assert.equal(res.code, 0);
    await waitFor("both clients dropped (one per worker)", () => (dropped.size === 2 ? true : undefined));
  });

  test("standalone with workers = 2 runs one process and says why", async (t) => {
    const w = await startWorld(t, pki, null);
    const warn = await w.gw.waitLogged(/^standalone mode runs one process/);
    assert.equal(warn["workers"], 2);
    assert.equal(w.gw.logged("worker started").length, 0);
    const varz = JSON.parse((await httpGet(w.stats, "/varz")).body) as Record<string, unknown>;
    assert.equal(varz["workers"], undefined, "a single gateway");
    w.gw.signal("SIGTERM");
    assert.equal((await w.gw.exited).code, 0);
  });
});
