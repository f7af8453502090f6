/**
 * `aaa-leafnode run --config FILE`: load the configuration, start the gateway,
 * and map signals to the lifecycle: SIGTERM/SIGINT drain and exit 0 within the
 * soft shutdown timeout, SIGUSR2 lame duck, SIGHUP reload (a bad new file is
 * logged and the running configuration kept). With
 * `plugin.choria.network.aaa_leafnode.workers` above 1 this process becomes
 * the primary of worker mode and each worker runs its own gateway
 * (docs/workers.md); standalone runs one process whatever the setting.
 */
import { availableParallelism } from "node:os";
import { loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { Gateway } from "../gateway.js";
import { startHeapHeadroom } from "../heap_headroom.js";
import { rmSync, writeFileSync } from "node:fs";
import { logTarget } from "../config/parts.js";
import { createLogger, LevelControl, sinkFor, type Logger } from "../obs/log.js";
import { AuditFileSink } from "../obs/audit.js";
import { controlGateway } from "../workers/control.js";
import { runPrimary } from "../workers/primary.js";
import { runWorker, workerIndex } from "../workers/worker.js";
import type { CliIo } from "./io.js";
import { flagValue } from "./io.js";

export const runHelp = `Usage: aaa-leafnode run --config FILE [--pid FILE]

Start the gateway with a Choria broker.conf. --pid writes the process id to
FILE while the gateway runs (the primary's in worker mode) and removes it on exit.
Signals: SIGTERM/SIGINT drain and exit, SIGUSR2 lame duck mode, SIGHUP reload.`;

/**
 * How many worker processes to run. Standalone has no hub to route between
 * workers, so it stays on one process: two workers would each hold half the
 * subscriptions and never see each other's messages.
 */
export function workerCount(c: GatewayConfig, log: Logger): number {
  const wanted = c.workers === 0 ? availableParallelism() : (c.workers ?? 1);
  if (wanted > 1 && c.leafRemotes.length === 0) {
    log.warn("standalone mode runs one process: workers reach each other only through a hub, so the workers setting is ignored", { workers: wanted });
    return 1;
  }
  return wanted;
}

/** Node.js lines the gateway may still start on that are past their end of life, with the date. */
const NODE_END_OF_LIFE: Readonly<Record<number, string>> = { 20: "2026-04-30" };

/**
 * A warning when this Node.js line is past its end of life, else undefined.
 * Node 24 is the LTS line the gateway is also tested on, and it is faster
 * here (README, "Performance").
 */
export function nodeEndOfLife(version: string): string | undefined {
  const major = Number(version.split(".")[0]);
  const ended = NODE_END_OF_LIFE[major];
  return ended === undefined ? undefined : `Node.js ${major} is past its end of life (${ended}); run the gateway on Node.js 24 LTS`;
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const path = flagValue(argv, "--config");
  if (!path) {
    io.stderr.write(`run: --config FILE is required\n\n${runHelp}\n`);
    return 2;
  }
  let loaded;
  try {
    loaded = loadConfig(path);
  } catch (err) {
    io.stderr.write(`aaa-leafnode: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const { config, warnings } = loaded;
  const levels = new LevelControl(config.logLevel);
  const log = createLogger(sinkFor(logTarget(config.logFile)), levels, { component: "aaa-leafnode" });
  const auditTarget = logTarget(config.auditFile);
  const auditSink = auditTarget.kind === "file" ? new AuditFileSink(auditTarget.path) : sinkFor(auditTarget);
  const audit = config.auditFile ? createLogger(auditSink, new LevelControl("info"), { log: "audit" }) : undefined;

  if (workerIndex() > 0) return runWorker({ configPath: path, config, log, gatewayOptions: { audit, levels } });
  for (const w of warnings) log.warn(w.message, { file: w.file, line: w.line, key: w.key });
  const eol = nodeEndOfLife(process.versions.node);
  if (eol) log.warn(eol, { node: process.version });
  const workers = workerCount(config, log);
  // The pid file names this process (the primary in worker mode) while it runs.
  const pidFile = flagValue(argv, "--pid");
  const writePid = (): boolean => {
    if (!pidFile) return true;
    try {
      writeFileSync(pidFile, `${process.pid}\n`);
      return true;
    } catch (err) {
      log.error("cannot write the pid file", { file: pidFile, error: err });
      io.stderr.write(`aaa-leafnode: cannot write the pid file ${pidFile}: ${err instanceof Error ? err.message : String(err)}\n`);
      return false;
    }
  };
  try {
    if (workers > 1) return writePid() ? await runPrimary({ configPath: path, config, workers, log, levels }) : 1;
    return await runSingle(path, config, log, audit, levels, io, writePid);
  } finally {
    if (pidFile) rmSync(pidFile, { force: true });
  }
}

/** One process: start the gateway, map signals to it, then (signals handled) write the pid file. */
async function runSingle(
  path: string, config: GatewayConfig, log: Logger, audit: Logger | undefined, levels: LevelControl, io: CliIo, running: () => boolean,
): Promise<number> {
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(config, { log, audit, levels });
  } catch (err) {
    log.error("start failed", { error: err });
    io.stderr.write(`aaa-leafnode: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  startHeapHeadroom({ log });
  const control = controlGateway({ gateway, configPath: path, log });
  process.on("SIGTERM", () => control.shutdown("SIGTERM"));
  process.on("SIGINT", () => control.shutdown("SIGINT"));
  process.on("SIGUSR2", () => control.lameDuck());
  process.on("SIGHUP", () => control.reload());
  if (!running()) {
    control.shutdown("pid file not written");
    await control.done;
    return 1;
  }
  return control.done;
}
