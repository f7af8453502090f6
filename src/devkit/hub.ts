/**
 * A real nats-server hub for demos, end-to-end tests and benchmarks. It
 * listens on 127.0.0.1 with ephemeral ports (`-1`): a client port, a
 * monitoring port, and a leafnode port that by default requires verified
 * client certificates (mTLS). The client and monitoring ports come from the
 * ports file; nats-server 2.9.10 does not write the leafnode port there, so it
 * is read from `/varz` (`leaf.port`). After the first start the config is
 * rewritten with the ports found, so `restart()` comes back on the same ports.
 * Optional operator mode (memory resolver, generated operator/account/user and
 * a .creds file) for JWT-authenticated leafs, and optional JetStream with its
 * store inside the hub's folder. A hub left running when the
 * process exits is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LeafRemoteConfig } from "../config/types.js";
import { DevkitError, DevkitErrorCode } from "./errors.js";
import { loadNatsJwt } from "./nats_client.js";
import type { Pki } from "./pki.js";
import { waitFor } from "./wait.js";

export { waitFor } from "./wait.js";

export const NATS_SERVER = process.env["NATS_SERVER_BIN"] ?? "/usr/sbin/nats-server";

export interface HubOptions {
  pki: Pki;
  /** Folder for the config, ports file and operator files (default: a temp folder removed at exit). */
  dir?: string;
  /** TLS on the leafnode port with `verify: true` (default true). */
  leafTls?: boolean;
  /** Operator/JWT mode with a memory resolver; the user's creds end up in `hub.creds`. */
  operatorMode?: { accountName?: string; userName?: string };
  /** `leafnodes.advertise`: the host:port the hub announces in leafnode_urls (e.g. a test proxy). */
  leafAdvertise?: string;
  /**
   * Enable JetStream (streams, Key-Value, Object Store) with its store in a
   * `jetstream/` folder of the hub's directory (a temp folder by default), so
   * a restarted hub keeps its streams. Optional memory/file limits in bytes
   * and a JetStream domain.
   */
  jetstream?: boolean | { maxMemory?: number; maxFile?: number; domain?: string };
  /** `leafnodes.min_version`: leafs whose CONNECT states an older version are refused. */
  leafMinVersion?: string;
  /** Appended to the generated config. */
  extraConfig?: string;
  /** Deadline for the hub to come up, ms (default 15000). */
  startTimeout?: number;
  /** Join a cluster: its name and the route URLs of members already running (none for the first). */
  cluster?: { name: string; routes: string[] };
}

