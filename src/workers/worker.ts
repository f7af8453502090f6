/**
 * One worker of worker mode (docs/workers.md): a whole Gateway in a forked
 * process. Its client listeners are shared through node:cluster (the primary
 * hands it a share of the accepted connections), its upstream link is its
 * own (the hub sees one leafnode per worker and routes between them), and it
 * serves no monitor: the primary asks it for snapshots and prom-client's
 * aggregator reads its registry. It obeys the primary's reload, lame duck and
 * shutdown, and stops by itself if the primary goes away.
 */
import { AggregatorRegistry } from "prom-client";
import type { GatewayConfig } from "../config/types.js";
import { setCidSpace } from "../conn/client_conn.js";
import { setPoolShare } from "../protocol/chunk_pool.js";
import { Gateway, type GatewayOptions } from "../gateway.js";
import type { Logger } from "../obs/log.js";
import { controlGateway } from "./control.js";
import { startHeapHeadroom } from "../heap_headroom.js";
import { snapshotOf } from "./merge.js";
import { isMessage, WORKER_COUNT_ENV, WORKER_INDEX_ENV, type ToPrimary, type ToWorker } from "./messages.js";

/** This process's worker index (1-based), or 0 when it is not a worker. */
export function workerIndex(): number {
  const n = Number(process.env[WORKER_INDEX_ENV] ?? "");
  return Number.isInteger(n) && n > 0 && typeof process.send === "function" ? n : 0;
}

/**
 * A worker's configuration: the monitor belongs to the primary, and each
 * worker has its own server name (`<identity>-w<index>`): the hub drops an
 * older leafnode connection when a new one arrives with the same name, so
 * workers sharing one would take turns evicting each other. The Choria
 * identity stays the configured one, so every worker labels its metrics alike.
 */
export function workerConfig(c: GatewayConfig, index: number): GatewayConfig {
  return { ...c, statsPort: 0, serverName: `${c.serverName}-w${index}`, identity: c.identity ?? c.serverName };
}

function send(m: ToPrimary): void {
  process.send?.(m);
}

export interface WorkerRun {
  configPath: string;
  config: GatewayConfig;
  log: Logger;
  gatewayOptions: GatewayOptions;
}

/** Run this process as worker `workerIndex()`; resolves with its exit code. */
export async function runWorker(o: WorkerRun): Promise<number> {
  const index = workerIndex();
  const count = Math.max(Number(process.env[WORKER_COUNT_ENV] ?? "1"), 1);
  setCidSpace(index, count);
  setPoolShare(count);
  const log = o.log.child({ worker: index });
  let gateway: Gateway;
  try {
    gateway = await Gateway.start(workerConfig(o.config, index), { ...o.gatewayOptions, log });
  } catch (err) {
    log.error("start failed", { error: err });
    return 1;
  }
  startHeapHeadroom({ log });
  // Answers prom-client's metric requests from the primary with this gateway's registry.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([gateway.metricsRegistry!]);

  const control = controlGateway({
    gateway, configPath: o.configPath, log, adjust: (c) => workerConfig(c, index),
  });
  const sources = gateway.metricSources();
  const onMessage = (m: unknown): void => {
    if (!isMessage<ToWorker>(m)) return;
    switch (m.type) {
      case "aaa:reload":
        control.reload();
        return;
      case "aaa:lame-duck":
        control.lameDuck();
        return;
      case "aaa:shutdown":
        control.shutdown(m.reason);
        return;
      case "aaa:snapshot":
        send({ type: "aaa:snapshot", id: m.id, snap: snapshotOf(index, sources, gateway.varz(), m.connz, m.closed) });
        return;
    }
  };
  process.on("message", onMessage);
  // A terminal's Ctrl-C reaches the whole process group; the primary sends shutdown too.
  process.on("SIGINT", () => control.shutdown("SIGINT"));
  process.on("SIGTERM", () => control.shutdown("SIGTERM"));
  // The primary coordinates signals; these must not kill a worker on their own.
  process.on("SIGHUP", () => {});
  process.on("SIGUSR2", () => {});
  process.on("disconnect", () => control.shutdown("primary gone"));
  send({ type: "aaa:started", ports: { clientPort: gateway.clientPort, websocketPort: gateway.websocketPort, loginRelayPort: gateway.loginRelayPort } });
  const code = await control.done;
  process.off("message", onMessage);
  return code;
}
