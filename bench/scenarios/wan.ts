/**
 * The satellite case: the operator is far from the hub (a userspace delay
 * proxy adds 25 ms each way, so 50 ms round trip), and a Choria-style
 * short-lived client connects, authenticates and makes one fleet request.
 * Three setups, each timed per client: (a) straight to the hub across the WAN
 * (TLS client port of the hub), and near the operator with only the leafnode
 * crossing the WAN, (b) a nats-server leaf or (c) the gateway — (b) in the
 * peer's runs, (c) in the gateway's, (a) in both. Each run starts its own
 * hub, proxies and leaf (the run's shared hub has no WAN in front of it).
 * Figures: connect time (TCP + TLS + CONNECT/auth until the first PONG),
 * first-reply time (request sent → reply in), the whole client, and ms saved
 * per client against (a). The clients run one after another in this process:
 * they are idle most of the time, waiting on the WAN, so they load nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { signerFromPrivateKey } from "../../src/auth/mint.js";
import { connectClient } from "../proc/client.js";
import { getPki, startGateway, startHub, startPeerLeaf, waitForLeafs, type Hub, type LeafServer } from "../proc/servers.js";
import { makeTarget } from "./targets.js";
import { scaled, type RunContext, type Scenario } from "./types.js";

const ONE_WAY_MS = 25;

interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

/** TCP pass-through to 127.0.0.1:`target` delaying every chunk by `delayMs` in each direction (order kept). */
async function startDelayProxy(target: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const later = (to: Socket, chunk: Buffer): void => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  };
  const server: Server = createServer((inbound) => {
    const outbound = netConnect({ host: "127.0.0.1", port: target });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    inbound.on("data", (c: Buffer) => later(outbound, c));
    outbound.on("data", (c: Buffer) => later(inbound, c));
    // Closing travels the WAN too.
    inbound.on("close", () => setTimeout(() => outbound.destroy(), delayMs));
    outbound.on("close", () => setTimeout(() => inbound.destroy(), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

interface ClientTimes { connectMs: number; replyMs: number }

/** One short-lived client: connect (and authenticate), one request, close. */
async function shortLived(spec: Parameters<typeof connectClient>[0], subject: string): Promise<ClientTimes> {
  const t0 = performance.now();
  const nc = await connectClient(spec, 15_000);
  const t1 = performance.now();
  try {
    await nc.request(subject, new Uint8Array(16), { timeout: 10_000 });
    return { connectMs: t1 - t0, replyMs: performance.now() - t1 };
  } finally {
    await nc.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function measure(n: number, spec: () => Parameters<typeof connectClient>[0], subject: string): Promise<{ connectMs: number; replyMs: number; totalMs: number }> {
  await shortLived(spec(), subject); // warm-up (first TLS context, JIT)
  const runs: ClientTimes[] = [];
  for (let i = 0; i < n; i++) runs.push(await shortLived(spec(), subject));
  return {
    connectMs: median(runs.map((r) => r.connectMs)),
    replyMs: median(runs.map((r) => r.replyMs)),
    totalMs: median(runs.map((r) => r.connectMs + r.replyMs)),
  };
}

export const wan: Scenario = {
  id: "wan",
  title: `WAN satellite: short-lived client (connect, auth, one fleet request), hub ${ONE_WAY_MS} ms away each way`,
  // No `units` figure: this scenario runs its own hub and leaf, so the run's leaf CPU says nothing about it.
  unit: "client",
  metrics: [
    { key: "connectMs", label: "near leaf: connect + auth", unit: "ms", better: "lower" },
    { key: "firstReplyMs", label: "near leaf: first reply", unit: "ms", better: "lower" },
    { key: "totalMs", label: "near leaf: whole client", unit: "ms", better: "lower" },
    { key: "directTotalMs", label: "(a) direct to hub across WAN: whole client", unit: "ms", better: "lower" },
    { key: "directConnectMs", label: "(a) direct: connect", unit: "ms", better: "lower" },
    { key: "savedMs", label: "ms saved per client vs (a)", unit: "ms", better: "higher" },
  ],
  timeoutMs: 240_000,
  async run(ctx: RunContext) {
    const n = scaled(20, ctx.scale, 5);
    const pki = await getPki();
    const dir = mkdtempSync(join(tmpdir(), "aaa-bench-wan-"));
    const extra = `tls {\n  cert_file: "${pki.hub.cert}"\n  key_file: "${pki.hub.key}"\n}`;
    let hub: Hub | null = null;
    let leaf: LeafServer | null = null;
    const proxies: DelayProxy[] = [];
    const closers: (() => Promise<void>)[] = [];
    try {
      hub = await startHub({ pki, dir: join(dir, "hub"), extraConfig: extra });
      const clientWan = await startDelayProxy(hub.clientPort, ONE_WAY_MS);
      const leafWan = await startDelayProxy(hub.leafPort, ONE_WAY_MS);
      proxies.push(clientWan, leafWan);
      const subject = `bench.wan.${ctx.runId}`;
      // The fleet side: a responder on the hub itself.
      const responder = await connectClient({ url: `tls://127.0.0.1:${hub.clientPort}`, name: "wan-responder" });
      closers.push(() => responder.close());
      responder.subscribe(subject, { callback: (err, m) => { if (!err) m.respond(m.data); } });
      await responder.flush();

      const farHub = { ...hub, leafUrl: `tls://127.0.0.1:${leafWan.port}` } as Hub;
      const signer = signerFromPrivateKey(randomBytes(32).toString("hex"));
      if (ctx.target.kind === "peer") leaf = await startPeerLeaf(pki, farHub, dir);
      else leaf = await startGateway({ pki, hub: farHub, dir, signerPublicHex: signer.publicHex! });
      await waitForLeafs(hub, 1);
      const near = makeTarget({ kind: ctx.target.kind, url: leaf.url, pid: leaf.pid, signer: ctx.target.kind === "gateway" ? signer : undefined });
      let seq = 0;
      const nearSpec = () => near.client(`up=bench-wan-${seq++}`);
      // Interest must have crossed the WAN before timing: one client answers for it.
      for (let tries = 0; ; tries++) {
        try {
          await shortLived(nearSpec(), subject);
          break;
        } catch (err) {
          if (tries >= 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const directSpec = () => ({ url: `tls://127.0.0.1:${clientWan.port}`, name: `wan-direct-${seq++}` });

      ctx.measureStart();
      const direct = await measure(n, directSpec, subject);
      const viaLeaf = await measure(n, nearSpec, subject);
      ctx.measureEnd();
      return {
        connectMs: viaLeaf.connectMs,
        firstReplyMs: viaLeaf.replyMs,
        totalMs: viaLeaf.totalMs,
        directTotalMs: direct.totalMs,
        directConnectMs: direct.connectMs,
        savedMs: direct.totalMs - viaLeaf.totalMs,
      };
    } finally {
      for (const c of closers) await c().catch(() => {});
      await leaf?.stop().catch(() => {});
      for (const p of proxies) await p.close();
      await hub?.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
