/**
 * Pre-login refusals on /metrics: a real `aaa-leafnode run` in worker mode
 * (workers = 2, so the figures are the workers' sum) with the client TLS
 * port, the WebSocket port and the login relay. Sockets that send the login
 * relay no TLS handshake are closed and counted as
 * aaa_leafnode_refused_connections_total{listener="login_relay",reason="tls_handshake"};
 * every listener's reasons are there from the start at 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { getPki } from "../helpers/pki.js";
import { waitFor } from "../helpers/hub.js";
import { tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { closedPort } from "./link_down_world.js";
import { baseConf, metricValue, opsDir, scrape, spawnGateway } from "./ops_world.js";

const NAME = "aaa_leafnode_refused_connections_total";

/** Connects and sends plain HTTP where TLS is expected; resolves once the server closed it. */
function notTls(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    s.on("error", () => {});
    s.on("close", () => resolve());
  });
}

test("worker mode: sockets the login relay refuses before login are counted by listener and reason on /metrics", async (t) => {
  const pki = await getPki();
  const dir = opsDir(t, "aaa-refusals-");
  const { publicKeyPath } = writeSignerFiles(tokenWorld().signer, dir, "signer");
  const R = "plugin.choria.network.leafnode_remote.hub.";
  const gw = await spawnGateway(t, dir, baseConf(pki, [publicKeyPath], [
    "plugin.choria.network.aaa_leafnode.workers = 2",
    "plugin.choria.network.leafnode_remotes = hub",
    `${R}url = tls://127.0.0.1:${await closedPort()}`,
    `${R}tls.cert = ${pki.leaf.cert}`,
    `${R}tls.key = ${pki.leaf.key}`,
    `plugin.choria.network.websocket_port = ${await closedPort()}`,
    "plugin.choria.network.aaa_leafnode.login_relay_port = -1",
    "plugin.login.aaasvc.login.url = https://127.0.0.1:9/choria/v1/login",
  ]));
  const started = gw.logged("aaa-leafnode started").find((r) => r["worker"] === undefined)!;
  const relayPort = Number(started["login_relay_port"]);
  assert.ok(relayPort > 0, JSON.stringify(started));

  const before = await scrape(gw.statsPort!);
  for (const [listener, reason] of [["client", "queue_full"], ["client", "queue_timeout"], ["websocket", "queue_full"], ["websocket", "queue_timeout"], ["login_relay", "tls_handshake"], ["login_relay", "address_busy"], ["login_relay", "listener_full"], ["login_relay", "idle"]] as const) {
    assert.equal(metricValue(before, NAME, { listener, reason }), 0, `${listener} ${reason} at 0 from the start`);
  }
  assert.match(before, new RegExp(`^# TYPE ${NAME} counter$`, "m"));

  const N = 4;
  await Promise.all(Array.from({ length: N }, () => notTls(relayPort)));
  const after = await waitFor(`${N} refused TLS handshakes on /metrics`, async () => {
    const text = await scrape(gw.statsPort!);
    return metricValue(text, NAME, { listener: "login_relay", reason: "tls_handshake" }) === N ? text : undefined;
  });
  assert.equal(metricValue(after, NAME, { listener: "client", reason: "queue_full" }), 0, "other listeners unaffected");
  const series = after.split("\n").filter((l) => l.startsWith(`${NAME}{`) && l.includes(`listener="login_relay"`) && l.includes(`reason="tls_handshake"`));
  assert.equal(series.length, 1, "the workers' counts are one series");
});
