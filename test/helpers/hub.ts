/**
 * A real nats-server hub for end-to-end tests. It listens on 127.0.0.1 with
 * ephemeral ports (`-1`), a monitoring port, and a leafnode port that by
 * default requires verified client certificates (mTLS). The client port comes
 * from the ports file; the leafnode port is not in that file (2.9.10), so it is
 * read from `/varz` (`leaf.port`). After the first start the config is
 * rewritten with the ports found, so `restart()` comes back on the same ports,
 * which the reconnect tests need. Optional operator mode (memory resolver,
 * generated operator/account/user, a .creds file) for JWT-authenticated leafs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import type { LeafRemoteConfig } from "../../src/config/types.js";
import type { Pki } from "./pki.js";

export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

export interface HubOptions {
  pki: Pki;
  /** TLS on the leafnode port with `verify: true` (default true). */
  leafTls?: boolean;
  /** Operator/JWT mode with a memory resolver; the user's creds end up in `hub.creds`. */
  operatorMode?: { accountName?: string; userName?: string };
  /** `leafnodes.advertise`: the host:port the hub announces in leafnode_urls (e.g. a test proxy). */
  leafAdvertise?: string;
  /** Appended to the generated config. */
  extraConfig?: string;
  /** Deadline for the hub to come up, ms (default 15000). */
  startTimeout?: number;
}

export interface Hub {
  readonly clientUrl: string;
  /** `tls://127.0.0.1:<port>` (or nats:// without leaf TLS). */
  readonly leafUrl: string;
  readonly monitorUrl: string;
  readonly clientPort: number;
  readonly leafPort: number;
  /** Current process id (changes on restart). */
  readonly pid: number;
  readonly configFile: string;
  /** Operator mode only: a .creds file for a user of the hub account. */
  readonly creds: string | undefined;
  /** The hub account (public key in operator mode). */
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
    await sleep(stepMs);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

interface Ports { client: number; leaf: number; monitor: number }

export async function startHub(opts: HubOptions): Promise<Hub> {
  const dir = mkdtempSync(join(tmpdir(), "aaa-leaf-hub-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const leafTls = opts.leafTls ?? true;
  const name = `hub-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let authBlock = "";
  let creds: string | undefined;
  let account = "$G";
  if (opts.operatorMode) {
    const op = createOperator(), acct = createAccount(), user = createUser();
    const opJwt = await encodeOperator("test-operator", op);
    // Without explicit limits the account JWT allows no connections at all.
    const limits = { conn: -1, leaf: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true };
    const acctJwt = await encodeAccount(opts.operatorMode.accountName ?? "HUB", acct, { limits }, { signer: op });
    const userJwt = await encodeUser(opts.operatorMode.userName ?? "leaf", user, acct);
    creds = join(dir, "user.creds");
    writeFileSync(creds, fmtCreds(userJwt, user));
    writeFileSync(join(dir, "operator.jwt"), opJwt);
    account = acct.getPublicKey();
    authBlock = `operator: "${join(dir, "operator.jwt")}"\nresolver: MEMORY\nresolver_preload: {\n  ${account}: "${acctJwt}"\n}\n`;
  }
  const leafTlsBlock = leafTls
    ? `  tls {\n    cert_file: "${opts.pki.hub.cert}"\n    key_file: "${opts.pki.hub.key}"\n    ca_file: "${opts.pki.ca}"\n    verify: true\n    timeout: 2\n  }\n`
    : "";
  const advertise = opts.leafAdvertise ? `  advertise: "${opts.leafAdvertise}"\n` : "";
  const configFile = join(dir, "hub.conf");
  const writeConfig = (p: Ports | null): void => {
    writeFileSync(configFile, [
      `server_name: "${name}"`,
      `listen: 127.0.0.1:${p ? p.client : -1}`,
      `http: 127.0.0.1:${p ? p.monitor : -1}`,
      `ports_file_dir: "${dir}"`,
      authBlock,
      `leafnodes {\n  listen: 127.0.0.1:${p ? p.leaf : -1}\n${advertise}${leafTlsBlock}}`,
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
    const onLog = (b: Buffer): void => { logTail = (logTail + b.toString()).slice(-20000); };
    child.stdout!.on("data", onLog);
    child.stderr!.on("data", onLog);
    exited = new Promise((resolve) => child.once("exit", () => resolve()));
    let dead = false;
    void exited.then(() => { dead = true; });
    const pid = child.pid!;
    if (ports === null) {
      const file = await waitFor("hub ports file", () => {
        if (dead) throw new Error(`nats-server exited:\n${logTail}`);
        return readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
      }, timeout);
      const pf = await waitFor("hub ports", () => {
        const j = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats?: string[]; monitoring?: string[] };
        return j.nats?.[0] && j.monitoring?.[0] ? j : undefined;
      }, timeout);
      const client = Number(new URL(pf.nats![0]!).port);
      const monitor = Number(new URL(pf.monitoring![0]!).port);
      const varz = await waitFor("hub /varz", () => getJson(`http://127.0.0.1:${monitor}/varz`), timeout);
      const leaf = Number((varz.leaf as { port?: number } | undefined)?.port);
      if (!(leaf > 0)) throw new Error("hub /varz has no leaf.port");
      ports = { client, leaf, monitor };
      writeConfig(ports);
    }
    const p = ports;
    await waitFor("hub client port", async () => (dead ? Promise.reject(new Error(logTail)) : (await canConnect(p.client)) || undefined), timeout);
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
  const hub: Hub = {
    clientUrl: `nats://127.0.0.1:${p.client}`,
    leafUrl: `${leafTls ? "tls" : "nats"}://127.0.0.1:${p.leaf}`,
    monitorUrl,
    clientPort: p.client,
    leafPort: p.leaf,
    get pid() { return (proc as ChildProcess | null)?.pid ?? 0; },
    configFile,
    creds,
    account,
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
  return hub;
}

/** A leafnode remote pointing at this hub with the test PKI's leaf client certificate (override any part). */
export function leafRemoteFor(hub: Hub, pki: Pki, overrides: Partial<LeafRemoteConfig> = {}): LeafRemoteConfig {
  return {
    name: "hub",
    urls: [hub.leafUrl],
    tls: { cert: pki.leaf.cert, key: pki.leaf.key, ca: pki.ca, verify: true, handshakeFirst: false },
    account: "$G",
    ...overrides,
  };
}
