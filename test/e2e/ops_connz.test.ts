/**
 * /connz of a running `aaa-leafnode run` child read the way NATS tooling reads
 * a nats-server monitor: its page and each connection carry every key a real
 * nats-server (the hub, started with its monitoring port) puts in its own
 * /connz for an official client, apart from the keys docs/monitoring.md names
 * as not applicable; and the query options work on real connections: sort,
 * state=closed (with the close reason and stop time), cid, limit/offset, subs
 * and subs=detail, auth.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles, type TokenWorld } from "../helpers/tokens.js";
import { baseConf, Clients, httpGet, hubRemoteLines, opsDir, spawnGateway } from "./ops_world.js";

type Json = Record<string, unknown>;
type Connz = Json & { total: number; num_connections: number; connections: Json[] };

/** nats-server ConnInfo keys the gateway leaves out (docs/monitoring.md says why). */
const NOT_APPLICABLE = new Set(["account", "jwt", "issuer_key", "name_tag", "tags", "tls_peer_certs", "mqtt_client", "stalls", "proxy", "tls_first"]);

const enc = new TextEncoder();

interface World {
  stats: number;
  url: string;
  tokens: TokenWorld;
  clients: Clients;
}

/** A gateway child (standalone unless `extra` says otherwise) with its monitor on a free port, and ping_interval 1s so RTT is measured by PING/PONG. */
async function startGateway(t: TestContext, pki: Pki, extra: string[] = []): Promise<World> {
  const dir = opsDir(t);
  const tokens = tokenWorld();
  const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], ["plugin.choria.network.aaa_leafnode.ping_interval = 1s", ...extra]));
  return { stats: gw.statsPort!, url: gw.url, tokens, clients: new Clients(t, pki) };
}

async function connz(stats: number, query = ""): Promise<Connz> {
  const r = await httpGet(stats, `/connz${query}`);
  assert.equal(r.status, 200, `/connz${query}: ${r.body}`);
  return JSON.parse(r.body) as Connz;
}

async function getHubConnz(hub: Hub, query: string): Promise<Connz> {
  return (await (await fetch(`${hub.monitorUrl}/connz${query}`)).json()) as Connz;
}

/** A connected client of `w` named `name` that subscribed to `subjects` and published `publishes` messages. */
async function client(w: World, name: string, subjects: string[], publishes: number): Promise<NatsConnection> {
  const token = w.tokens.mint({ callerid: `up=${name}`, pubSubjects: ["ops.>"], subSubjects: ["ops.>"] });
  const nc = await w.clients.connect(w.url, token, w.tokens.user, { name });
  for (const s of subjects) nc.subscribe(s);
  for (let i = 0; i < publishes; i++) nc.publish("ops.data", enc.encode("x"));
  await nc.flush();
  return nc;
}

const byName = (page: Connz, name: string): Json => {
  const c = page.connections.find((e) => e.name === name);
  assert.ok(c, `${name} in ${JSON.stringify(page.connections.map((e) => e.name))}`);
  return c;
};

