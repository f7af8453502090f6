/**
 * Worker mode (a real `aaa-leafnode run` with workers = 2) with both hubs
 * down from the start: /varz lists each remote once with the links of both
 * workers merged (none of 2 connected, backing off, the most recent error as
 * the operator's sentence with its code, time and worker, failed attempts and
 * the next retry), /readyz names each remote down, the status page says
 * "0 of 2 workers connected", and /metrics has one series per remote.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getPki } from "../helpers/pki.js";
import { waitFor } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { closedPort } from "./link_down_world.js";
import { baseConf, httpGet, opsDir, scrape, spawnGateway } from "./ops_world.js";

interface VarzRemote {
  remote: string; connected: boolean; links: number; links_connected: number; state: string; url: string | null;
  last_error: string | null; last_error_code: string | null; last_error_at: string | null; last_error_worker: number;
  failed_attempts: number; next_retry: string | null;
}

test("worker mode, hubs down from the start: /varz shows each remote once with its state, last error (and worker), next retry; one series per remote", async (t) => {
  const pki = await getPki();
  const dir = opsDir(t, "aaa-workers-link-");
  const { publicKeyPath } = writeSignerFiles(tokenWorld().signer, dir, "signer");
  const ports = { hub: await closedPort(), dr: await closedPort() };
  const remote = (name: keyof typeof ports): string[] => {
    const R = `plugin.choria.network.leafnode_remote.${name}.`;
    return [`${R}url = tls://127.0.0.1:${ports[name]}`, `${R}tls.cert = ${pki.leaf.cert}`, `${R}tls.key = ${pki.leaf.key}`, `${R}tls.ca = ${pki.ca}`];
  };
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], [
    "plugin.choria.network.aaa_leafnode.workers = 2",
    "plugin.choria.network.leafnode_remotes = hub, dr",
    ...remote("hub"),
    ...remote("dr"),
    "plugin.choria.network.aaa_leafnode.reconnect_delay = 200ms",
    "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 1s",
  ]));
  const stats = gw.statsPort!;

  const remotes = await waitFor("both remotes backing off after two failures in /varz", async () => {
    const varz = JSON.parse((await httpGet(stats, "/varz")).body) as { leafnode: { remotes: VarzRemote[] } };
    const rs = varz.leafnode.remotes;
    return rs.length === 2 && rs.every((r) => r.failed_attempts >= 2 && r.state === "backing off" && r.last_error !== null) ? rs : undefined;
  }, 30_000);
  assert.deepEqual(remotes.map((r) => r.remote), ["hub", "dr"], "each remote once, not once per worker");
  for (const r of remotes) {
    const port = ports[r.remote as keyof typeof ports];
    assert.equal(r.connected, false);
    assert.equal(r.links, 2, "one link per worker");
    assert.equal(r.links_connected, 0);
    assert.equal(r.url, `127.0.0.1:${port}`);
    assert.equal(r.last_error_code, "GW_ERR_UPSTREAM_CONNECT_REFUSED");
    assert.equal(r.last_error, `nothing accepts connections at 127.0.0.1:${port} (connection refused): the hub is down, or plugin.choria.network.leafnode_remote.${r.remote}.url names the wrong host or port`);
    assert.ok([1, 2].includes(r.last_error_worker), JSON.stringify(r));
    const at = Date.parse(r.last_error_at ?? "");
    const next = Date.parse(r.next_retry ?? "");
    assert.ok(Number.isFinite(at) && Number.isFinite(next), JSON.stringify(r));
  }

  const ready = await httpGet(stats, "/readyz");
  assert.equal(ready.status, 503);
  assert.deepEqual((JSON.parse(ready.body) as { remotes: Record<string, string> }).remotes, { hub: "down", dr: "down" });

  const html = (await httpGet(stats, "/")).body;
  assert.ok(html.includes(`<tr data-remote="hub"><td class="remote">hub</td><td class="state backing-off">backing off (0 of 2 workers connected)</td>`) ||
    html.includes(`<td class="state connecting">connecting (0 of 2 workers connected)</td>`), html);
  assert.match(html, /last error at <time datetime="[^"]+">[^<]+<\/time> on worker [12] <span class="error-code">GW_ERR_UPSTREAM_CONNECT_REFUSED<\/span>/);
  assert.ok(html.includes(`<p id="upstream-summary">0 of 4 links connected</p>`), html);

  // One series per metric and remote after the workers' registries are aggregated.
  const perRemote = new Map<string, number>();
  for (const line of (await scrape(stats)).split("\n")) {
    const m = /^(\w+)\{[^}]*remote="([^"]*)"/.exec(line);
    if (m) perRemote.set(`${m[1]} ${m[2]}`, (perRemote.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
  }
  assert.ok(perRemote.has("aaa_leafnode_upstream_remote_connected hub") && perRemote.has("choria_network_leafnode_in_msgs dr"), [...perRemote.keys()].join("\n"));
  assert.deepEqual([...perRemote].filter(([, n]) => n !== 1), [], "no remote has two series of one metric");
});
