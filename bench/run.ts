/**
 * `npm run bench`: measures the gateway against its peer, a nats-server leaf
 * configured the same way (bench/README.md; the targets: README.md,
 * "Performance"). It starts a hub nats-server with an mTLS leafnode port, the peer
 * leaf and the gateway (each its own process, same certificates), waits until
 * the hub's /leafz shows both, then runs every scenario against the peer and
 * the gateway alternately (A B A B …) for a number of rounds, with all client
 * load in forked worker processes; a scenario with a hub-side baseline also
 * runs, in each round after the two leaves, with its caller on the hub itself. It prints medians and gateway/peer ratios
 * and writes every raw figure to bench/results/latest.json. A failed run is
 * recorded, never fatal; whatever it started is stopped at the end, on error
 * and on SIGINT. Everything listens on 127.0.0.1 on ephemeral ports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signerFromPrivateKey } from "../src/auth/mint.js";
import { WorkerPool } from "./proc/pool.js";
import {
  cpuBetween, getPki, hubCallerUrl, killServersSync, NATS_SERVER, pinTree, readCpuMs, readTreeCpuMs, readTreeRssKiB, startBenchHub, startGateway,
  startNodeLimit, startPeerLeaf, waitFor, waitForLeafs, type Hub, type LeafServer, type Pki,
} from "./proc/servers.js";
import { serverCertificate, type CertFiles, type ServerKeyType } from "../src/devkit/pki.js";
import { manyCallers } from "./scenarios/manycallers.js";
import { fanIn } from "./scenarios/fanin.js";
import { latency } from "./scenarios/latency.js";
import { stormWith } from "./scenarios/storm.js";
import { subscribers } from "./scenarios/subscribers.js";
import { renderTable, summarize, type RunRecord } from "./scenarios/summary.js";
import { makeTarget } from "./scenarios/targets.js";
import { throughput } from "./scenarios/throughput.js";
import { wan } from "./scenarios/wan.js";
import type { Scenario, Target, TargetKind } from "./scenarios/types.js";

// The storms come after the scenarios that run on the leaves' default (ECDSA) certificate: each
// storm with another certificate restarts the leaves with it (Scenario.serverCert).
const ALL_SCENARIOS: readonly Scenario[] = [
  throughput, fanIn, latency, subscribers, manyCallers, stormWith("ec-p256"), stormWith("rsa-2048"), stormWith("rsa-4096"), wan,
];
/** The JetStream comparison has its own hub and baseline (the hub itself), so it runs as its own process. */
const JETSTREAM = "jetstream";
const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));
const SETTLE_MS = 1_000;
const HUB_SIDE_NOTE = "hub-side runs: the same caller on the hub's own client port, no leaf in between, over anonymous TLS with the leaves' certificate and TLS timeout (allow_non_tls keeps the simulated nodes on plain TCP)";

const USAGE = `Usage: node build/bench/run.js [options]

  --rounds N           rounds of A B (peer, gateway) per scenario (default 5); fanin adds a
                       third run per round, its caller on the hub itself (the hub-side baseline),
                       the storms one against a bare Node TLS server (the Node limit)
  --workers N          run the gateway with N worker processes (default 1)
  --only peer|gateway  measure one leaf only (no ratios, no hub-side runs)
  --scenarios a,b      subset of: ${ALL_SCENARIOS.map((s) => s.id).join(", ")}, ${JETSTREAM}
                       (${JETSTREAM}: KV and pull consumers through the gateway vs straight at a
                       JetStream hub, bench/jetstream_bench.ts, run after the others)
  --scale X            multiply message and client counts (default 1)
  --profile            run the gateway with --cpu-prof and --heap-prof; profiles go to bench/results/
  --perf-map           run the gateway with --perf-basic-prof, so perf names its JavaScript frames
                       (bench/perf_samples.sh uses it)
  --out FILE           results JSON (default bench/results/latest.json)
  --gateway-bin FILE   run this launcher instead of bin/aaa-leafnode.js (compare builds)
  --gateway-node-args="A B"  extra node/V8 options for the gateway process (compare settings)
  --pin-leaf CPUS      pin the leaf under test (peer, gateway and its workers, Node limit) to these
                       CPUs (taskset list, e.g. 1 or 2-7)
  --pin-clients CPUS   pin the hub and every client worker process to these CPUs
                       (bench/worker_curve.sh uses both for the worker curve, docs/workers.md)`;

