/**
 * The monitor of a running `aaa-leafnode run` child with a real nats-server
 * hub behind it: /metrics values move by exactly the traffic that flowed
 * (Choria's broker gauges, the leafnode gauges, auth outcomes including a
 * refusal code, permission violations, rewritten inboxes), /readyz follows the
 * upstream link (503 before the hub is up and after it is killed, 200 while
 * connected), and /connz lists a connection with its caller id, subscriptions
 * and token expiry.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHub, startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { createSigner, tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { baseConf, hubRemoteLines, Clients, httpGet, metricValue, opsDir, scrape, spawnGateway, type OpsGateway } from "./ops_world.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface World {
  gw: OpsGateway;
  tokens: TokenWorld;
  clients: Clients;
  stats: number;
}

/** A gateway child connected (eventually) to `hub`, with the monitor on an ephemeral port. */
async function startWorld(t: TestContext, pki: Pki, hub: Hub): Promise<World> {
  const dir = opsDir(t);
  const tokens = tokenWorld();
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], [
    ...hubRemoteLines(pki, hub),
    "plugin.choria.network.aaa_leafnode.reconnect_delay = 200ms",
    "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 1s",
    "plugin.choria.network.aaa_leafnode.ping_interval = 1s",
  ]));
  assert.ok(gw.statsPort !== undefined && gw.statsPort > 0, "stats_port = -1 binds an ephemeral port");
  return { gw, tokens, clients: new Clients(t, pki), stats: gw.statsPort };
}

async function readyStatus(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await httpGet(port, "/readyz");
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
}

function waitReady(port: number, status: number): Promise<Record<string, unknown>> {
  return waitFor(`/readyz ${status}`, async () => {
    const r = await readyStatus(port);
    return r.status === status ? r.body : undefined;
  }, 20_000);
}

/** Gateway-side subjects the hub has been told about (LS+), from the hub's /leafz. */
async function hubKnows(hub: Hub, subject: string): Promise<true | undefined> {
  const leafz = (await hub.leafz()) as { leafs?: { subscriptions_list?: string[] }[] };
  return (leafz.leafs ?? []).some((l) => (l.subscriptions_list ?? []).includes(subject)) || undefined;
}

/** Counts messages on a subscription as they arrive. */
function counter(nc: NatsConnection, subject: string): { count: () => number } {
  let n = 0;
  nc.subscribe(subject, { callback: () => void n++ });
  return { count: () => n };
}

