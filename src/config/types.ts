/**
 * The effective configuration. config/load.ts builds it from a Choria
 * broker.conf (key = value) and validates it with zod; defaults live in
 * config/defaults.ts and nowhere else; each part of the gateway gets its
 * options from one function of it in config/parts.ts. All durations are
 * milliseconds, all sizes bytes.
 */

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

export interface LeafRemoteConfig {
  /** Remote name from leafnode_remotes (e.g. "choria"). */
  name: string;
  /** nats://host:port or tls://host:port URLs, tried in order with failover. */
  urls: string[];
  /** Client certificate/key/CA for mTLS; defaults to plugin.security.file.*. */
  tls: { cert?: string; key?: string; ca?: string; verify: boolean; handshakeFirst: boolean };
  /** NATS .creds file (user JWT + seed), from `.credentials` (or the older `.credential`). */
  credentials?: string;
  /** Local account name (informational; we have one account). */
  account: string;
  /**
   * The hub extends its JetStream to this leaf (system account, or a hub with
   * an empty default domain for the account): the JetStream deny is not applied.
   */
  jetStreamExtended?: boolean;
}

export interface LimitsConfig {
  maxConnections: number;          // 0 = unlimited; default 10000
  maxConnectionsPerCaller: number;  // per caller id; 0 = unlimited; default 100
  maxSubscriptions: number;         // per connection; 0 = unlimited; default 1000
  maxPayload: number;               // default 1 MiB
  maxControlLine: number;           // default 4096
  maxConnectLine: number;           // default 32 KiB (CONNECT carries tokens)
  maxPending: number;               // outbound bytes per connection before slow consumer; default 64 MiB
  maxTokenSize: number;             // JWT bytes; default 16 KiB
}

export interface GatewayConfig {
  /** The file it came from (for messages), or "<defaults>". */
  source: string;
  logLevel: "debug" | "info" | "warn" | "error";
  /** A file path, or Choria's special targets "stdout", "stderr", "discard" (default: standard error). */
  logFile?: string;
  auditFile?: string;
  /** Server name in INFO / leaf CONNECT (default: hostname). */
  serverName: string;
  /**
   * Choria's `identity` where serverName differs from it (worker mode names
   * each worker `<identity>-w<n>`): the Choria metrics' `identity` label.
   * Unset: serverName is the identity.
   */
  identity?: string;
  /** Choria's gateway_name: names this node's cluster (monitoring); it forms no super cluster. */
  clusterName?: string;
  mainCollective: string;           // default "choria"

  listenAddress: string;            // plugin.choria.network.listen_address, default "::"
  clientPort: number;               // plugin.choria.network.client_port, default 4222
  /** Server certificate of the anonymous-TLS client listener. */
  clientTls: TlsFiles;
  /** CIDR allow list (empty = everyone). */
  clientHosts: string[];

  /** TLS hardening of every listener and the upstream link (Go names, translated in config/tls_names.ts). */
  tls: {
    cipherSuites: string[];         // empty = Node's defaults
    eccCurves: string[];            // empty = Node's defaults
    minVersion: "1.2" | "1.3";
  };

  websocketPort: number;            // 0 = off
  websocketCompression: boolean;
  websocketAllowedOrigins: string[];
  /** Plain ws:// allowed (local development only). */
  websocketInsecure: boolean;

  tlsTimeout: number;               // default 2000
  authTimeout: number;              // default 2000
  writeDeadline: number;            // default 10000
  pingInterval: number;             // default 120000
  pingMax: number;                  // default 2
  softShutdownTimeout: number;      // default 10000
  lameDuckDuration: number;         // default 30000
  lameDuckGracePeriod: number;      // default 10000
  workers?: number;                 // default 1; 0 = auto (one per available core)

  limits: LimitsConfig;

  /** "aaa" (default) or "development" (must be named explicitly; never in production). */
  authenticator: "aaa" | "development";
  /** AAA signers: file paths (PEM cert / public key) or inline 64-hex ed25519 keys. */
  clientSigners: string[];
  /** Org issuers: name -> hex ed25519 public key. */
  issuers: Record<string, string>;
  clockSkew: number;                // default 5000
  policiesDir: string;              // default <package>/policies

  leafRemotes: LeafRemoteConfig[];
  upstreamBufferBytes: number;      // default 8 MiB
  reconnectBaseDelay: number;       // default 1000
  reconnectMaxDelay: number;        // default 30000
  /** Ready when "all" remotes are connected (default) or when "any" one is. */
  upstreamReadiness: "all" | "any";

  statsAddress: string;             // default 127.0.0.1
  statsPort: number;                // 0 = off

  loginRelay: {
    port: number;                   // 0 = off
    urls: string[];                 // AAA service base URLs
    maxBodyBytes: number;
    timeout: number;
  };
}

/** A warning from loading (unknown key etc.), naming file, line and key. */
export interface ConfigWarning {
  file: string;
  line: number;
  key: string;
  message: string;
  /** Set for a key the table does not know (`check --strict` refuses those). */
  unknownKey?: true;
}