interface Options {
  rounds: number;
  only: "peer" | "gateway" | null;
  scenarios: Scenario[];
  /** Also run the JetStream comparison (bench/jetstream_bench.ts) after the scenarios. */
  jetstream: boolean;
  scale: number;
  profile: boolean;
  perfMap: boolean;
  out: string;
  gatewayBin: string | undefined;
  gatewayNodeArgs: string[];
  workers: number;
  pinLeaf: string | null;
  pinClients: string | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string", default: "5" },
      workers: { type: "string", default: "1" },
      only: { type: "string" },
      scenarios: { type: "string" },
      scale: { type: "string", default: "1" },
      profile: { type: "boolean", default: false },
      "perf-map": { type: "boolean", default: false },
      out: { type: "string" },
      "gateway-bin": { type: "string" },
      "gateway-node-args": { type: "string" },
      "pin-leaf": { type: "string" },
      "pin-clients": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const rounds = Number(values.rounds);
  const scale = Number(values.scale);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds must be an integer 1..50`);
  if (!(scale > 0 && scale <= 10)) throw new Error(`--scale must be in (0, 10]`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`--workers must be an integer 1..64`);
  if (values.only !== undefined && values.only !== "peer" && values.only !== "gateway") throw new Error(`--only must be peer or gateway`);
  let scenarios = [...ALL_SCENARIOS];
  let jetstream = true;
  if (values.scenarios) {
    const ids = values.scenarios.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = ids.filter((id) => id !== JETSTREAM && !ALL_SCENARIOS.some((s) => s.id === id));
    if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
    scenarios = ALL_SCENARIOS.filter((s) => ids.includes(s.id));
    jetstream = ids.includes(JETSTREAM);
  }
  return {
    rounds, scale, scenarios, jetstream, profile: values.profile ?? false, perfMap: values["perf-map"] ?? false,
    only: (values.only as "peer" | "gateway" | undefined) ?? null,
    out: values.out ?? join(RESULTS_DIR, "latest.json"),
    gatewayBin: values["gateway-bin"],
    gatewayNodeArgs: (values["gateway-node-args"] ?? "").split(" ").filter((a) => a !== ""),
    workers,
    pinLeaf: cpuList(values["pin-leaf"], "--pin-leaf"),
    pinClients: cpuList(values["pin-clients"], "--pin-clients"),
  };
}

function cpuList(value: string | undefined, flag: string): string | null {
  if (value === undefined) return null;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) throw new Error(`${flag} must be a CPU list such as 1, 0,2 or 2-7`);
  return value;
}

function machineFacts(): Record<string, unknown> {
  let natsServer = "unknown";
  try {
    natsServer = execFileSync(NATS_SERVER, ["--version"], { encoding: "utf8" }).trim();
  } catch { /* reported as unknown */ }
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    natsServer,
    platform: `${process.platform} ${process.arch}`,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The processes of one benchmark run, and how to put them all away. */
class Bench {
  hub: Hub | null = null;
  peer: LeafServer | null = null;
  gateway: LeafServer | null = null;
  /** The bare Node TLS server (the storms' Node limit), started when a scenario asks for it. */
  node: LeafServer | null = null;
  /** The key of the certificate the leaves present now, and the certificates made so far. */
  private cert: ServerKeyType = "ec-p256";
  private readonly certs = new Map<ServerKeyType, CertFiles>();
  gatewayRestarts = 0;
  readonly notes: string[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "aaa-leaf-bench-"));
  // An ed25519 AAA signer from a random seed (see targets.ts on generateKeyPairSync).
  private readonly signer = signerFromPrivateKey(randomBytes(32).toString("hex"));

  /** The fifo perf_samples.sh listens on (BENCH_PERF_CTL), opened at the first measured phase. */
  private perfCtlFd: number | undefined;

  constructor(private readonly opts: Options) {}

  /** Leaf connections the hub should show: the peer's one and one per gateway worker. */
  get leafLinks(): number {
    return (this.wanted.includes("peer") ? 1 : 0) + (this.wanted.includes("gateway") ? this.opts.workers : 0);
  }

  get wanted(): TargetKind[] {
    return this.opts.only ? [this.opts.only] : ["peer", "gateway"];
  }

  /** The sides of one round of `scenario`: the leaves wanted, then its baseline if it has one. */
  kindsFor(scenario: Scenario): TargetKind[] {
    return scenario.baseline && this.opts.only === null ? [...this.wanted, scenario.baseline] : this.wanted;
  }

  /** The run's PKI with the current server certificate in the place of the leaves' listener certificate. */
  private async leafPki(): Promise<Pki> {
    const pki = await getPki();
    return { ...pki, gateway: this.certs.get(this.cert) ?? pki.gateway };
  }

  /** Pin a leaf-side process tree (--pin-leaf). */
  private pinLeaf(leaf: LeafServer): LeafServer {
    if (this.opts.pinLeaf !== null) pinTree(leaf.pid, this.opts.pinLeaf);
    return leaf;
  }

  /** Restart the leaves (and the Node limit) with a `type` server certificate, unless they have it. */
  async useServerCert(type: ServerKeyType): Promise<void> {
    if (type === this.cert) return;
    const pki = await getPki();
    if (!this.certs.has(type)) this.certs.set(type, await serverCertificate(pki, `server-${type}`, type));
    log(`restarting the leaves with a ${type} server certificate`);
    await Promise.allSettled([this.gateway?.stop(), this.peer?.stop(), this.node?.stop()]);
    this.gateway = this.peer = this.node = null;
    this.cert = type;
    // The hub must have let go of the old links, or the count below would see them.
    await waitFor("the old leaf links to go", async () => Number((await this.hub!.leafz())["leafnodes"] ?? 0) === 0 || undefined, 30_000, 100);
    await this.startLeaves();
  }

  async start(): Promise<void> {
    const pki = await getPki();
    this.hub = await startBenchHub(pki);
    if (this.opts.pinClients !== null) {
      pinTree(this.hub.pid, this.opts.pinClients);
      WorkerPool.cpus = this.opts.pinClients;
    }
    log(`hub nats-server pid ${this.hub.pid}, leafnode port ${this.hub.leafPort} (mTLS), client port ${this.hub.clientPort} (TLS or plain)`);
    await this.startLeaves();
  }

  private async startLeaves(): Promise<void> {
    if (this.wanted.includes("peer")) {
      this.peer = this.pinLeaf(await startPeerLeaf(await this.leafPki(), this.hub!, this.dir));
      log(`peer leaf nats-server pid ${this.peer.pid} at ${this.peer.url}`);
    }
    if (this.wanted.includes("gateway")) await this.startGateway();
    await waitForLeafs(this.hub!, this.leafLinks);
    log(`hub /leafz shows ${this.leafLinks} leaf connection(s)`);
  }

  private async startGateway(): Promise<void> {
    const pki = await this.leafPki();
    let profileDir: string | undefined;
    if (this.opts.profile) {
      profileDir = join(RESULTS_DIR, `profiles-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      mkdirSync(profileDir, { recursive: true });
    }
    this.gateway = this.pinLeaf(await startGateway({ pki, hub: this.hub!, dir: this.dir, signerPublicHex: this.signer.publicHex!, profileDir, perfMap: this.opts.perfMap, bin: this.opts.gatewayBin, nodeArgs: this.opts.gatewayNodeArgs, workers: this.opts.workers }));
    log(`gateway pid ${this.gateway.pid} at ${this.gateway.url}, ${this.opts.workers} worker(s)${profileDir ? ` (profiles to ${profileDir})` : ""}`);
  }

  /** The target for `kind`; restarts the gateway if it died in an earlier run. */
  async target(kind: TargetKind): Promise<Target> {
    if (kind === "hub") return makeTarget({ kind, url: hubCallerUrl(this.hub!), pid: this.hub!.pid });
    if (kind === "node") {
      if (this.node === null || !this.node.alive) {
        this.node = this.pinLeaf(await startNodeLimit((await this.leafPki()).gateway));
        log(`bare Node TLS server (Node limit) pid ${this.node.pid} at ${this.node.url}`);
      }
      return makeTarget({ kind, url: this.node.url, pid: this.node.pid });
    }
    if (kind === "gateway" && this.gateway !== null && !this.gateway.alive) {
      const tail = this.gateway.logs().trim().split("\n").slice(-5).join(" | ");
      this.notes.push(`gateway process died; restarted (log tail: ${tail})`);
      log(`gateway died, restarting. Log tail:\n${this.gateway.logs().slice(-2000)}`);
      this.gatewayRestarts++;
      await this.startGateway();
      await waitForLeafs(this.hub!, this.leafLinks);
    }
    const leaf = kind === "peer" ? this.peer : this.gateway;
    if (leaf === null) throw new Error(`${kind} is not running`);
    return makeTarget({ kind, url: leaf.url, pid: leaf.pid, signer: kind === "gateway" ? this.signer : undefined });
  }

  /**
   * bench/perf_samples.sh with PERF_WINDOW=measured: perf starts with its
   * events off and listens on a fifo; each scenario's measured phase turns
   * them on and off, so the samples are those of the work the figures count.
   */
  private perfControl(command: "enable" | "disable"): void {
    const path = process.env.BENCH_PERF_CTL;
    if (path === undefined || path === "") return;
    this.perfCtlFd ??= openSync(path, "w");
    writeSync(this.perfCtlFd, `${command}\n`);
  }
  async runOnce(scenario: Scenario, kind: TargetKind, round: number): Promise<RunRecord> {
    const record: RunRecord = { scenario: scenario.id, target: kind, round, ok: false, notes: [], metrics: {}, wallMs: 0, windowMs: 0, leafCpuMs: 0, clientCpuMs: 0, hubCpuMs: 0 };
    const pool = new WorkerPool();
    let target: Target | null = null;
    const t0 = performance.now();
    // The measured phase: time, the leaf's CPU (with its workers; none on the hub side), the hub's and the client processes' CPU, at its start and end.
    type Mark = { at: number; leaf: Map<number, number>; hub: number; clients: Map<number, number> };
    let from: Mark | null = null;
    let to: Mark | null = null;
    const mark = (): Mark => ({
      at: performance.now(),
      leaf: target === null || target.kind === "hub" ? new Map() : readTreeCpuMs(target.pid),
      hub: this.hub === null ? 0 : readCpuMs(this.hub.pid),
      clients: new Map(pool.pids().map((p) => [p, readCpuMs(p)])),
    });
    try {
      target = await this.target(kind);
      from = mark();
      const hubUrl = this.hub!.clientUrl;
      const runId = `${scenario.id}${round}${kind[0]}${Date.now().toString(36)}`;
      record.metrics = await withTimeout(scenario.run({
        target, pool, runId, scale: this.opts.scale, readRssKiB: readTreeRssKiB,
        measureStart: () => { from = mark(); this.perfControl("enable"); },
        measureEnd: () => { this.perfControl("disable"); to = mark(); },
        note: (text) => { record.notes.push(text); },
        hubClient: (name) => ({ url: hubUrl, name, inboxPrefix: `bench.hubinbox.${name}` }),
      }), scenario.timeoutMs, `${scenario.id} on ${kind}`);
      record.ok = true;
    } catch (err) {
      record.error = errText(err);
      const leaf = kind === "peer" ? this.peer : kind === "gateway" ? this.gateway : null;
      if (leaf !== null && !leaf.alive) record.error += ` [the ${kind} process exited; log tail: ${leaf.logs().slice(-600).trim()}]`;
    } finally {
      record.wallMs = performance.now() - t0;
      if (from !== null) {
        const end = to ?? mark();
        record.windowMs = end.at - from.at;
        record.leafCpuMs = cpuBetween(from.leaf, end.leaf);
        record.clientCpuMs = cpuBetween(from.clients, end.clients);
        record.hubCpuMs = end.hub - from.hub;
      }
      await pool.stopAll();
    }
    return record;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.gateway?.stop(), this.peer?.stop(), this.node?.stop()]);
    await this.hub?.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function describeRun(r: RunRecord): string {
  if (!r.ok) return `FAILED: ${r.error}`;
  const notes = r.notes.length > 0 ? `\n    note: ${r.notes.join("\n    note: ")}` : "";
  const figures = Object.entries(r.metrics).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join(" ");
  const units = r.metrics["units"] ?? 0;
  const us = (ms: number) => ((ms * 1000) / units).toFixed(1);
  const perUnit = units > 0 ? `, ${us(r.leafCpuMs)} µs leaf / ${us(r.clientCpuMs)} µs clients / ${us(r.hubCpuMs)} µs hub per unit` : "";
  return `${figures} (wall ${(r.wallMs / 1000).toFixed(1)} s; measured ${(r.windowMs / 1000).toFixed(1)} s, leaf CPU ${(r.leafCpuMs / 1000).toFixed(1)} s, client CPU ${(r.clientCpuMs / 1000).toFixed(1)} s, hub CPU ${(r.hubCpuMs / 1000).toFixed(1)} s${perUnit})${notes}`;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.scenarios.length === 0) return runJetStream(opts.rounds);
  const machine = machineFacts();
  log(`machine: ${machine["cpus"]} CPU(s) (${machine["cpuModel"]}), node ${machine["node"]}, ${machine["natsServer"]}`);
  log(`${machine["cpus"]} cores shared by hub, leaf, and 2–3 client worker processes per scenario: figures are relative, compare the ratios`);
  const bench = new Bench(opts);
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log("interrupted: stopping everything (Ctrl-C again to force)");
    // The run under way fails at once instead of running to its time limit.
    WorkerPool.killAllSync();
  };
  process.on("SIGINT", onSigint);
  process.on("exit", () => {
    WorkerPool.killAllSync();
    killServersSync();
    if (bench.hub !== null && bench.hub.pid > 0) bench.hub.kill().catch(() => {});
  });

  const runs: RunRecord[] = [];
  const startedAt = new Date().toISOString();
  const startLoad = loadavg();
  log(`load average ${startLoad.map((l) => l.toFixed(2)).join(" ")} (1/5/15 min)`);
  try {
    await bench.start();
    outer: for (const scenario of opts.scenarios) {
      if (scenario.serverCert !== undefined) {
        try {
          await bench.useServerCert(scenario.serverCert);
        } catch (err) {
          log(`${scenario.id} left out: ${errText(err)}`);
          bench.notes.push(`${scenario.id} left out: the leaves did not restart with a ${scenario.serverCert} certificate: ${errText(err)}`);
          continue;
        }
      }
      for (let round = 1; round <= opts.rounds; round++) {
        for (const kind of bench.kindsFor(scenario)) {
          if (interrupted) break outer;
          log(`${scenario.id} round ${round}/${opts.rounds} on ${kind} …`);
          const r = await bench.runOnce(scenario, kind, round);
          runs.push(r);
          log(`  ${describeRun(r)}`);
          await sleep(SETTLE_MS);
        }
      }
    }
  } catch (err) {
    log(`setup failed: ${errText(err)}`);
    bench.notes.push(`setup failed: ${errText(err)}`);
  } finally {
    await bench.stop();
  }

  const rows = summarize(opts.scenarios, runs);
  const failures = runs.filter((r) => !r.ok);
  const report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: { rounds: opts.rounds, workers: opts.workers, loadAverage: loadavg(), only: opts.only, scale: opts.scale, scenarios: opts.scenarios.map((s) => s.id), profile: opts.profile, gatewayBin: opts.gatewayBin ?? null, gatewayNodeArgs: opts.gatewayNodeArgs, pinLeaf: opts.pinLeaf, pinClients: opts.pinClients },
    notes: [
      ...bench.notes,
      "client load runs in separate worker processes on the same cores as the servers",
      ...(opts.scenarios.some((s) => s.baseline === "hub") && opts.only === null ? [HUB_SIDE_NOTE] : []),
    ],
    gatewayRestarts: bench.gatewayRestarts,
    summary: rows,
    runs,
    interrupted,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const ignore = join(RESULTS_DIR, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "# benchmark output, not committed\n*\n");
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + "\n");

  process.stdout.write(`\naaa-leafnode (${opts.workers} worker(s)) vs nats-server leaf — medians (min–max) of ${opts.rounds} round(s), scale ${opts.scale}\n`);
  process.stdout.write(`machine: ${machine["cpus"]} CPU(s), node ${machine["node"]}, ${machine["natsServer"]}; load average at start ${startLoad.map((l) => l.toFixed(1)).join(" ")}, at end ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n\n`);
  process.stdout.write(renderTable(opts.scenarios, rows, failures) + "\n");
  for (const n of bench.notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`\nraw figures: ${opts.out}\n`);
  if (interrupted) return 130;
  return opts.jetstream ? runJetStream(opts.rounds) : 0;
}

/** The JetStream scenario (bench/jetstream_bench.ts) in a process of its own, same rounds. */
function runJetStream(rounds: number): number {
  log(`${JETSTREAM}: KV and pull consumers through the gateway vs straight at the hub …`);
  const script = fileURLToPath(new URL("./jetstream_bench.js", import.meta.url));
  const r = spawnSync(process.execPath, [script, "--rounds", String(rounds)], { stdio: "inherit" });
  return r.status ?? 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    WorkerPool.killAllSync();
    killServersSync();
    process.exit(1);
  },
);