export interface Hub {
  readonly clientUrl: string;
  /** `tls://127.0.0.1:<port>` (or nats:// without leaf TLS). */
  readonly leafUrl: string;
  readonly monitorUrl: string;
  readonly clientPort: number;
  readonly leafPort: number;
  /** Cluster members only: `nats-route://127.0.0.1:<port>` of this member. */
  readonly routeUrl: string | undefined;
  readonly serverName: string;
  /** Current process id (0 while stopped; changes on restart). */
  readonly pid: number;
  readonly configFile: string;
  /** Operator mode only: a .creds file for a user of the hub account. */
  readonly creds: string | undefined;
  /** The hub account (public key in operator mode, else "$G"). */
  readonly account: string;
  /** SIGTERM and wait for exit (SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a hub crash. */
  kill(): Promise<void>;
  /** Start again on the same ports after stop()/kill(). */
  start(): Promise<void>;
  restart(): Promise<void>;
  varz(): Promise<Record<string, unknown>>;
  leafz(): Promise<Record<string, unknown>>;
  subsz(): Promise<Record<string, unknown>>;
  /** The tail of the server's log output. */
  logs(): string;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

interface Ports {
  client: number;
  leaf: number;
  monitor: number;
  cluster: number;
}

interface AuthSetup {
  block: string;
  creds: string | undefined;
  account: string;
}

async function operatorSetup(dir: string, mode: NonNullable<HubOptions["operatorMode"]>): Promise<AuthSetup> {
  const jwt = await loadNatsJwt();
  const op = jwt.createOperator();
  const acct = jwt.createAccount();
  const user = jwt.createUser();
  const opJwt = await jwt.encodeOperator("devkit-operator", op);
  // Explicit unlimited limits: an account JWT without them allows no connections at all.
  const limits = { conn: -1, leaf: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true };
  const acctJwt = await jwt.encodeAccount(mode.accountName ?? "HUB", acct, { limits }, { signer: op });
  const userJwt = await jwt.encodeUser(mode.userName ?? "leaf", user, acct);
  const creds = join(dir, "user.creds");
  writeFileSync(creds, jwt.fmtCreds(userJwt, user), { mode: 0o600 });
  writeFileSync(join(dir, "operator.jwt"), opJwt);
  const account = acct.getPublicKey();
  const block = `operator: "${join(dir, "operator.jwt")}"\nresolver: MEMORY\nresolver_preload: {\n  ${account}: "${acctJwt}"\n}\n`;
  return { block, creds, account };
}

export async function startHub(opts: HubOptions): Promise<Hub> {
  let dir: string;
  if (opts.dir !== undefined) {
    dir = opts.dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } else {
    const own = mkdtempSync(join(tmpdir(), "aaa-leaf-hub-"));
    process.once("exit", () => rmSync(own, { recursive: true, force: true }));
    dir = own;
  }
  const leafTls = opts.leafTls ?? true;
  const name = `hub-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const auth: AuthSetup = opts.operatorMode ? await operatorSetup(dir, opts.operatorMode) : { block: "", creds: undefined, account: "$G" };
  const leafTlsBlock = leafTls
    ? `  tls {\n    cert_file: "${opts.pki.hub.cert}"\n    key_file: "${opts.pki.hub.key}"\n    ca_file: "${opts.pki.ca}"\n    verify: true\n    timeout: 2\n  }\n`
    : "";
  const advertise =
    (opts.leafAdvertise ? `  advertise: "${opts.leafAdvertise}"\n` : "") +
    (opts.leafMinVersion ? `  min_version: "${opts.leafMinVersion}"\n` : "");
  const configFile = join(dir, "hub.conf");
  const js = opts.jetstream === true ? {} : opts.jetstream || null;
  const jsBlock = js
    ? `jetstream {\n  store_dir: "${join(dir, "jetstream")}"\n  max_memory_store: ${js.maxMemory ?? 256 * 1024 * 1024}\n  max_file_store: ${js.maxFile ?? 1024 * 1024 * 1024}\n${js.domain ? `  domain: "${js.domain}"\n` : ""}}`
    : "";
  const writeConfig = (p: Ports | null): void => {
    writeFileSync(configFile, [
      `server_name: "${name}"`,
      `listen: 127.0.0.1:${p ? p.client : -1}`,
      `http: 127.0.0.1:${p ? p.monitor : -1}`,
      `ports_file_dir: "${dir}"`,
      auth.block,
      jsBlock,
      `leafnodes {\n  listen: 127.0.0.1:${p ? p.leaf : -1}\n${advertise}${leafTlsBlock}}`,
      opts.cluster
        ? `cluster {\n  name: "${opts.cluster.name}"\n  listen: 127.0.0.1:${p ? p.cluster : -1}\n  routes: [${opts.cluster.routes.map((r) => `"${r}"`).join(", ")}]\n}`
        : "",
      opts.extraConfig ?? "",
      "",
    ].join("\n"));
  };
  writeConfig(null);

  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let ports: Ports | null = null;
  let logTail = "";
  const timeout = opts.startTimeout ?? 15000;

  const launch = async (): Promise<void> => {
    const child = spawn(NATS_SERVER, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    proc = child;
    const onLog = (b: Buffer): void => {
      logTail = (logTail + b.toString()).slice(-20000);
    };
    child.stdout!.on("data", onLog);
    child.stderr!.on("data", onLog);
    // A hub must not outlive the process that started it.
    const killAtExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killAtExit);
    let dead = false;
    let spawnError: Error | undefined;
    child.once("error", (err) => {
      spawnError = err;
    });
    exited = new Promise((resolve) => {
      child.once("close", () => {
        dead = true;
        process.removeListener("exit", killAtExit);
        resolve();
      });
    });
    const failIfDead = (): void => {
      if (spawnError) throw new DevkitError(DevkitErrorCode.HubStart, `cannot run ${NATS_SERVER}: ${spawnError.message}`);
      if (dead) throw new DevkitError(DevkitErrorCode.HubStart, `nats-server exited:\n${logTail}`);
    };
    if (ports === null) {
      const pid = child.pid;
      const file = await waitFor("hub ports file", () => {
        failIfDead();
        return readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
      }, timeout);
      const pf = await waitFor("hub ports", () => {
        const j = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats?: string[]; monitoring?: string[] };
        return j.nats?.[0] && j.monitoring?.[0] ? j : undefined;
      }, timeout);
      const client = Number(new URL(pf.nats![0]!).port);
      const monitor = Number(new URL(pf.monitoring![0]!).port);
      const varz = await waitFor("hub /varz", () => getJson(`http://127.0.0.1:${monitor}/varz`), timeout);
      const leaf = Number((varz["leaf"] as { port?: number } | undefined)?.port);
      if (!(leaf > 0)) throw new DevkitError(DevkitErrorCode.HubStart, "hub /varz has no leaf.port");
      const cluster = opts.cluster ? Number((varz["cluster"] as { cluster_port?: number } | undefined)?.cluster_port) : 0;
      if (opts.cluster && !(cluster > 0)) throw new DevkitError(DevkitErrorCode.HubStart, "hub /varz has no cluster.cluster_port");
      ports = { client, leaf, monitor, cluster };
      writeConfig(ports);
    }
    const p = ports;
    await waitFor("hub client port", async () => {
      failIfDead();
      return (await canConnect(p.client)) || undefined;
    }, timeout);
    await waitFor("hub leafnode port", async () => (await canConnect(p.leaf)) || undefined, timeout);
    await waitFor("hub monitor", () => getJson(`http://127.0.0.1:${p.monitor}/varz`), timeout);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc;
    if (child === null) return;
    proc = null;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    await launch();
  } catch (err) {
    await halt("SIGKILL");
    throw err;
  }
  const p = ports!;
  const monitorUrl = `http://127.0.0.1:${p.monitor}`;
  return {
    clientUrl: `nats://127.0.0.1:${p.client}`,
    leafUrl: `${leafTls ? "tls" : "nats"}://127.0.0.1:${p.leaf}`,
    monitorUrl,
    clientPort: p.client,
    leafPort: p.leaf,
    routeUrl: opts.cluster ? `nats-route://127.0.0.1:${p.cluster}` : undefined,
    serverName: name,
    get pid() {
      return (proc as ChildProcess | null)?.pid ?? 0;
    },
    configFile,
    creds: auth.creds,
    account: auth.account,
    stop: () => halt("SIGTERM"),
    kill: () => halt("SIGKILL"),
    start: async () => {
      if (proc !== null) return;
      await launch();
    },
    restart: async () => {
      await halt("SIGTERM");
      await launch();
    },
    varz: () => getJson(`${monitorUrl}/varz`),
    leafz: () => getJson(`${monitorUrl}/leafz?subs=1`),
    subsz: () => getJson(`${monitorUrl}/subsz?subs=1`),
    logs: () => logTail,
  };
}