describe("/connz read as nats-server's", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("hub-side"));
    hubClient.subscribe("ops.hub");
    hubClient.publish("ops.hub", enc.encode("x"));
    await hubClient.flush();
  });
  after(() => stopHubWithClient(hub, hubClient));

  test("the gateway's /connz has every key the hub's /connz has, page and connection", async (t) => {
    const w = await startGateway(t, pki);
    await client(w, "gw-side", ["ops.one"], 1);
    for (const query of ["?subs=1", "?subs=detail"]) {
      const theirs = await getHubConnz(hub, query);
      const ours = await connz(w.stats, query);
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), `top-level keys ${query}`);
      const theirKeys = Object.keys(byName(theirs, "hub-side"));
      const ourEntry = byName(ours, "gw-side");
      const missing = theirKeys.filter((k) => !(k in ourEntry) && !NOT_APPLICABLE.has(k));
      assert.deepEqual(missing, [], `connection keys the hub has and the gateway lacks (${query})`);
      // And the shared keys hold the same kinds of value.
      for (const k of theirKeys.filter((key) => key in ourEntry)) {
        assert.equal(typeof ourEntry[k], typeof byName(theirs, "hub-side")[k], `type of ${k}`);
      }
    }
    // A closed connection: the hub's and the gateway's, each closed by its client.
    const hubGone = await connect({ servers: hub.clientUrl, name: "hub-closed" });
    hubGone.subscribe("ops.gone");
    await hubGone.flush();
    await hubGone.close();
    await (await client(w, "gw-closed", ["ops.gone"], 0)).close();
    const theirClosed = await waitFor("the hub's closed client", async () => (await getHubConnz(hub, "?state=closed&subs=1")).connections.find((c) => c.name === "hub-closed"));
    const ourClosed = await waitFor("the gateway's closed client", async () => (await connz(w.stats, "?state=closed&subs=1")).connections.find((c) => c.name === "gw-closed"));
    assert.deepEqual(Object.keys(theirClosed).filter((k) => !(k in ourClosed) && !NOT_APPLICABLE.has(k)), [], "closed connection keys");
    assert.equal(ourClosed.reason, theirClosed.reason, "the same reason text for a client that closed");
    // The hub's own client carries the keys the issue names; so does ours.
    const ours = byName(await connz(w.stats, "?subs=1"), "gw-side");
    for (const k of ["name", "idle", "rtt", "uptime", "subscriptions_list", "last_activity", "start", "ip", "port"]) assert.ok(k in ours, k);
    assert.deepEqual(ours.subscriptions_list, ["ops.one"]);
    assert.equal(ours.kind, "Client");
    assert.equal(ours.type, "nats");
    assert.equal(ours.ip, "127.0.0.1");
    assert.notEqual(ours.rtt, "0s", "an RTT estimate from accept to CONNECT");
    assert.match(String(ours.uptime), /^\d+s$/);
    assert.equal(ours.in_msgs, 1);
  });

  test("sort, limit/offset, cid, auth and subs=detail on real connections", async (t) => {
    const w = await startGateway(t, pki);
    // Distinct traffic and subscription counts: a 1 message / 3 subs, b 5 / 1, c 3 / 2.
    await client(w, "a", ["ops.a1", "ops.a2", "ops.a3"], 1);
    await client(w, "b", ["ops.b1"], 5);
    await client(w, "c", ["ops.c1", "ops.c2"], 3);
    const names = (p: Connz) => p.connections.map((c) => c.name);
    assert.deepEqual(names(await connz(w.stats)), ["a", "b", "c"], "cid order by default");
    assert.deepEqual(names(await connz(w.stats, "?sort=msgs_from")), ["b", "c", "a"]);
    assert.deepEqual(names(await connz(w.stats, "?sort=bytes_from")), ["b", "c", "a"]);
    assert.deepEqual(names(await connz(w.stats, "?sort=subs")), ["a", "c", "b"]);
    assert.deepEqual(names(await connz(w.stats, "?sort=start")), ["a", "b", "c"]);
    const paged = await connz(w.stats, "?sort=msgs_from&limit=1&offset=1");
    assert.deepEqual(names(paged), ["c"]);
    assert.equal(paged.total, 3);
    assert.equal(paged.num_connections, 1);
    const cidOfB = byName(await connz(w.stats), "b").cid;
    assert.deepEqual(names(await connz(w.stats, `?cid=${String(cidOfB)}`)), ["b"]);
    assert.equal(byName(await connz(w.stats, "?auth=1"), "b").authorized_user, "up=b");
    const c = byName(await connz(w.stats, "?subs=detail"), "c");
    const detail = c.subscriptions_list_detail as Json[];
    assert.deepEqual(detail.map((d) => d.subject).sort(), ["ops.c1", "ops.c2"]);
    assert.ok(detail.every((d) => d.cid === c.cid && typeof d.sid === "string" && d.msgs === 0), JSON.stringify(detail));
    const refused = await httpGet(w.stats, "/connz?sort=nope");
    assert.equal(refused.status, 400);
    assert.equal(refused.body, "invalid sorting option: nope\n");
  });

  test("state=closed lists a closed connection with its stop time and nats-server's reason", async (t) => {
    const w = await startGateway(t, pki);
    await client(w, "stays", ["ops.s"], 0);
    const leaving = await client(w, "leaves", ["ops.l1", "ops.l2"], 2);
    const cid = byName(await connz(w.stats), "leaves").cid;
    const before = Date.now();
    await leaving.close();
    const closed = await waitFor("the closed connection in state=closed", async () => {
      const p = await connz(w.stats, "?state=closed&subs=1");
      return p.connections.find((c) => c.cid === cid);
    });
    assert.equal(closed.reason, "Client Closed");
    assert.equal(closed.name, "leaves");
    assert.equal(closed.in_msgs, 2);
    assert.equal(closed.subscriptions, 2, "what it had when it closed");
    assert.deepEqual((closed.subscriptions_list as string[]).sort(), ["ops.l1", "ops.l2"]);
    const stop = Date.parse(String(closed.stop));
    assert.ok(stop >= before - 1000 && stop <= Date.now(), `stop ${String(closed.stop)}`);
    assert.deepEqual((await connz(w.stats)).connections.map((c) => c.name), ["stays"], "open: only the one still open");
    const all = await connz(w.stats, "?state=all");
    assert.equal(all.total, 2);
    assert.deepEqual(all.connections.map((c) => c.name), ["stays", "leaves"]);
    assert.equal((await connz(w.stats, "?state=closed&sort=reason")).total, 1);
    assert.equal((await httpGet(w.stats, "/connz?sort=stop")).status, 400, "stop sorts closed connections only");
  });

  test("worker mode: open and closed connections of every worker in one /connz", async (t) => {
    const w = await startGateway(t, pki, ["plugin.choria.network.aaa_leafnode.workers = 2", ...hubRemoteLines(pki, hub)]);
    const names = ["w-a", "w-b", "w-c", "w-d"];
    const ncs = [];
    for (const [i, name] of names.entries()) ncs.push(await client(w, name, ["ops.w"], i));
    const open = await connz(w.stats, "?sort=msgs_from");
    assert.deepEqual(open.connections.map((c) => c.name), ["w-d", "w-c", "w-b", "w-a"]);
    await ncs[0]!.close();
    await ncs[1]!.close();
    const closed = await waitFor("both closed connections", async () => {
      const p = await connz(w.stats, "?state=closed");
      return p.total === 2 ? p : undefined;
    });
    assert.deepEqual(closed.connections.map((c) => c.name).sort(), ["w-a", "w-b"]);
    assert.ok(closed.connections.every((c) => c.reason === "Client Closed"));
    const all = await connz(w.stats, "?state=all&limit=3");
    assert.equal(all.total, 4);
    assert.equal(all.num_connections, 3);
    assert.equal((await connz(w.stats)).total, 2);
  });
});
