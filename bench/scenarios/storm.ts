/**
 * Scenario 4, connection storm: 2,000 TLS clients (two worker processes with
 * 1,000 each; 1,000 in the RSA storms) connect to the leaf at once — to the gateway each with its own
 * AAA token and its own nonce signature — each does one request to an echo
 * responder on the hub, and only then do all disconnect. Figures:
 * connections/s (first connect attempt to last connection established),
 * time until every request was answered, and the leaf's resident memory per
 * connected client (VmRSS while all are connected minus VmRSS before). The
 * per-client figure is only clean in the first round (later ones start from
 * memory that neither Go nor V8 has handed back yet), so the table shows the
 * first round's; the absolute RSS with all connected is reported alongside.
 *
 * The storm runs once per server certificate key (ECDSA P-256, RSA-2048,
 * RSA-4096: Choria fleets often use Puppet-CA RSA certificates, and the
 * server's handshake signature is the largest cost of a connection), each
 * with the Node limit as its baseline: a bare Node TLS server
 * (bench/proc/bare_tls.ts) with the same certificate, doing the same
 * connection and request without routing or AAA. Target: the gateway at
 * 0.9× of its connections/s or better.
 */
import type { ServerKeyType } from "../../src/devkit/pki.js";
import { scaled, split, type RunContext, type Scenario } from "./types.js";

const CLIENT_PROCESSES = 2;

/**
 * Per certificate key: scenario id, title and clients at scale 1. The RSA
 * storms have 1,000 clients, so that an RSA-4096 storm (a few hundred
 * handshake signatures per second per core) keeps `npm run bench` within
 * its time; connections/s is a rate either way.
 */
const CERT_STORMS: Record<ServerKeyType, { id: string; title: string; clients: number }> = {
  "ec-p256": { id: "storm", title: "ECDSA P-256", clients: 2_000 },
  "rsa-2048": { id: "storm-rsa2048", title: "RSA-2048", clients: 1_000 },
  "rsa-4096": { id: "storm-rsa4096", title: "RSA-4096", clients: 1_000 },
};

/** The storm against leaves whose client-port certificate has a key of type `cert`. */
export const stormWith = (cert: ServerKeyType): Scenario => ({
  id: CERT_STORMS[cert].id,
  title: `Connection storm: ${CERT_STORMS[cert].clients.toLocaleString("en-US")} TLS clients, one request each, ${CERT_STORMS[cert].title} server certificate`,
  unit: "conn",
  serverCert: cert,
  baseline: "node",
  metrics: [
    { key: "connsPerSec", label: "connections/s", unit: "conn/s", better: "higher", baselineTarget: 0.9 },
    { key: "allAnsweredMs", label: "start → every request answered", unit: "ms", better: "lower" },
    { key: "rssPerClientKiB", label: "leaf RSS per client (first round)", unit: "KiB", better: "lower", aggregate: "first" },
    { key: "rssConnectedMiB", label: "leaf RSS, all connected", unit: "MiB", better: "lower" },
    { key: "failed", label: "failed connects/requests", unit: "clients", better: "lower" },
  ],
  timeoutMs: 300_000,
  async run(ctx: RunContext) {
    const total = scaled(CERT_STORMS[cert].clients, ctx.scale, 10);
    const subject = `bench.echo.${ctx.runId}`;
    await ctx.pool.spawn("hub responder").call("echo", { client: ctx.hubClient("storm-echo"), subject }, 30_000);
    // Interest must have crossed before the storm starts: one probe client answers for it.
    const probe = ctx.pool.spawn("leaf probe");
    await probe.call("latency", { client: ctx.target.client("up=bench-storm-probe"), subject, count: 1, size: 1, timeoutMs: 5_000 }, 60_000);
    await probe.call("closeAll", {}, 10_000);

    let index = 0;
    const groups = split(total, CLIENT_PROCESSES).map((n) => Array.from({ length: n }, () => {
      const i = index++;
      return { ...ctx.target.client(`up=bench-storm-${i}`), name: `storm-${i}` };
    }));
    const workers = groups.map((_, i) => ctx.pool.spawn(`leaf storm ${i}`));
    // A client loads its key when it starts, not per connection: outside the measured phase.
    await Promise.all(workers.map((w, i) => w.call("loadKeys", { clients: groups[i]! }, 120_000)));
    const rssBefore = ctx.readRssKiB(ctx.target.pid);
    ctx.measureStart();
    const results = await Promise.all(workers.map((w, i) => w.call("stormConnect", {
      clients: groups[i]!, subject, size: 64, timeoutMs: 60_000,
    }, 240_000)));
    const rssDuring = ctx.readRssKiB(ctx.target.pid);
    ctx.measureEnd();
    await Promise.all(workers.map((w) => w.call("closeAll", {}, 60_000)));

    const startAt = Math.min(...results.map((r) => r.startAt));
    const connected = results.reduce((n, r) => n + r.connected, 0);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    const connectedAt = Math.max(...results.map((r) => r.connectedAt));
    const answeredAt = Math.max(...results.map((r) => r.requestsDoneAt));
    const errors = results.map((r) => r.firstError).filter(Boolean);
    if (failed > 0) ctx.note(`${failed} of ${total} clients failed to connect or get an answer; first error(s): ${errors.join("; ")}`);
    if (connected === 0) throw new Error(`no client connected: ${results.map((r) => r.firstError).filter(Boolean).join("; ")}`);
    return {
      connsPerSec: connected / (Math.max(connectedAt - startAt, 1) / 1000),
      allAnsweredMs: answeredAt - startAt,
      rssPerClientKiB: (rssDuring - rssBefore) / connected,
      rssConnectedMiB: rssDuring / 1024,
      failed,
      units: connected,
    };
  },
});
