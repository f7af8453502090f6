/**
 * Shared set-up for the operator end-to-end tests (signals, reload, metrics,
 * readiness, the announcement config): the gateway runs as a child process
 * (`node bin/aaa-leafnode.js run --config FILE`), exactly as an operator runs
 * it, so signals reach the real signal handlers. Its JSON log on stderr is
 * parsed line by line; the bound ports come from the `aaa-leafnode started`
 * line. Clients are the official NATS client signing the nonce with the
 * caller's key; /metrics is scraped over HTTP and parsed into values. Every
 * child and client is closed after the test, SIGKILL if it is still running.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { NatsConnection, ConnectionOptions } from "@nats-io/transport-node";
import { spawnCli, type CliChild, type CliResult } from "../../src/devkit/cli_process.js";
import type { Pki } from "../helpers/pki.js";
import { natsConnectWithToken } from "../helpers/gateway.js";
import { waitFor } from "../helpers/hub.js";
import type { Ed25519KeyPair } from "../helpers/tokens.js";

export type LogRecord = Record<string, unknown>;

export interface OpsGateway {
  readonly child: CliChild;
  readonly confFile: string;
  readonly clientPort: number;
  /** Undefined when the monitor is off. */
  readonly statsPort: number | undefined;
  /** `tls://127.0.0.1:<client port>`. */
  readonly url: string;
  /** Every JSON line logged so far (non-JSON lines are skipped). */
  logs(): LogRecord[];
  /** Lines whose `msg` is `msg` (or matches it). */
  logged(msg: string | RegExp): LogRecord[];
  /** Wait until at least `count` lines with this `msg` were logged; returns the last one. */
  waitLogged(msg: string | RegExp, count?: number, timeoutMs?: number): Promise<LogRecord>;
  /** Replace the configuration file (takes effect on SIGHUP). */
  writeConf(lines: string[]): void;
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliResult>;
  isRunning(): boolean;
}

export function confText(lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** The lines every test gateway shares: loopback listeners, free ports, the test PKI, monitor on. */
export function baseConf(pki: Pki, signers: string[], extra: string[] = []): string[] {
  return [
    "loglevel = info",
    "plugin.choria.network.listen_address = 127.0.0.1",
    "plugin.choria.network.client_port = 0",
    "plugin.choria.stats_address = 127.0.0.1",
    "plugin.choria.stats_port = -1",
    "plugin.security.provider = file",
    `plugin.security.file.certificate = ${pki.gateway.cert}`,
    `plugin.security.file.key = ${pki.gateway.key}`,
    `plugin.security.file.ca = ${pki.ca}`,
    `plugin.choria.network.client_signer_cert = ${signers.join(",")}`,
    ...extra,
  ];
}

/** The broker.conf lines of one upstream remote named `hub` dialling `hub` with the test PKI's leaf certificate. */
export function hubRemoteLines(pki: Pki, hub: { leafUrl: string }): string[] {
  return [
    "plugin.choria.network.leafnode_remotes = hub",
    `plugin.choria.network.leafnode_remote.hub.url = ${hub.leafUrl}`,
    `plugin.choria.network.leafnode_remote.hub.tls.cert = ${pki.leaf.cert}`,
    `plugin.choria.network.leafnode_remote.hub.tls.key = ${pki.leaf.key}`,
  ];
}

/** A temp folder removed after the test. */
export function opsDir(t: TestContext, prefix = "aaa-ops-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function parseLines(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      // A line still being written; it is complete on the next read.
    }
  }
  return out;
}

/** Start `aaa-leafnode run --config <dir>/broker.conf` (with `env` added to this process's) and wait for its started line. */
export async function spawnGateway(t: TestContext, dir: string, lines: string[], env: Record<string, string> = {}): Promise<OpsGateway> {
  const confFile = join(dir, "broker.conf");
  writeFileSync(confFile, confText(lines));
  const child = spawnCli(["run", "--config", confFile], { timeoutMs: 120_000, env });
  const running = () => child.process.exitCode === null && child.process.signalCode === null;
  t.after(async () => {
    if (running()) child.process.kill("SIGKILL");
    await child.done;
  });
  let exitedEarly = false;
  void child.done.then(() => (exitedEarly = true));
  const logs = () => parseLines(child.stderr());
  const started = await waitFor("the gateway's started line", () => {
    // In worker mode each worker logs its own start (with a `worker` field); the process's line has none.
    const rec = logs().find((r) => r["msg"] === "aaa-leafnode started" && r["worker"] === undefined);
    if (rec) return rec;
    if (exitedEarly) throw new Error(`gateway exited before starting:\n${child.stderr()}`);
    return undefined;
  }, 30_000).catch((err: unknown) => {
    child.process.kill("SIGKILL");
    throw new Error(`${String(err)}\nstderr:\n${child.stderr()}`);
  });
  const clientPort = Number(started["client_port"]);
  const statsPort = started["stats_port"] === undefined ? undefined : Number(started["stats_port"]);
  const matches = (r: LogRecord, msg: string | RegExp) => (typeof msg === "string" ? r["msg"] === msg : msg.test(String(r["msg"])));
  const logged = (msg: string | RegExp) => logs().filter((r) => matches(r, msg));
  return {
    child,
    confFile,
    clientPort,
    statsPort,
    url: `tls://127.0.0.1:${clientPort}`,
    logs,
    logged,
    waitLogged: (msg, count = 1, timeoutMs = 20_000) =>
      waitFor(`log line ${String(msg)} x${count}`, () => {
        const found = logged(msg);
        return found.length >= count ? found[found.length - 1] : undefined;
      }, timeoutMs),
    writeConf: (next) => writeFileSync(confFile, confText(next)),
    signal: (sig) => void child.process.kill(sig),
    exited: child.done,
    isRunning: running,
  };
}

/** Official NATS clients with AAA tokens, all closed after the test. */
export class Clients {
  private readonly all: NatsConnection[] = [];
  constructor(t: TestContext, private readonly pki: Pki) {
    t.after(async () => {
      await Promise.allSettled(this.all.map((nc) => nc.close()));
    });
  }

  async connect(url: string, token: string, key: Ed25519KeyPair, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
    const nc = await natsConnectWithToken(url, this.pki, token, key.seedHex, opts);
    this.all.push(nc);
    return nc;
  }
}

/** GET a monitor path; returns status and body text. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

export async function scrape(port: number): Promise<string> {
  const r = await httpGet(port, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return r.body;
}

/**
 * The value of one Prometheus series in exposition text: the first sample of
 * `name` whose labels include every pair in `labels`; undefined if none.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labelText = "";
    let valueText: string;
    if (rest.startsWith("{")) {
      const end = rest.indexOf("}");
      labelText = rest.slice(1, end);
      valueText = rest.slice(end + 1).trim();
    } else if (rest.startsWith(" ")) {
      valueText = rest.trim();
    } else {
      continue; // a longer name with this prefix
    }
    const have = new Map<string, string>();
    for (const m of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(valueText.split(" ")[0]);
  }
  return undefined;
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
