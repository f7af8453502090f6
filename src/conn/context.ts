/**
 * What every client connection shares: the router, the authenticator, the
 * settings (replaced as a whole on reload), the server's identity for INFO, the
 * logs, and plain counters that metrics read on scrape (never prom-client calls
 * on the data path).
 */
import type { Authenticator } from "../auth/types.js";
import type { AuditLog } from "../obs/audit.js";
import type { Logger } from "../obs/log.js";
import type { Router } from "../router/router.js";

export interface ConnSettings {
  authTimeout: number;
  pingInterval: number;
  pingMax: number;
  maxSubscriptions: number;
  maxPending: number;
  writeDeadline: number;
  maxPayload: number;
  maxControlLine: number;
  maxConnectLine: number;
}

export interface ServerInfo {
  serverId: string;
  serverName: string;
  /** The NATS server version clients are told (src/nats_version.ts); may change while running. */
  version: string;
  /** The gateway's own package version (INFO `aaa_leafnode_version`). */
  gatewayVersion: string;
  host: string;
  port: number;
}

/** Process-wide counters, summed on scrape with the live connections' own. */
export class ConnCounters {
  totalConnections = 0;
  /** Messages/bytes of connections that already closed (live ones report their own). */
  closedInMsgs = 0;
  closedInBytes = 0;
  closedOutMsgs = 0;
  closedOutBytes = 0;
  slowConsumers = 0;
  rewrittenInboxes = 0;
  lifecycleFiltered = 0;
  readonly closeReasons: Record<string, number> = {};
  readonly authOutcomes: Record<string, number> = {};
  readonly violations: Record<string, number> = { publish: 0, subscribe: 0, reply: 0 };

  bump(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }
}

export interface ConnContext {
  router: Router;
  authenticator: Authenticator;
  settings: ConnSettings;
  server: ServerInfo;
  log: Logger;
  /** The audit trail of connects, refusals, violations and disconnects. */
  audit: AuditLog;
  counters: ConnCounters;
  /** Observe how long one authentication took (histogram), optional. */
  observeAuthSeconds?(seconds: number): void;
  /** Called once when a connection has closed. */
  onClosed(conn: { cid: number }): void;
}
