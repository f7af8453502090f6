/**
 * What each part of the gateway is given, as one pure function of the
 * configuration per part: the composition root (gateway.ts) calls these and
 * nothing else reads GatewayConfig to build a part. A reload computes the same
 * functions for the running and the new configuration and compares them, so
 * "what changed for whom" has one answer. No I/O here: files named by the
 * configuration are read by the parts themselves.
 */
import type { ConnSettings } from "../conn/context.js";
import type { LeafConnOptions } from "../upstream/leaf_conn.js";
import { opensslCiphers, opensslCurves } from "./tls_names.js";
import type { GatewayConfig, LeafRemoteConfig } from "./types.js";

/** Per-connection limits and timers (shared by every client connection, replaced on reload). */
export function connOptions(c: GatewayConfig): ConnSettings {
  return {
    // The client has the TLS handshake and then the CONNECT deadline.
    authTimeout: c.authTimeout + c.tlsTimeout,
    pingInterval: c.pingInterval,
    pingMax: c.pingMax,
    maxSubscriptions: c.limits.maxSubscriptions,
    maxPending: c.limits.maxPending,
    writeDeadline: c.writeDeadline,
    maxPayload: c.limits.maxPayload,
    maxControlLine: c.limits.maxControlLine,
    maxConnectLine: c.limits.maxConnectLine,
  };
}

/** Node's spelling of the TLS hardening keys (OpenSSL names), for every listener and the upstream link. */
export interface TlsPolicy {
  minVersion: "TLSv1.2" | "TLSv1.3";
  ciphers?: string;
  ecdhCurve?: string;
}

export function tlsPolicy(c: GatewayConfig): TlsPolicy {
  const p: TlsPolicy = { minVersion: c.tls.minVersion === "1.3" ? "TLSv1.3" : "TLSv1.2" };
  const ciphers = opensslCiphers(c.tls.cipherSuites);
  const curves = opensslCurves(c.tls.eccCurves);
  if (ciphers !== undefined) p.ciphers = ciphers;
  if (curves !== undefined) p.ecdhCurve = curves;
  return p;
}

/** The server certificate every client-facing listener shows (TLS, WebSocket, login relay), with the TLS policy. */
export interface ServerTls extends TlsPolicy {
  cert: string;
  key: string;
}

export function serverTls(c: GatewayConfig): ServerTls {
  return { cert: c.clientTls.cert, key: c.clientTls.key, ...tlsPolicy(c) };
}

/** Negative ports mean "any free port" (tests), as in nats-server configurations. */
function bindPort(port: number): number {
  return Math.max(port, 0);
}

export interface TlsListenerParts {
  host: string;
  port: number;
  tls: ServerTls;
  tlsTimeout: number;
}

export function tlsListenerOptions(c: GatewayConfig): TlsListenerParts {
  return { host: c.listenAddress, port: bindPort(c.clientPort), tls: serverTls(c), tlsTimeout: c.tlsTimeout };
}

export interface WsParts {
  host: string;
  port: number;
  /** null: plain ws:// (development only). */
  tls: ServerTls | null;
  compression: boolean;
  allowedOrigins: string[];
  handshakeTimeout: number;
  maxFrameBytes: number;
  preLoginMessageBytes: number;
  /** Plain ws:// together with the AAA authenticator: every WebSocket login will be refused. */
  insecureWithAaa: boolean;
}

/** The WebSocket listener, or null when it is off. */
export function wsOptions(c: GatewayConfig): WsParts | null {
  if (c.websocketPort === 0) return null;
  return {
    host: c.listenAddress,
    port: bindPort(c.websocketPort),
    tls: c.websocketInsecure ? null : serverTls(c),
    compression: c.websocketCompression,
    allowedOrigins: c.websocketAllowedOrigins,
    handshakeTimeout: c.tlsTimeout,
    // One message carries at most a CONNECT line or a payload with its control line.
    maxFrameBytes: c.limits.maxPayload + c.limits.maxConnectLine + 4096,
    // Before login, only a CONNECT line (and a PING): what the TLS port lets a client hold.
    preLoginMessageBytes: c.limits.maxConnectLine + 4096,
    insecureWithAaa: c.websocketInsecure && c.authenticator === "aaa",
  };
}

