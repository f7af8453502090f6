/**
 * The servers under test, each in its own process on 127.0.0.1: one hub
 * nats-server with an mTLS leafnode port (the test helper) and a client port
 * offering the leaves' anonymous TLS beside plain TCP, a peer leaf
 * nats-server (anonymous-TLS client port, mTLS leafnode remote to the hub) and
 * the gateway (`node bin/aaa-leafnode.js run --config broker.conf`, same hub,
 * same certificates, an ed25519 AAA signer made for the run). Also reads a
 * process's resident memory and CPU time from /proc, and remembers every
 * process it started so the runner can kill them even on a hard exit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getPki, type CertFiles, type Pki } from "../../test/helpers/pki.js";
import { NATS_SERVER, startHub, waitFor, type Hub } from "../../test/helpers/hub.js";

import { pin } from "./pin.js";

export { getPki, startHub, waitFor, NATS_SERVER };

/**
 * The run's hub. Its client port also offers TLS, with the certificate and
 * timeout of the leaves' client ports, and `allow_non_tls`: the simulated
 * nodes stay on plain TCP as before, while a hub-side caller
 * (`hubCallerUrl`) connects the way the leaf callers do, so a comparison
 * with it is like for like.
 */
export function startBenchHub(pki: Pki): Promise<Hub> {
  return startHub({
    pki,
    extraConfig: `tls {\n  cert_file: "${pki.gateway.cert}"\n  key_file: "${pki.gateway.key}"\n  timeout: ${CLIENT_TLS_TIMEOUT_S}\n}\nallow_non_tls: true`,
  });
}

/** Where a caller sitting on the hub itself connects: its client port, over TLS. */
export function hubCallerUrl(hub: Hub): string {
  return `tls://127.0.0.1:${hub.clientPort}`;
}
export type { Hub, Pki };

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const GATEWAY_BIN = join(REPO_ROOT, "bin", "aaa-leafnode.js");
const BARE_TLS = fileURLToPath(new URL("./bare_tls.js", import.meta.url));

/** A leaf under test (or the bare Node TLS server): where clients connect and which process to watch. */
export interface LeafServer {
  readonly kind: "peer" | "gateway" | "node";
  readonly url: string;
  readonly pid: number;
  readonly alive: boolean;
  /** The tail of its stdout/stderr. */
  logs(): string;
  /** SIGTERM, wait (SIGKILL after `graceMs`). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const started = new Set<ChildProcess>();

/** Kill every server process still running (synchronous: usable in an exit handler). */
export function killServersSync(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Timeouts both leaves get, so a connection storm is judged by throughput, not by a 2 s handshake limit. */
export const CLIENT_TLS_TIMEOUT_S = 10;

function track(child: ChildProcess, maxLog = 20_000): { logs: () => string; exited: Promise<void> } {
  started.add(child);
  let tail = "";
  const onData = (b: Buffer): void => { tail = (tail + b.toString()).slice(-maxLog); };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => { started.delete(child); resolve(); }));
  return { logs: () => tail, exited };
}