export interface HubCluster {
  readonly name: string;
  readonly members: readonly Hub[];
  /** Resolves once every member sees every other one as a route. */
  waitMeshed(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A cluster of `size` hubs (3 by default) with routes on ephemeral ports: the
 * first member starts alone, the others are given its route URL and the mesh
 * completes by gossip, as a Choria broker cluster does. Every member has its
 * own client, leafnode and monitor port; the hub options apply to all.
 */
export async function startHubCluster(opts: HubOptions & { size?: number }): Promise<HubCluster> {
  const size = opts.size ?? 3;
  const name = `cluster-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const members: Hub[] = [];
  try {
    const first = await startHub({ ...opts, dir: undefined, cluster: { name, routes: [] } });
    members.push(first);
    for (let i = 1; i < size; i++) members.push(await startHub({ ...opts, dir: undefined, cluster: { name, routes: [first.routeUrl!] } }));
  } catch (err) {
    await Promise.allSettled(members.map((m) => m.stop()));
    throw err;
  }
  const cluster: HubCluster = {
    name,
    members,
    async waitMeshed(timeoutMs = 15000) {
      await waitFor("cluster routes meshed", async () => {
        for (const m of members) {
          if (m.pid === 0) continue;
          const routes = Number((await m.varz())["routes"] ?? 0);
          if (routes < members.filter((o) => o !== m && o.pid !== 0).length) return undefined;
        }
        return true;
      }, timeoutMs);
    },
    stop: async () => {
      await Promise.allSettled(members.map((m) => m.stop()));
    },
  };
  await cluster.waitMeshed(opts.startTimeout ?? 15000);
  return cluster;
}

/** A leafnode remote pointing at this hub with the PKI's leaf client certificate (override any part). */
export function leafRemoteFor(hub: Hub, pki: Pki, overrides: Partial<LeafRemoteConfig> = {}): LeafRemoteConfig {
  return {
    name: "hub",
    urls: [hub.leafUrl],
    tls: { cert: pki.leaf.cert, key: pki.leaf.key, ca: pki.ca, verify: true, handshakeFirst: false },
    account: "$G",
    ...overrides,
  };
}
