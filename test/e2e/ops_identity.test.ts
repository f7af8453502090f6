/**
 * The `identity` label of the Choria metrics on /metrics of a running
 * `aaa-leafnode run` child, as Choria labels its broker's: the configured
 * `identity`, the host name only when none is set, and in worker mode the
 * configured identity for every worker (not the per-worker server name the
 * hub sees).
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pki } from "../helpers/pki.js";
import { startHubWithClient, stopHubWithClient, waitFor, type Hub } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { baseConf, httpGet, hubRemoteLines, metricValue, opsDir, scrape, spawnGateway } from "./ops_world.js";

/** Every value the `identity` label takes on /metrics, and how many series carry it. */
function identities(text: string): { values: Set<string>; series: number } {
  const values = new Set<string>();
  let series = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /[{,]identity="((?:[^"\\]|\\.)*)"/.exec(line);
    if (!m) continue;
    values.add(m[1]!);
    series++;
  }
  return { values, series };
}

async function gatewayMetrics(t: TestContext, pki: Pki, extra: string[]): Promise<{ stats: number; text: string }> {
  const dir = opsDir(t);
  const { publicKeyPath } = writeSignerFiles(tokenWorld().signer, dir, "signer");
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], extra));
  return { stats: gw.statsPort!, text: await scrape(gw.statsPort!) };
}

describe("the identity label of the Choria metrics", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    ({ pki, hub, hubClient } = await startHubWithClient("identity-hub"));
  });
  after(() => stopHubWithClient(hub, hubClient));

  test("is the configured identity", async (t) => {
    const { stats, text } = await gatewayMetrics(t, pki, ["identity = gw-ident.example.net"]);
    const seen = identities(text);
    assert.deepEqual([...seen.values], ["gw-ident.example.net"]);
    assert.ok(seen.series >= 12, `every Choria broker gauge and choria_build_info (${seen.series} series)`);
    assert.equal(metricValue(text, "choria_network_connections", { identity: "gw-ident.example.net" }), 0);
    // /choria/ says the same identity.
    assert.equal((JSON.parse((await httpGet(stats, "/choria/")).body) as { identity: string }).identity, "gw-ident.example.net");
  });

  test("is the host name when no identity is set", async (t) => {
    const { text } = await gatewayMetrics(t, pki, []);
    assert.deepEqual([...identities(text).values], [hostname()]);
  });

  test("in worker mode is the configured identity for every worker", async (t) => {
    const { stats } = await gatewayMetrics(t, pki, ["identity = gw-workers.example.net", "plugin.choria.network.aaa_leafnode.workers = 2", ...hubRemoteLines(pki, hub)]);
    // Both workers' links are up, so their leafnode series are there too.
    const text = await waitFor("both workers' links in /metrics", async () => {
      const m = await scrape(stats);
      return metricValue(m, "choria_network_leafnode_remotes") === 2 ? m : undefined;
    }, 30_000);
    assert.deepEqual([...identities(text).values], ["gw-workers.example.net"]);
  });
});
