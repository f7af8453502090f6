/**
 * Every default value of the gateway, in one place. The loader fills a
 * configuration from these, the key table documents them, and the few modules
 * that can also be used without a configuration (the token verifier, the
 * parsers in tests and benches, the WebSocket listener, the upstream dialer)
 * fall back to these same values instead of keeping copies. This module
 * imports nothing of the project, so any layer may read it.
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.js";

const KiB = 1024;
const MiB = 1024 * 1024;

/** Every default of GatewayConfig except the computed ones (server name, policies dir). */
export const DEFAULTS = {
  logLevel: "info",
  mainCollective: "choria",
  listenAddress: "::",
  clientPort: 4222,
  websocketPort: 0,
  websocketCompression: true,
  websocketInsecure: false,
  tlsTimeout: 2000,
  authTimeout: 2000,
  writeDeadline: 10_000,
  pingInterval: 120_000,
  pingMax: 2,
  softShutdownTimeout: 10_000,
  lameDuckDuration: 30_000,
  lameDuckGracePeriod: 10_000,
  /** Worker processes sharing the listeners (0 = one per core). */
  workers: 1,
  limits: {
    maxConnections: 10_000,
    maxConnectionsPerCaller: 100,
    maxSubscriptions: 1000,
    maxPayload: 1 * MiB,
    maxControlLine: 4096,
    maxConnectLine: 32 * KiB,
    maxPending: 64 * MiB,
    maxTokenSize: 16 * KiB,
  },
  authenticator: "aaa",
  clockSkew: 5000,
  /** Verified-token cache entries of the AAA authenticator. */
  tokenCacheSize: 1000,
  tlsMinVersion: "1.2",
  upstreamBufferBytes: 8 * MiB,
  reconnectBaseDelay: 1000,
  reconnectMaxDelay: 30_000,
  upstreamReadiness: "all",
  statsAddress: "127.0.0.1",
  statsPort: 0,
  loginRelay: { port: 0, maxBodyBytes: 64 * KiB, timeout: 10_000 },
  remote: {
    account: "choria",
    tlsVerify: true,
    tlsHandshakeFirst: false,
    jetStreamExtended: false,
    /** Deadlines of one dial to the hub, ms: TCP connect, first INFO, TLS handshake, registration. */
    timeouts: { connect: 5000, info: 5000, handshake: 5000, register: 2000 },
  },
  websocket: {
    /** Outbound bytes above which a WebSocket write reports back-pressure. */
    highWaterMark: 64 * KiB,
    /** ms to wait for the peer's close frame before dropping the socket. */
    closeTimeout: 5000,
  },
} as const;

/** Server name when `identity` is not set. */
export function defaultServerName(): string {
  return hostname();
}

/** The policies/ folder shipped with the package (found by walking up from this module). */
export function defaultPoliciesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "policies"))) return join(dir, "policies");
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError("cannot locate the shipped policies directory", { key: "policies" });
}