function leafServer(kind: LeafServer["kind"], url: string, child: ChildProcess, t: ReturnType<typeof track>): LeafServer {
  return {
    kind,
    url,
    pid: child.pid ?? 0,
    get alive() { return child.exitCode === null && child.signalCode === null; },
    logs: t.logs,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await t.exited;
      clearTimeout(timer);
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The peer: nats-server as a leaf of `hub`, anonymous TLS on its client port. */
export async function startPeerLeaf(pki: Pki, hub: Hub, dir: string): Promise<LeafServer> {
  const conf = join(dir, "peer-leaf.conf");
  writeFileSync(conf, [
    `server_name: "bench-peer-leaf"`,
    `listen: 127.0.0.1:-1`,
    `http: 127.0.0.1:-1`,
    `ports_file_dir: "${dir}"`,
    `tls {\n  cert_file: "${pki.gateway.cert}"\n  key_file: "${pki.gateway.key}"\n  timeout: ${CLIENT_TLS_TIMEOUT_S}\n}`,
    `leafnodes {\n  remotes: [\n    {\n      url: "${hub.leafUrl}"\n      tls {\n        cert_file: "${pki.leaf.cert}"\n        key_file: "${pki.leaf.key}"\n        ca_file: "${pki.ca}"\n      }\n    }\n  ]\n}`,
    "",
  ].join("\n"));
  const child = spawn(NATS_SERVER, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  const t = track(child);
  const pid = child.pid!;
  const file = await waitFor("peer leaf ports file", () => {
    if (child.exitCode !== null) throw new Error(`peer nats-server exited:\n${t.logs()}`);
    return readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
  }, 15_000);
  const ports = await waitFor("peer leaf ports", () => {
    const j = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats?: string[] };
    return j.nats?.[0] ? j : undefined;
  }, 15_000);
  const port = Number(new URL(ports.nats![0]!).port);
  return leafServer("peer", `tls://127.0.0.1:${port}`, child, t);
}

export interface GatewayStart {
  pki: Pki;
  hub: Hub;
  dir: string;
  /** Hex ed25519 public key of the AAA signer. */
  signerPublicHex: string;
  /** Write V8 .cpuprofile files into this folder (written when the gateway exits on SIGTERM). */
  profileDir?: string;
  /** Run node with --perf-basic-prof (/tmp/perf-<pid>.map names JIT frames for `perf`). */
  perfMap?: boolean;
  /** Launcher to run instead of the repository's bin/aaa-leafnode.js (to compare builds). */
  bin?: string;
  /** Extra node/V8 options for the gateway process. */
  nodeArgs?: string[];
  /** Worker processes (plugin.choria.network.aaa_leafnode.workers); 1 = single process. */
  workers?: number;
}

/** The gateway as a child process, with its own broker.conf; resolves once it is ready (upstream connected). */
export async function startGateway(opts: GatewayStart): Promise<LeafServer & { statsUrl: string }> {
  const statsPort = await freePort();
  const conf = join(opts.dir, "broker.conf");
  const N = "plugin.choria.network.";
  writeFileSync(conf, [
    "# aaa-leafnode benchmark configuration (generated)",
    "identity = bench-gateway",
    "loglevel = warn",
    "main_collective = choria",
    `plugin.security.file.certificate = ${opts.pki.gateway.cert}`,
    `plugin.security.file.key = ${opts.pki.gateway.key}`,
    `plugin.security.file.ca = ${opts.pki.ca}`,
    `${N}listen_address = 127.0.0.1`,
    `${N}client_port = 0`,
    `${N}client_signer_cert = ${opts.signerPublicHex}`,
    `${N}tls_timeout = ${CLIENT_TLS_TIMEOUT_S}s`,
    `${N}auth_timeout = ${CLIENT_TLS_TIMEOUT_S}s`,
    `${N}leafnode_remotes = hub`,
    `${N}leafnode_remote.hub.url = ${opts.hub.leafUrl}`,
    "plugin.choria.stats_address = 127.0.0.1",
    `plugin.choria.stats_port = ${statsPort}`,
    `${N}aaa_leafnode.workers = ${opts.workers ?? 1}`,
    "",
  ].join("\n"));
  const nodeArgs = opts.profileDir ? ["--cpu-prof", "--cpu-prof-dir", opts.profileDir, "--heap-prof", "--heap-prof-dir", opts.profileDir] : [];
  if (opts.perfMap) nodeArgs.push("--perf-basic-prof");
  nodeArgs.push(...(opts.nodeArgs ?? []));
  const child = spawn(process.execPath, [...nodeArgs, opts.bin ?? GATEWAY_BIN, "run", "--config", conf], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const t = track(child);
  const statsUrl = `http://127.0.0.1:${statsPort}`;
  const varz = await waitFor("gateway /varz", async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited with code ${child.exitCode}:\n${t.logs()}`);
    return getJson(`${statsUrl}/varz`);
  }, 30_000, 100).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
  const port = Number(varz["client_port"]);
  await waitFor("gateway /readyz", async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited:\n${t.logs()}`);
    const res = await fetch(`${statsUrl}/readyz`);
    return res.ok || undefined;
  }, 30_000, 100);
  return { ...leafServer("gateway", `tls://127.0.0.1:${port}`, child, t), statsUrl };
}

/**
 * The storm's Node limit: bench/proc/bare_tls.ts with `cert` (INFO, TLS,
 * CONNECT, PONG, an echo; no routing, no AAA), in its own process.
 */
export async function startNodeLimit(cert: CertFiles): Promise<LeafServer> {
  const child = spawn(process.execPath, [BARE_TLS, cert.cert, cert.key], { stdio: ["ignore", "pipe", "pipe"] });
  const t = track(child);
  const port = await waitFor("bare Node TLS server", () => {
    if (child.exitCode !== null) throw new Error(`bare Node TLS server exited:\n${t.logs()}`);
    const m = /listening (\d+)/.exec(t.logs());
    return m ? Number(m[1]) : undefined;
  }, 15_000, 50);
  return leafServer("node", `tls://127.0.0.1:${port}`, child, t);
}

/** Pin `pid`, every process below it and all their threads to `cpus` (bench/proc/pin.ts). */
export function pinTree(pid: number, cpus: string): void {
  for (const p of processTree(pid)) pin(p, cpus);
}

/** Wait until the hub's /leafz lists `count` leaf connections. */
export async function waitForLeafs(hub: Hub, count: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${count} leafs on the hub`, async () => {
    const leafz = await hub.leafz();
    return Number(leafz["leafnodes"] ?? 0) >= count || undefined;
  }, timeoutMs, 100);
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks.

/** Resident memory of `pid` in KiB (VmRSS), 0 if it cannot be read. */
export function readRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `pid` and every process below it (worker mode's workers), from /proc. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  try {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      } catch { /* gone meanwhile */ }
    }
  } catch {
    return [pid];
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** CPU ms of `pid` and its descendants, keyed by pid (so a later reading can subtract per process). */
export function readTreeCpuMs(pid: number): Map<number, number> {
  return new Map(processTree(pid).map((p) => [p, readCpuMs(p)]));
}

/** Resident memory of `pid` and its descendants, KiB. */
export function readTreeRssKiB(pid: number): number {
  return processTree(pid).reduce((n, p) => n + readRssKiB(p), 0);
}

/** CPU used between two readings (a process that appeared in between counts from 0). */
export function cpuBetween(from: Map<number, number>, to: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of to) ms += cpu - (from.get(pid) ?? 0);
  return ms;
}

/**
 * CPU time of `pid` in ms, 0 if it cannot be read. /proc/<pid>/stat counts it
 * in 10 ms ticks, which is 5% of a fan-in round's 200 ms; the threads' own run
 * times in /proc/<pid>/task/<tid>/schedstat are in nanoseconds. So this sums
 * those, and takes stat's figure instead when that is larger: a thread that
 * has exited takes its schedstat with it, while stat keeps its time.
 */
export function readCpuMs(pid: number): number {
  const ticks = readStatCpuMs(pid);
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch { /* the thread exited meanwhile */ }
    }
  } catch {
    return ticks;
  }
  return Math.max(ns / 1e6, ticks);
}

/** User + system CPU time of `pid` in ms from /proc/<pid>/stat (whole ticks), 0 if it cannot be read. */
function readStatCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}