describe("operator monitor: /metrics, /readyz, /connz", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("hub-side"));
  });
  after(() => stopHubWithClient(hub, hubClient));

  test("/metrics values move with the traffic that flowed", async (t) => {
    const N = 25; // gateway client → gateway subscriber and hub subscriber
    const K = 7; // hub → gateway subscriber
    const atHub = counter(hubClient, "ops.data");
    hubClient.subscribe("ops.echo", { callback: (_e, m) => void m.respond(enc.encode(`echo ${dec.decode(m.data)}`)) });
    await hubClient.flush();

    const w = await startWorld(t, pki, hub);
    await waitReady(w.stats, 200);
    const m0 = await scrape(w.stats);
    const v = (text: string, name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) ?? NaN;
    assert.equal(v(m0, "choria_network_connections"), 0);
    assert.equal(v(m0, "aaa_leafnode_auth_total", { outcome: "ok" }), 0);
    assert.equal(v(m0, "choria_network_leafnode_remotes"), 1);
    assert.equal(v(m0, "aaa_leafnode_upstream_connected"), 1);

    const token = w.tokens.mint({ callerid: "up=metrics", pubSubjects: ["ops.>"], subSubjects: ["ops.>"] });
    const sub = await w.clients.connect(w.gw.url, token, w.tokens.user, { name: "sub" });
    const pub = await w.clients.connect(w.gw.url, token, w.tokens.user, { name: "pub" });
    // A generic request through the hub: the _INBOX reply subject is rewritten, and
    // its success proves the hub's earlier interest (ops.data) has reached the gateway.
    const echo = await waitFor("a reply from the hub", async () => dec.decode((await pub.request("ops.echo", enc.encode("hi"), { timeout: 1000 })).data));
    assert.equal(echo, "echo hi");

    const m1 = await scrape(w.stats);
    assert.equal(v(m1, "choria_network_connections"), 2);
    assert.equal(v(m1, "choria_network_total_connections") - v(m0, "choria_network_total_connections"), 2);
    assert.equal(v(m1, "aaa_leafnode_auth_total", { outcome: "ok" }), 2);
    assert.ok(v(m1, "aaa_leafnode_rewritten_inboxes_total") >= v(m0, "aaa_leafnode_rewritten_inboxes_total") + 1, "the generic request's inbox was rewritten");
    assert.ok(v(m1, "choria_network_leafnode_out_msgs") > v(m0, "choria_network_leafnode_out_msgs"), "the request went up the leafnode");
    assert.ok(v(m1, "choria_network_leafnode_in_msgs") > v(m0, "choria_network_leafnode_in_msgs"), "the reply came down the leafnode");

    // Exact traffic from here on: N published at the gateway, delivered to one local
    // subscriber and to the hub; K published at the hub, delivered to the local subscriber.
    const local = counter(sub, "ops.data");
    const back = counter(sub, "ops.back");
    await sub.flush();
    await waitFor("the hub to learn the gateway's interest in ops.back", () => hubKnows(hub, "ops.back"));
    const m2 = await scrape(w.stats);
    assert.equal(v(m2, "choria_network_subscriptions") - v(m1, "choria_network_subscriptions"), 2);

    for (let i = 0; i < N; i++) pub.publish("ops.data", enc.encode(`m${i}`));
    await pub.flush();
    for (let i = 0; i < K; i++) hubClient.publish("ops.back", enc.encode(`b${i}`));
    await hubClient.flush();
    await waitFor("every message delivered", () => (local.count() === N && back.count() === K && atHub.count() === N) || undefined);

    const m3 = await scrape(w.stats);
    const delta = (name: string) => v(m3, name) - v(m2, name);
    assert.equal(delta("choria_network_in_msgs"), N);
    assert.equal(delta("choria_network_out_msgs"), N + K);
    assert.ok(delta("choria_network_in_bytes") >= N * 2);
    assert.ok(delta("choria_network_out_bytes") >= (N + K) * 2);
    assert.equal(delta("choria_network_leafnode_out_msgs"), N);
    assert.equal(delta("choria_network_leafnode_in_msgs"), K);
    assert.ok(delta("choria_network_leafnode_out_bytes") >= N * 2);
    assert.ok(delta("choria_network_leafnode_in_bytes") >= K * 2);
    await waitFor("a leafnode RTT sample", async () => {
      const rtt = metricValue(await scrape(w.stats), "choria_network_leafnode_rtt_ms");
      return rtt !== undefined && rtt >= 0 ? rtt : undefined;
    });

    // A token from a signer the gateway does not trust: refused with its code.
    const stranger = tokenWorld(createSigner("ed25519"), w.tokens.user);
    await assert.rejects(w.clients.connect(w.gw.url, stranger.mint(), w.tokens.user), /Authorization Violation/i);
    // A subscription outside the token's grants: refused, the connection stays.
    pub.subscribe("secret.stuff");
    await waitFor("the refusals to be counted", async () => {
      const m = await scrape(w.stats);
      return metricValue(m, "aaa_leafnode_auth_total", { outcome: "GW_ERR_AUTH_BAD_SIGNATURE" }) === 1 &&
        metricValue(m, "aaa_leafnode_permission_violations_total", { kind: "subscribe" }) === 1 ? true : undefined;
    });
    const m4 = await scrape(w.stats);
    assert.equal(v(m4, "aaa_leafnode_auth_total", { outcome: "ok" }), 2);
    assert.equal(v(m4, "choria_network_connections"), 2);
    assert.equal(v(m4, "choria_network_total_connections") - v(m0, "choria_network_total_connections"), 3);
    assert.equal(v(m4, "aaa_leafnode_permission_violations_total", { kind: "publish" }), 0);
    assert.equal(pub.isClosed(), false, "a refused SUB does not close the connection");
    assert.equal(dec.decode((await pub.request("ops.echo", enc.encode("still"), { timeout: 5000 })).data), "echo still");

    // A closed connection leaves the gauge; its traffic stays in the totals.
    await sub.close();
    await waitFor("the connection gauge to drop", async () => (metricValue(await scrape(w.stats), "choria_network_connections") === 1 ? true : undefined));
    const m5 = await scrape(w.stats);
    assert.ok(v(m5, "choria_network_out_msgs") >= v(m3, "choria_network_out_msgs"));
    assert.ok(v(m5, "aaa_leafnode_closed_connections_total", { reason: "client_closed" }) >= 1);
  });

  test("/readyz follows the upstream: 503 before the hub is up, 200 connected, 503 after it is killed", async (t) => {
    const down = await startHub({ pki });
    t.after(() => down.stop());
    await down.stop(); // ports are kept; start() brings it back on them
    const w = await startWorld(t, pki, down);

    const before = await readyStatus(w.stats);
    assert.equal(before.status, 503);
    assert.equal(before.body["reason"], "upstream leafnode not connected");
    assert.equal(metricValue(await scrape(w.stats), "aaa_leafnode_ready"), 0);
    assert.equal((await httpGet(w.stats, "/healthz")).status, 200, "alive even while not ready");

    await down.start();
    assert.equal((await waitReady(w.stats, 200))["status"], "ok");
    const up = await scrape(w.stats);
    assert.equal(metricValue(up, "aaa_leafnode_ready"), 1);
    assert.equal(metricValue(up, "choria_network_leafnode_remotes"), 1);

    await down.kill();
    assert.equal((await waitReady(w.stats, 503))["reason"], "upstream leafnode not connected");
    const gone = await scrape(w.stats);
    assert.equal(metricValue(gone, "aaa_leafnode_ready"), 0);
    assert.equal(metricValue(gone, "choria_network_leafnode_remotes"), 0);
  });

  test("/connz lists the connection with caller id, subscriptions and token expiry", async (t) => {
    const w = await startWorld(t, pki, hub);
    const exp = Math.floor(Date.now() / 1000) + 1800;
    const token = w.tokens.mint({ callerid: "up=connz", pubSubjects: ["ops.>"], subSubjects: ["ops.>"], exp });
    const nc = await w.clients.connect(w.gw.url, token, w.tokens.user, { name: "connz-client" });
    nc.subscribe("ops.one");
    nc.subscribe("ops.two", { queue: "workers" });
    await nc.flush();

    type Entry = { cid: number; authorized_user?: string; subscriptions: number; token_expires: string; name?: string; subscriptions_list?: string[]; auth_method: string };
    const page = JSON.parse((await httpGet(w.stats, "/connz?subs=1&auth=1")).body) as { total: number; connections: Entry[] };
    assert.equal(page.total, 1);
    const c = page.connections[0]!;
    assert.equal(c.authorized_user, "up=connz");
    assert.equal(c.name, "connz-client");
    assert.equal(c.subscriptions, 2);
    assert.deepEqual([...(c.subscriptions_list ?? [])].sort(), ["ops.one", "ops.two"]);
    assert.equal(c.token_expires, new Date(exp * 1000).toISOString());

    // Without ?subs the subject list is left out; the count stays.
    const plain = JSON.parse((await httpGet(w.stats, "/connz")).body) as { connections: Entry[] };
    assert.equal(plain.connections[0]!.subscriptions_list, undefined);
    assert.equal(plain.connections[0]!.subscriptions, 2);

    await nc.close();
    await waitFor("the connection to leave /connz", async () => {
      const p = JSON.parse((await httpGet(w.stats, "/connz")).body) as { total: number };
      return p.total === 0 ? true : undefined;
    });
  });
});
