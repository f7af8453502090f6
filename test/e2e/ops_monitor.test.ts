/**
 * The monitor's nats-server and Choria endpoints on a running `aaa-leafnode
 * run` child with a real nats-server hub: /leafz and /subsz carry what the
 * gateway really has (the hub's interest over the link, the clients'
 * subscriptions with the cids /connz shows) under the key names and value
 * types the real nats-server uses for the same structures (read from the
 * hub's own /leafz and /subsz in the same test); /choria/ names the identity
 * and the configuration file; the Choria leafnode subscription gauge agrees
 * with /leafz; and the status page at /, loaded in headless Chromium, shows
 * the name, version, link state and counts, and links to endpoints that all
 * answer. When the hub goes away the page shows the link down.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { createSigner, tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { CHROMIUM, chromiumAvailable, dumpDom } from "./browser/chromium.js";
import { baseConf, hubRemoteLines, Clients, httpGet, metricValue, opsDir, scrape, spawnGateway } from "./ops_world.js";

type Json = Record<string, unknown>;

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

async function getJson(port: number, path: string): Promise<Json> {
  const r = await httpGet(port, path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body) as Json;
}

async function hubJson(hub: Hub, path: string): Promise<Json> {
  const res = await fetch(`${hub.monitorUrl}${path}`);
  return (await res.json()) as Json;
}

/** Every key of `ours` is a key nats-server uses for the same structure, with a value of the same JSON type. */
function sameShape(what: string, ours: Json, reference: Json, newerKeys: readonly string[] = []): void {
  for (const [k, v] of Object.entries(ours)) {
    if (newerKeys.includes(k) && !(k in reference)) continue;
    assert.ok(k in reference, `${what}: "${k}" is not a key nats-server uses (it has ${Object.keys(reference).join(", ")})`);
    assert.equal(Array.isArray(v) ? "array" : typeof v, Array.isArray(reference[k]) ? "array" : typeof reference[k], `${what}: type of "${k}"`);
  }
}

