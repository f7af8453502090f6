/**
 * `aaa-leafnode run --config FILE`: load the configuration, start the gateway,
 * and map signals to the lifecycle: SIGTERM/SIGINT drain and exit 0 within the
 * soft shutdown timeout, SIGUSR2 lame duck, SIGHUP reload (a bad new file is
 * logged and the running configuration kept).
 */
import { loadConfig } from "../config/load.js";
import { Gateway } from "../gateway.js";
import { createLogger, fileSink, LevelControl, stderrSink, type LogSink } from "../obs/log.js";
import { AuditFileSink } from "../obs/audit.js";
import type { CliIo } from "./io.js";
import { flagValue } from "./io.js";

export const runHelp = `Usage: aaa-leafnode run --config FILE

Start the gateway with a Choria broker.conf.
Signals: SIGTERM/SIGINT drain and exit, SIGUSR2 lame duck mode, SIGHUP reload.`;

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
  const sink: LogSink = config.logFile ? fileSink(config.logFile) : stderrSink;
  const log = createLogger(sink, levels, { component: "aaa-leafnode" });
  const audit = config.auditFile ? createLogger(new AuditFileSink(config.auditFile), new LevelControl("info"), { log: "audit" }) : undefined;
  for (const w of warnings) log.warn(w.message, { file: w.file, line: w.line, key: w.key });

  let gateway: Gateway;
  try {
    gateway = await Gateway.start(config, { log, audit, levels });
  } catch (err) {
    log.error("start failed", { error: err });
    io.stderr.write(`aaa-leafnode: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", { signal });
      const hardStop = setTimeout(() => {
        log.error("soft shutdown timeout passed, exiting");
        resolve(1);
      }, config.softShutdownTimeout + 2000);
      hardStop.unref();
      gateway.stop().then(
        () => {
          clearTimeout(hardStop);
          resolve(0);
        },
        (err) => {
          log.error("error during shutdown", { error: err });
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    let lameDuck = false;
    process.on("SIGUSR2", () => {
      // A repeated SIGUSR2 must not cut the running lame duck window short.
      if (lameDuck || stopping) return;
      lameDuck = true;
      gateway.enterLameDuck().then(
        () => shutdown("lame duck complete"),
        (err) => log.error("lame duck failed", { error: err }),
      );
    });
    process.on("SIGHUP", () => {
      let next;
      try {
        next = loadConfig(path);
      } catch (err) {
        log.error("reload refused: configuration has errors; keeping the running one", { error: err });
        return;
      }
      for (const w of next.warnings) log.warn(w.message, { file: w.file, line: w.line, key: w.key });
      // The gateway shares `levels` with this process's logger: a reload changes both.
      gateway.reload(next.config).catch((err) => log.error("reload failed; keeping the running configuration", { error: err }));
    });
  });
}
