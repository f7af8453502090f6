/**
 * The lifecycle of one running Gateway, whoever asks for it: the signal
 * handlers of a single-process `aaa-leafnode run`, or the primary's commands
 * in a worker (docs/workers.md). shutdown drains and resolves `done` with the
 * exit code (1 when the soft shutdown timeout passes); lameDuck runs the lame
 * duck window once and then shuts down; reload re-reads the configuration
 * file and applies it all or nothing, keeping the running one on any error.
 */
import { loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import type { Gateway } from "../gateway.js";
import type { Logger } from "../obs/log.js";

export interface GatewayControl {
  shutdown(reason: string): void;
  lameDuck(): void;
  reload(): void;
  /** The exit code, once the gateway has stopped. */
  readonly done: Promise<number>;
}

export interface ControlOptions {
  gateway: Gateway;
  configPath: string;
  softShutdownTimeout: number;
  log: Logger;
  /** Adjust a freshly loaded configuration before it is applied (worker mode). */
  adjust?: (c: GatewayConfig) => GatewayConfig;
}

export function controlGateway(o: ControlOptions): GatewayControl {
  const { gateway, log } = o;
  let stopping = false;
  let lameDuck = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const shutdown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal: reason });
    const hardStop = setTimeout(() => {
      log.error("soft shutdown timeout passed, exiting");
      resolveDone(1);
    }, o.softShutdownTimeout + 2000);
    hardStop.unref();
    gateway.stop().then(
      () => {
        clearTimeout(hardStop);
        resolveDone(0);
      },
      (err) => {
        log.error("error during shutdown", { error: err });
        resolveDone(1);
      },
    );
  };

  return {
    done,
    shutdown,
    lameDuck(): void {
      // A repeated request must not cut the running lame duck window short.
      if (lameDuck || stopping) return;
      lameDuck = true;
      gateway.enterLameDuck().then(
        () => shutdown("lame duck complete"),
        (err) => log.error("lame duck failed", { error: err }),
      );
    },
    reload(): void {
      let next;
      try {
        next = loadConfig(o.configPath);
      } catch (err) {
        log.error("reload refused: configuration has errors; keeping the running one", { error: err });
        return;
      }
      for (const w of next.warnings) log.warn(w.message, { file: w.file, line: w.line, key: w.key });
      const config = o.adjust ? o.adjust(next.config) : next.config;
      // The gateway shares its level control with this process's logger: a reload changes both.
      gateway.reload(config).catch((err) => log.error("reload failed; keeping the running configuration", { error: err }));
    },
  };
}
