/**
 * JetStream through the gateway against JetStream straight at the hub, in the
 * same run: Key-Value put, Key-Value get (direct get), and a pull consumer's
 * fetch-and-ack, as messages per second with a window of requests in flight,
 * alternating hub and gateway rounds. It starts a JetStream-enabled hub
 * nats-server and the gateway as its own process (bench/proc/servers.ts),
 * drives the official clients (@nats-io/jetstream, @nats-io/kv) from this
 * process, and reports medians, the gateway/hub ratio and the gateway's CPU
 * milliseconds per thousand operations. Run after a build:
 * `node build/bench/jetstream_bench.js [--rounds N] [--count N]`; the figures
 * also go to bench/results/jetstream.json.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createEd25519KeyPair, mintClientToken, signNonce, signerFromPrivateKey } from "../src/auth/mint.js";
import { getPki, killServersSync, readCpuMs, startGateway, startHub } from "./proc/servers.js";

const RESULTS = fileURLToPath(new URL("../../bench/results/", import.meta.url));
const WINDOW = 64;

type Op = (i: number) => Promise<unknown>;

/** Run `count` operations with up to WINDOW in flight; returns ops per second. */
async function windowed(count: number, op: Op): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return count / ((performance.now() - started) / 1000);
}

interface Figures {
  kvPut: number;
  kvGet: number;
  pull: number;
}

async function measure(nc: NatsConnection, tag: string, count: number): Promise<Figures> {
  const js = jetstream(nc, { timeout: 10_000 });
  const kv: KV = await new Kvm(js).open("BENCH");
  const value = randomBytes(128);
  const kvPut = await windowed(count, (i) => kv.put(`${tag}.k${i % 500}`, value));
  const kvGet = await windowed(count, (i) => kv.get(`${tag}.k${i % 500}`));
  // The pull consumer reads what the hub side published for this round.
  const c = await js.consumers.get("BENCHQ", `C_${tag}`);
  let got = 0;
  const started = performance.now();
  while (got < count) {
    const batch = await c.fetch({ max_messages: Math.min(500, count - got), expires: 10_000 });
    for await (const m of batch) {
      m.ack();
      got++;
    }
  }
  await nc.flush();
  const pull = count / ((performance.now() - started) / 1000);
  return { kvPut, kvGet, pull };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, count: { type: "string", default: "5000" } } });
  const rounds = Number(values.rounds);
  const count = Number(values.count);
  const pki = await getPki();
  const dir = mkdtempSync(join(tmpdir(), "aaa-leaf-jsbench-"));
  const hub = await startHub({ pki, jetstream: true });
  const signer = signerFromPrivateKey(randomBytes(32).toString("hex"));
  const gateway = await startGateway({ pki, hub, dir, signerPublicHex: signer.publicHex! });
  const key = createEd25519KeyPair();
  const token = mintClientToken(signer, { callerid: "up=bench-js", publicKey: key.publicHex, permissions: { streams_user: true }, pubSubjects: ["bench.q.>"] });
  const direct = await connect({ servers: hub.clientUrl });
  const viaGateway = await connect({
    servers: gateway.url,
    tls: { caFile: pki.ca },
    authenticator: ((nonce?: string) => ({ auth_token: token, sig: signNonce(key.seedHex, nonce ?? "") })) as never,
  });
  try {
    const jsm = await jetstreamManager(direct);
    await new Kvm(direct).create("BENCH", { history: 1 });
    await jsm.streams.add({ name: "BENCHQ", subjects: ["bench.q.>"] });
    const hjs = jetstream(direct);
    const payload = randomBytes(128);
    const results: Record<"hub" | "gateway", Figures[]> = { hub: [], gateway: [] };
    const cpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const kind of ["hub", "gateway"] as const) {
        const tag = `${kind}${r}`;
        await jsm.consumers.add("BENCHQ", { durable_name: `C_${tag}`, ack_policy: AckPolicy.Explicit, filter_subject: `bench.q.${tag}`, max_ack_pending: 20_000 });
        await windowed(count, () => hjs.publish(`bench.q.${tag}`, payload));
        const cpuBefore = readCpuMs(gateway.pid);
        const f = await measure(kind === "hub" ? direct : viaGateway, tag, count);
        if (kind === "gateway") cpu.push(((readCpuMs(gateway.pid) - cpuBefore) / (3 * count)) * 1000);
        results[kind].push(f);
        console.log(`round ${r + 1} ${kind.padEnd(7)} kv put ${f.kvPut.toFixed(0)}/s  kv get ${f.kvGet.toFixed(0)}/s  pull+ack ${f.pull.toFixed(0)}/s`);
      }
    }
    const rows = (["kvPut", "kvGet", "pull"] as const).map((k) => {
      const h = median(results.hub.map((f) => f[k]));
      const g = median(results.gateway.map((f) => f[k]));
      return { metric: k, hub: Math.round(h), gateway: Math.round(g), ratio: Number((g / h).toFixed(2)) };
    });
    console.log(`\nJetStream, ${count} ops per figure, window ${WINDOW}, median of ${rounds} rounds (msgs/s)`);
    console.log("metric     hub      gateway  gateway/hub");
    for (const row of rows) console.log(`${row.metric.padEnd(10)} ${String(row.hub).padEnd(8)} ${String(row.gateway).padEnd(8)} ${row.ratio}`);
    const cpuPerK = median(cpu);
    console.log(`gateway CPU: ${cpuPerK.toFixed(1)} ms per 1000 JetStream operations`);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "jetstream.json"), JSON.stringify({ when: new Date().toISOString(), count, window: WINDOW, rounds, rows, gatewayCpuMsPer1000: cpuPerK, raw: results }, null, 2));
  } finally {
    await Promise.allSettled([direct.close(), viaGateway.close()]);
    await gateway.stop();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
    killServersSync();
  }
}

main().catch((err) => {
  console.error(err);
  killServersSync();
  process.exit(1);
});
