/**
 * What the link-failure tests share: a port nothing listens on, and a
 * gateway (in process, monitor on an ephemeral port) whose one remote points
 * at such a port, so its hub is down from the start.
 */
import { createServer } from "node:net";
import { getPki } from "../helpers/pki.js";
import { startGateway } from "../helpers/gateway.js";

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A gateway whose one remote points at a closed port, with its monitor on an ephemeral port. */
export async function gatewayWithHubDown(): Promise<{ monitor: string; hubPort: number; stop(): Promise<void> }> {
  const pki = await getPki();
  const hubPort = await closedPort();
  const R = "plugin.choria.network.leafnode_remote.hub.";
  const g = await startGateway(pki, [
    "plugin.choria.stats_address = 127.0.0.1",
    "plugin.choria.stats_port = -1",
    "plugin.choria.network.leafnode_remotes = hub",
    `${R}url = tls://127.0.0.1:${hubPort}`,
    `${R}tls.cert = ${pki.leaf.cert}`,
    `${R}tls.key = ${pki.leaf.key}`,
    `${R}tls.ca = ${pki.ca}`,
    "plugin.choria.network.aaa_leafnode.reconnect_delay = 200ms",
    "plugin.choria.network.aaa_leafnode.reconnect_max_delay = 1s",
  ], { development: true });
  return { monitor: `http://127.0.0.1:${g.gw.monitorPort}`, hubPort, stop: () => g.stop() };
}