export interface RelayParts {
  listen: { host: string; port: number };
  tls: ServerTls;
  urls: string[];
  maxBodyBytes: number;
  timeout: number;
  /** A client's TLS handshake, as on the client port (tls_timeout). */
  handshakeTimeout: number;
  ca: string | undefined;
}

/** The AAA login relay, or null when it is off. */
export function relayOptions(c: GatewayConfig): RelayParts | null {
  if (c.loginRelay.port === 0) return null;
  return {
    listen: { host: c.listenAddress, port: bindPort(c.loginRelay.port) },
    tls: serverTls(c),
    urls: c.loginRelay.urls,
    maxBodyBytes: c.loginRelay.maxBodyBytes,
    timeout: c.loginRelay.timeout,
    handshakeTimeout: c.tlsTimeout,
    ca: c.clientTls.ca,
  };
}

export interface MetricsParts {
  /** The `identity` label of the Choria metrics. */
  identity: string;
}

/** Choria labels its broker metrics with the configured `identity` (the host name when none is set, the loader's default). */
export function metricsOptions(c: GatewayConfig): MetricsParts {
  return { identity: c.identity ?? c.serverName };
}

/** The monitoring HTTP server, or null when it is off. */
export function monitorOptions(c: GatewayConfig): { host: string; port: number } | null {
  if (c.statsPort === 0) return null;
  return { host: c.statsAddress, port: bindPort(c.statsPort) };
}

export type UpstreamParts = Omit<LeafConnOptions, "log" | "local" | "onStateChange" | "version" | "timeouts">;

/** The upstream leafnode link to one remote (one per remote in leafnode_remotes). */
export function upstreamOptions(c: GatewayConfig, remote: LeafRemoteConfig): UpstreamParts {
  return {
    remote,
    serverName: c.serverName,
    bufferBytes: c.upstreamBufferBytes,
    reconnectBaseDelay: c.reconnectBaseDelay,
    reconnectMaxDelay: c.reconnectMaxDelay,
    pingInterval: c.pingInterval,
    pingMax: c.pingMax,
    tlsPolicy: tlsPolicy(c),
  };
}

export type AuthParts =
  | { kind: "development"; collective: string }
  | {
      kind: "aaa";
      signers: string[];
      issuers: Record<string, string>;
      policiesDir: string;
      collective: string;
      clockSkew: number;
      maxTokenSize: number;
    };

/** What the authenticator is built from (signers, issuers, policies and token limits). */
export function authOptions(c: GatewayConfig): AuthParts {
  if (c.authenticator === "development") return { kind: "development", collective: c.mainCollective };
  return {
    kind: "aaa",
    signers: c.clientSigners,
    issuers: c.issuers,
    policiesDir: c.policiesDir,
    collective: c.mainCollective,
    clockSkew: c.clockSkew,
    maxTokenSize: c.limits.maxTokenSize,
  };
}

export type LogTarget = { kind: "stdout" | "stderr" | "discard" } | { kind: "file"; path: string };

/** Where a log goes: Choria's stdout / stderr / discard, a file, or the default. */
export function logTarget(file: string | undefined, fallback: "stdout" | "stderr" = "stderr"): LogTarget {
  if (file === undefined) return { kind: fallback };
  const word = file.toLowerCase();
  if (word === "stdout" || word === "stderr" || word === "discard") return { kind: word };
  return { kind: "file", path: file };
}

/** Deep equality of two option objects (plain data: strings, numbers, booleans, arrays, records). */
export function sameOptions(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
