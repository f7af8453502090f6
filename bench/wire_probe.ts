/**
 * `node build/bench/wire_probe.js`: what one client connection exchanges with
 * each leaf, seen from a counting TCP proxy in front of it. It starts the hub,
 * the peer leaf and the gateway as `npm run bench` does. Then it connects
 * clients one at a time through the proxy, each doing CONNECT, one request to
 * a hub echo responder, and a close. For each direction it prints the bytes
 * and the TCP reads seen, the INFO line, and the client's CPU per connection.
 * It explains storm costs that are not in the leaf's own CPU profile: sizes,
 * flush patterns and extra round trips.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { signerFromPrivateKey } from "../src/auth/mint.js";
import { connectClient } from "./proc/client.js";
import { getPki, killServersSync, startGateway, startHub, startPeerLeaf, waitForLeafs } from "./proc/servers.js";
import { makeTarget } from "./scenarios/targets.js";

interface Flow { bytes: number; reads: number; firstChunk: string }

function proxy(targetPort: number): Promise<{ port: number; flows: { up: Flow; down: Flow }[]; close(): void }> {
  const flows: { up: Flow; down: Flow }[] = [];
  const srv = createServer({ noDelay: true }, (client: Socket) => {
    const f = { up: { bytes: 0, reads: 0, firstChunk: "" }, down: { bytes: 0, reads: 0, firstChunk: "" } };
    flows.push(f);
    const server = netConnect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    client.on("data", (b) => { f.up.bytes += b.length; f.up.reads++; server.write(b); });
    server.on("data", (b) => {
      if (f.down.reads === 0) f.down.firstChunk = b.toString("latin1").split("\r\n")[0]!.slice(0, 2000);
      f.down.bytes += b.length; f.down.reads++; client.write(b);
    });
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
    client.on("error", () => {});
    server.on("error", () => {});
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({
    port: (srv.address() as { port: number }).port, flows, close: () => srv.close(),
  })));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "aaa-wire-probe-"));
  const pki = await getPki();
  const hub = await startHub({ pki });
  const signer = signerFromPrivateKey(randomBytes(32).toString("hex"));
  try {
    const peer = await startPeerLeaf(pki, hub, dir);
    const gw = await startGateway({ pki, hub, dir, signerPublicHex: signer.publicHex!, workers: 1 });
    await waitForLeafs(hub, 2);
    const echo = await connect({ servers: hub.clientUrl });
    echo.subscribe("bench.echo.probe", { callback: (_e, m) => void m.respond(m.data) });
    await echo.flush();
    const n = Number(process.argv[2] ?? "50");
    for (const [kind, leaf] of [["peer", peer], ["gateway", gw]] as const) {
      const port = Number(new URL(leaf.url).port);
      const p = await proxy(port);
      const target = makeTarget({ kind, url: `tls://127.0.0.1:${p.port}`, pid: leaf.pid, signer: kind === "gateway" ? signer : undefined });
      const specs = Array.from({ length: n }, (_, i) => target.client(`up=probe-${i}`));
      // Warm up interest and code paths.
      const w = await connectClient(specs[0]!);
      for (let i = 0; i < 20; i++) await w.request("bench.echo.probe", new Uint8Array(8), { timeout: 5000 }).catch(() => {});
      await w.close();
      p.flows.length = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (const spec of specs) {
        const nc = await connectClient(spec);
        await nc.request("bench.echo.probe", new Uint8Array(64), { timeout: 5000 });
        await nc.close();
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const avg = (f: (x: { up: Flow; down: Flow }) => number) => (p.flows.reduce((s, x) => s + f(x), 0) / p.flows.length).toFixed(1);
      process.stdout.write(`${kind}: ${n} sequential connections, ${(ms / n).toFixed(2)} ms each, client CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms each\n`);
      process.stdout.write(`  client→leaf ${avg((x) => x.up.bytes)} B in ${avg((x) => x.up.reads)} reads; leaf→client ${avg((x) => x.down.bytes)} B in ${avg((x) => x.down.reads)} reads\n`);
      process.stdout.write(`  first chunk from the leaf (${p.flows[0]?.down.firstChunk.length} chars): ${p.flows[0]?.down.firstChunk}\n`);
      p.close();
    }
    await echo.close();
    await Promise.allSettled([gw.stop(), peer.stop()]);
  } finally {
    await hub.stop().catch(() => {});
    killServersSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`wire_probe: ${err instanceof Error ? err.stack : String(err)}\n`);
  killServersSync();
  process.exit(1);
});