describe("monitor endpoints against a real hub", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("hub-side"));
    hubClient.subscribe("ops.hub.>", { callback: () => {} });
    hubClient.subscribe("ops.work", { queue: "workers", callback: () => {} });
    await hubClient.flush();
  });
  after(() => stopHubWithClient(hub, hubClient));

  test("/leafz, /subsz, /choria/, Choria gauges and the status page in Chromium", async (t) => {
    const dir = opsDir(t);
    const tokens = tokenWorld();
    const { publicKeyPath } = writeSignerFiles(tokens.signer, dir, "signer");
    const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], [
      "identity = gw-monitor.test",
      ...hubRemoteLines(pki, hub),
      "plugin.choria.network.aaa_leafnode.reconnect_delay = 200ms",
      "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 1s",
      "plugin.choria.network.aaa_leafnode.ping_interval = 1s",
    ]));
    const stats = gw.statsPort!;
    const clients = new Clients(t, pki);
    await waitFor("readiness", async () => ((await httpGet(stats, "/readyz")).status === 200 ? true : undefined), 20_000);

    const token = tokens.mint({ callerid: "up=monitor", pubSubjects: ["ops.>"], subSubjects: ["ops.>"] });
    const nc = await clients.connect(gw.url, token, tokens.user, { name: "monitored" });
    nc.subscribe("ops.local.a", { callback: () => {} });
    nc.subscribe("ops.local.>", { queue: "q1", callback: () => {} });
    await nc.flush();
    // A refused login, counted on the status page.
    const stranger = tokenWorld(createSigner("ed25519"), tokens.user);
    await assert.rejects(clients.connect(gw.url, stranger.mint(), tokens.user), /Authorization Violation/i);

    // /leafz: the link to the hub, with the hub's interest (LS+ it sent us).
    const leafz = await waitFor("the hub's interest in /leafz", async () => {
      const l = await getJson(stats, "/leafz?subs=1");
      const list = ((l.leafs as Json[])[0]?.subscriptions_list ?? []) as string[];
      return list.includes("ops.hub.>") && list.includes("ops.work workers") ? l : undefined;
    });
    assert.equal(leafz.leafnodes, 1);
    const ours = (leafz.leafs as Json[])[0]!;
    assert.equal(ours.name, "hub");
    assert.equal(ours.is_spoke, true);
    assert.equal(ours.ip, "127.0.0.1");
    assert.equal(ours.port, Number(new URL(hub.leafUrl).port));
    assert.equal(ours.subscriptions, (ours.subscriptions_list as string[]).length);
    assert.match(String(ours.rtt ?? "0s"), /^\d+(\.\d+)?(µs|ms|s)$/);
    const hubLeafz = await hubJson(hub, "/leafz?subs=1");
    const theirs = (hubLeafz.leafs as Json[])[0]!;
    sameShape("/leafz", leafz, hubLeafz);
    // id, name and is_spoke joined LeafInfo after nats-server 2.9 (the hub here); current releases have them.
    sameShape("/leafz leafs[0]", ours, theirs, ["id", "name", "is_spoke"]);
    assert.ok((theirs.subscriptions_list as string[]).includes("ops.local.a"), "the hub sees our client's interest");

    // /subsz: the client's two subscriptions under its /connz cid.
    const connz = await getJson(stats, "/connz");
    const cid = (connz.connections as Json[]).find((c) => c.name === "monitored")!.cid;
    const subsz = await getJson(stats, "/subsz?subs=1");
    assert.equal(subsz.num_subscriptions, 2);
    const mine = (subsz.subscriptions_list as Json[]).filter((s) => s.cid === cid);
    assert.deepEqual(mine.map((s) => [s.subject, s.qgroup ?? null]).sort(), [["ops.local.>", "q1"], ["ops.local.a", null]]);
    const tested = await getJson(stats, "/subsz?subs=1&test=ops.local.b");
    assert.deepEqual((tested.subscriptions_list as Json[]).map((s) => s.subject), ["ops.local.>"]);
    const hubSubsz = await hubJson(hub, "/subsz?subs=1");
    sameShape("/subsz", subsz, hubSubsz);
    const hubEntry = (hubSubsz.subscriptions_list as Json[]).find((s) => s.qgroup !== undefined)!;
    sameShape("/subsz entry", mine.find((s) => s.qgroup !== undefined)!, hubEntry);

    // /choria/ and the Choria gauges.
    const choria = await getJson(stats, "/choria/");
    assert.equal(choria.identity, "gw-monitor.test");
    assert.equal(choria.config_file, gw.confFile);
    assert.equal((choria.build as Json).version, PACKAGE_VERSION);
    const metrics = await scrape(stats);
    assert.equal(metricValue(metrics, "choria_build_info", { version: PACKAGE_VERSION }), 1);
    assert.equal(metricValue(metrics, "choria_network_routes"), 0);
    assert.equal(metricValue(metrics, "choria_network_remotes"), 0);
    const leafSubs = metricValue(metrics, "choria_network_leafnode_subscriptions", { remote: "hub" });
    assert.equal(leafSubs, ((await getJson(stats, "/leafz")).leafs as Json[])[0]!.subscriptions);

    // The status page as Chromium parses it.
    const base = `http://127.0.0.1:${stats}/`;
    let dom: string;
    if (chromiumAvailable()) {
      dom = (await dumpDom(base, undefined, 90_000)).dom;
    } else {
      t.diagnostic(`Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_BIN); the page was checked as served`);
      dom = (await httpGet(stats, "/")).body;
    }
    assert.match(dom, /<span id="name">gw-monitor\.test<\/span>/);
    assert.ok(dom.includes(`<span id="version">${PACKAGE_VERSION}</span>`), "version");
    assert.match(dom, /<p id="ready" class="ready">ready<\/p>/);
    assert.match(dom, /<tr data-remote="hub"><td class="remote">hub<\/td><td class="state connected">connected<\/td><td class="hub">127\.0\.0\.1:\d+<\/td>/);
    assert.match(dom, /<dd id="connections">1<\/dd>/);
    assert.match(dom, /<dd id="auth-failures">1<\/dd>/);
    const hrefs = [...dom.matchAll(/<a href="([^"]+)">/g)].map((m) => m[1]!);
    for (const path of ["/varz", "/connz", "/subsz", "/leafz", "/healthz", "/readyz", "/metrics", "/choria/", "/choria/prometheus", "/choria/metrics"]) {
      assert.ok(hrefs.includes(`.${path}`), `the page links ${path}`);
    }
    for (const href of hrefs) {
      const res = await fetch(new URL(href, base));
      assert.equal(res.status, 200, `${href} answers`);
      await res.arrayBuffer();
    }

    // The hub goes away: the page shows the link down and not ready.
    await hub.kill();
    t.after(() => hub.start());
    const down = await waitFor("the link to show down", async () => {
      const page = (await httpGet(stats, "/")).body;
      return /<td class="state (backing-off">backing off|connecting">connecting)<\/td>/.test(page) ? page : undefined;
    }, 20_000);
    assert.match(down, /not ready: upstream leafnode not connected/);
    assert.equal(((await getJson(stats, "/leafz")).leafnodes), 0);
  });
});
