/**
 * The one table of every broker.conf key the gateway understands: its Choria
 * name, the GatewayConfig field it feeds, its type, default and meaning, and
 * the keys that are refused because they would break a restriction of the
 * Choria client leafnode (clusters, super clusters, accepting leafnodes or
 * Choria Servers). The loader, `aaa-leafnode check` and docs/configuration.md
 * are all driven by this table, so a key cannot be documented differently from
 * how it is read. Keys we add for settings Choria has no key for live under
 * `plugin.choria.network.aaa_leafnode.`.
 */
import type { z } from "zod";
import { DEFAULTS } from "./defaults.js";
import {
  formatDuration, formatSize, zAuthenticator, zBool, zCidrList, zDuration, zHexKey, zHttpUrlList,
  zCipherSuites, zEccCurves, zInt, zLeafUrlList, zList, zLogFile, zLogLevel, zName, zPath, zPathList, zPort, zReadiness, zSize, zString, zTlsVersion, zWorkers,
} from "./schema.js";

export type KeyType = "string" | "int" | "bool" | "duration" | "size" | "list" | "path";

export type Section =
  | "General" | "Security and authentication" | "Client listeners" | "Limits and timers"
  | "Upstream leafnode connection" | "Monitoring" | "AAA login relay";

/**
 * When a changed value takes effect on SIGHUP: `live` also for connections
 * already open, `new connections` for connections accepted after the reload,
 * `restart` only at the next start (a reload logs the change and keeps the
 * running value).
 */
export type ReloadClass = "live" | "new connections" | "restart";

export interface KeySpec {
  /** Choria key name; `<name>` stands for a remote or issuer name. */
  key: string;
  section: Section;
  reload: ReloadClass;
  type: KeyType;
  /** GatewayConfig field it sets (dotted path; `leafRemotes[]` for per-remote keys), or "" if none. */
  field: string;
  /** Default as documented (computed from DEFAULTS where one exists). */
  default: string;
  meaning: string;
  /** Raw string → typed value, with the range check. */
  schema: z.ZodType<unknown, string>;
  /** A value that is refused, with the restriction it would break. */
  refuseWhen?: { test: (value: unknown) => boolean; value: string; restriction: string };
  /** An older spelling of another key (not printed by describeConfig). */
  aliasOf?: string;
}

export interface RefusedKey {
  /** Exact key, or a prefix ending in `.*`. */
  key: string;
  restriction: string;
}

export interface IgnoredKey {
  key: string;
  reason: string;
}

/** Our own keys, for settings Choria has no key for. */
export const OWN_PREFIX = "plugin.choria.network.aaa_leafnode.";
const N = "plugin.choria.network.";
const A = OWN_PREFIX;
const R = `${N}leafnode_remote.<name>.`;
const D = DEFAULTS;
const dur = formatDuration;
const size = formatSize;
const isFalse = (v: unknown) => v === false;

/**
 * Key names the loader and other modules refer to, spelled here once (the
 * table below uses the same constants).
 */
export const KEY = {
  collectives: "collectives",
  mainCollective: "main_collective",
  brokerNetwork: "plugin.choria.broker_network",
  securityProvider: "plugin.security.provider",
  fileCert: "plugin.security.file.certificate",
  fileKey: "plugin.security.file.key",
  fileCa: "plugin.security.file.ca",
  clientTlsCert: `${A}client_tls.certificate`,
  clientTlsKey: `${A}client_tls.key`,
  clientTlsCa: `${A}client_tls.ca`,
  cipherSuites: "plugin.security.cipher_suites",
  eccCurves: "plugin.security.ecc_curves",
  tlsMinVersion: `${A}tls_min_version`,
  clientSigners: `${N}client_signer_cert`,
  olderSigner: "plugin.choria.security.request_signing_certificate",
  issuerNames: "plugin.security.issuer.names",
  issuerPublic: "plugin.security.issuer.<name>.public",
  leafRemotes: `${N}leafnode_remotes`,
  loginUrls: "plugin.login.aaasvc.login.url",
} as const;

/** The settings of one leafnode remote (`<name>` is its name in `leafnode_remotes`). */
export const REMOTE_KEY = {
  url: `${R}url`,
  tlsCert: `${R}tls.cert`,
  tlsKey: `${R}tls.key`,
  tlsCa: `${R}tls.ca`,
  tlsVerify: `${R}tls.verify`,
  tlsHandshakeFirst: `${R}tls.handshake_first`,
  credentials: `${R}credentials`,
  credential: `${R}credential`,
  account: `${R}account`,
  jetStreamExtended: `${R}jetstream_extended`,
} as const;

const NO_SERVERS = "no Choria Server connects here: server tokens and provisioning are always denied";

export const KEYS: readonly KeySpec[] = [
  // General
  { key: "loglevel", section: "General", reload: "live", type: "string", field: "logLevel", default: D.logLevel, schema: zLogLevel,
    meaning: "Log level: debug, info, warn, error (Choria's `fatal` means error, `warning` means warn)." },
  { key: "logfile", section: "General", reload: "restart", type: "path", field: "logFile", default: "— (standard error)", schema: zLogFile,
    meaning: "Write the JSON log to this file instead of standard error. As in Choria, `stdout`, `stderr` and `discard` (any case) are not file names: they log to standard output, standard error, or nowhere." },
  { key: "identity", section: "General", reload: "restart", type: "string", field: "serverName", default: "host name", schema: zString,
    meaning: "Server name sent in INFO to clients and in the leafnode CONNECT to the hub, and the `identity` label of the Choria metrics (as a Choria broker labels them)." },
  { key: `${N}gateway_name`, section: "General", reload: "restart", type: "string", field: "clusterName", default: "—", schema: zName,
    meaning: "Choria's cluster name (Choria advises leafnode brokers to set it). It names this node's cluster in /varz; on its own it forms no super cluster: `gateway_port` and `gateway_remotes` stay refused." },
  { key: KEY.mainCollective, section: "General", reload: "restart", type: "string", field: "mainCollective", default: `first of \`collectives\`, else ${D.mainCollective}`, schema: zString,
    meaning: "Collective whose `<collective>.reply.<hash>.>` namespace holds each caller's private replies." },
  { key: KEY.collectives, section: "General", reload: "restart", type: "list", field: "", default: "—", schema: zList,
    meaning: "Choria's collective list; only its first entry is used, as the default of `main_collective`." },
  { key: "plugin.choria.broker_federation", section: "General", reload: "restart", type: "bool", field: "", default: "false", schema: zBool,
    refuseWhen: { test: (v) => v === true, value: "true", restriction: "a Federation Broker relays requests and replies between collectives over server connections, outside each caller's AAA permissions and private reply namespace, and this gateway admits no Choria Server" },
    meaning: "Choria's Federation Broker switch; `true` is refused." },
  { key: "plugin.choria.adapters", section: "General", reload: "restart", type: "list", field: "", default: "—", schema: zList,
    refuseWhen: { test: (v) => Array.isArray(v) && v.length > 0, value: "any adapter", restriction: "Data Adapters subscribe to the fleet's traffic (registration, replies) and republish it, which would show one caller's data to others and needs server connections this gateway denies" },
    meaning: "Choria's Data Adapters; any adapter is refused." },
  { key: KEY.brokerNetwork, section: "General", reload: "restart", type: "bool", field: "", default: "true", schema: zBool,
    meaning: "Choria's switch for the network broker. The gateway is always a broker; `false` gives a warning." },

  // Security and authentication
  { key: KEY.securityProvider, section: "Security and authentication", reload: "restart", type: "string", field: "", default: "file", schema: zString,
    meaning: "Choria security provider. Only `file` is meaningful here; any other value gives a warning." },
  { key: KEY.fileCert, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.cert", default: "— (required)", schema: zPath,
    meaning: "PEM certificate shown to clients, and the default client certificate of the upstream mTLS link." },
  { key: KEY.fileKey, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.key", default: "— (required)", schema: zPath,
    meaning: "PEM private key of `plugin.security.file.certificate`." },
  { key: KEY.fileCa, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.ca", default: "—", schema: zPath,
    meaning: "PEM CA bundle: sent as the listener's chain and used to verify the hub (unless the remote has its own `tls.ca`)." },
  { key: KEY.clientTlsCert, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.cert", default: "plugin.security.file.certificate", schema: zPath,
    meaning: "A separate certificate for the client listeners (TLS and WebSocket), e.g. a public CA certificate; the upstream link keeps `plugin.security.file.*`." },
  { key: KEY.clientTlsKey, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.key", default: "plugin.security.file.key", schema: zPath,
    meaning: "Private key of `client_tls.certificate`; both must be set together." },
  { key: KEY.clientTlsCa, section: "Security and authentication", reload: "new connections", type: "path", field: "clientTls.ca", default: "—", schema: zPath,
    meaning: "Chain sent with `client_tls.certificate`." },
  { key: KEY.cipherSuites, section: "Security and authentication", reload: "new connections", type: "list", field: "tls.cipherSuites", default: "— (Node's defaults)", schema: zCipherSuites,
    meaning: "Comma list of allowed TLS 1.2 cipher suites in Go's spelling (e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`), translated to OpenSSL's (`ECDHE-ECDSA-AES128-GCM-SHA256`); Go's insecure suites are refused. Applies to the client, WebSocket and login relay listeners and to the upstream link (which takes a change at restart). As in Go, TLS 1.3 suites are always offered while TLS 1.3 is allowed." },
  { key: KEY.eccCurves, section: "Security and authentication", reload: "new connections", type: "list", field: "tls.eccCurves", default: "— (Node's defaults)", schema: zEccCurves,
    meaning: "Comma list of allowed key exchange curves in Go's spelling: `X25519`, `CurveP256`, `CurveP384`, `CurveP521` (OpenSSL's X25519, P-256, P-384, P-521). Applies where `cipher_suites` does." },
  { key: KEY.tlsMinVersion, section: "Security and authentication", reload: "new connections", type: "string", field: "tls.minVersion", default: D.tlsMinVersion, schema: zTlsVersion,
    meaning: "Lowest TLS version accepted by every listener and used to the hub: `1.2` or `1.3`." },
  { key: `${N}client_anon_tls`, section: "Security and authentication", reload: "restart", type: "bool", field: "", default: "true", schema: zBool,
    refuseWhen: { test: isFalse, value: "false", restriction: "clients have no certificates: anonymous TLS with an AAA JWT is the only client mode" },
    meaning: "Choria's (historical) switch for anonymous-TLS clients with AAA JWTs. Always on here; `false` is refused." },
  { key: KEY.clientSigners, section: "Security and authentication", reload: "live", type: "list", field: "clientSigners", default: "—", schema: zPathList,
    meaning: "Comma list of AAA token signers: 64-hex ed25519 public keys, or paths to PEM certificates / public keys (RSA or ed25519)." },
  { key: KEY.olderSigner, section: "Security and authentication", reload: "live", type: "path", field: "clientSigners", default: "—", schema: zPath,
    aliasOf: KEY.clientSigners,
    meaning: "Older Choria key for one AAA signer certificate; added to `client_signer_cert`." },
  { key: KEY.issuerNames, section: "Security and authentication", reload: "live", type: "list", field: "issuers", default: "—", schema: zList,
    meaning: "Comma list of org issuer names (Choria org-issuer chains). Mutually exclusive with `client_signer_cert`." },
  { key: KEY.issuerPublic, section: "Security and authentication", reload: "live", type: "string", field: "issuers", default: "—", schema: zHexKey,
    meaning: "Hex ed25519 public key of the issuer `<name>`." },
  { key: `${A}authenticator`, section: "Security and authentication", reload: "live", type: "string", field: "authenticator", default: D.authenticator, schema: zAuthenticator,
    meaning: "`aaa` verifies AAA JWTs; `development` admits demo tokens and must never be used in production." },
  { key: `${A}clock_skew`, section: "Security and authentication", reload: "live", type: "duration", field: "clockSkew", default: dur(D.clockSkew), schema: zDuration(0, 3_600_000),
    meaning: "Tolerated clock difference when checking token expiry and not-before." },
  { key: `${A}policies_dir`, section: "Security and authentication", reload: "live", type: "path", field: "policiesDir", default: "the package's `policies/`", schema: zPath,
    meaning: "Folder of permission policies applied on top of the token's claims." },
  { key: `${A}audit_logfile`, section: "Security and authentication", reload: "restart", type: "path", field: "auditFile", default: "— (main log)", schema: zLogFile,
    meaning: "Write the audit log (every authentication outcome) to this file; `stdout`, `stderr` and `discard` as for `logfile`." },
  { key: `${N}deny_server_connections`, section: "Security and authentication", reload: "restart", type: "bool", field: "", default: "true", schema: zBool,
    refuseWhen: { test: isFalse, value: "false", restriction: NO_SERVERS },
    meaning: "Choria Servers are always denied; `false` is refused." },
  { key: `${N}client_hosts`, section: "Security and authentication", reload: "new connections", type: "list", field: "clientHosts", default: "— (everyone)", schema: zCidrList,
    meaning: "Comma list of IP addresses / CIDR blocks clients may connect from, on every listener (TLS and WebSocket)." },

  // Client listeners
  { key: `${N}listen_address`, section: "Client listeners", reload: "restart", type: "string", field: "listenAddress", default: D.listenAddress, schema: zString,
    meaning: "Bind address of the client, WebSocket and login relay listeners." },
  { key: `${N}client_port`, section: "Client listeners", reload: "restart", type: "int", field: "clientPort", default: String(D.clientPort), schema: zPort,
    meaning: "NATS client port (anonymous TLS). 0 picks a free port (tests)." },
  { key: `${N}websocket_port`, section: "Client listeners", reload: "restart", type: "int", field: "websocketPort", default: `${D.websocketPort} (off)`, schema: zPort,
    meaning: "NATS-over-WebSocket port (TLS with the client certificate)." },
  { key: `${A}websocket_compression`, section: "Client listeners", reload: "restart", type: "bool", field: "websocketCompression", default: String(D.websocketCompression), schema: zBool,
    meaning: "Offer permessage-deflate on WebSocket connections." },
  { key: `${A}websocket_allowed_origins`, section: "Client listeners", reload: "restart", type: "list", field: "websocketAllowedOrigins", default: "— (any origin)", schema: zList,
    meaning: "Comma list of Origin values browsers may connect from." },
  { key: `${A}websocket_insecure`, section: "Client listeners", reload: "restart", type: "bool", field: "websocketInsecure", default: String(D.websocketInsecure), schema: zBool,
    meaning: "Plain ws:// without TLS, for local development only." },
  { key: `${N}tls_timeout`, section: "Client listeners", reload: "restart", type: "duration", field: "tlsTimeout", default: dur(D.tlsTimeout), schema: zDuration(1, 60_000),
    meaning: "TLS handshake timeout (at most 60s) on the client, WebSocket and login relay listeners; also how long a login relay connection may stay idle before its first request, and (× 5) how long a client socket may wait for a handshake slot (docs/isolation.md#before-login)." },
  { key: `${N}auth_timeout`, section: "Client listeners", reload: "new connections", type: "duration", field: "authTimeout", default: dur(D.authTimeout), schema: zDuration(1, 60_000),
    meaning: "Time a client has to send CONNECT after INFO (at most 60s)." },

  // Limits and timers
  { key: `${N}write_deadline`, section: "Limits and timers", reload: "new connections", type: "duration", field: "writeDeadline", default: dur(D.writeDeadline), schema: zDuration(1),
    meaning: "A client that cannot take writes for this long is a slow consumer and is closed." },
  { key: `${A}max_connections`, section: "Limits and timers", reload: "new connections", type: "int", field: "limits.maxConnections", default: String(D.limits.maxConnections), schema: zInt(0),
    meaning: "Most client connections at once (0 = unlimited)." },
  { key: `${A}max_connections_per_caller`, section: "Limits and timers", reload: "new connections", type: "int", field: "limits.maxConnectionsPerCaller", default: String(D.limits.maxConnectionsPerCaller), schema: zInt(0),
    meaning: "Most client connections one caller id may hold at once (0 = unlimited); more are refused with 'maximum account active connections exceeded'." },
  { key: `${A}max_subscriptions`, section: "Limits and timers", reload: "live", type: "int", field: "limits.maxSubscriptions", default: String(D.limits.maxSubscriptions), schema: zInt(0),
    meaning: "Most subscriptions per connection (0 = unlimited)." },
  { key: `${A}max_payload`, section: "Limits and timers", reload: "restart", type: "size", field: "limits.maxPayload", default: size(D.limits.maxPayload), schema: zSize(1, 64 * 1024 * 1024),
    meaning: "Largest message payload (at most 64MiB)." },
  { key: `${A}max_control_line`, section: "Limits and timers", reload: "new connections", type: "size", field: "limits.maxControlLine", default: size(D.limits.maxControlLine), schema: zSize(256, 1024 * 1024),
    meaning: "Longest protocol line other than CONNECT." },
  { key: `${A}max_connect_line`, section: "Limits and timers", reload: "restart", type: "size", field: "limits.maxConnectLine", default: size(D.limits.maxConnectLine), schema: zSize(256, 1024 * 1024),
    meaning: "Longest CONNECT line (it carries the JWT)." },
  { key: `${A}max_pending`, section: "Limits and timers", reload: "new connections", type: "size", field: "limits.maxPending", default: size(D.limits.maxPending), schema: zSize(1),
    meaning: "Outbound bytes queued for one client before it is closed as a slow consumer." },
  { key: `${A}max_token_size`, section: "Limits and timers", reload: "live", type: "size", field: "limits.maxTokenSize", default: size(D.limits.maxTokenSize), schema: zSize(256, 1024 * 1024),
    meaning: "Largest AAA JWT accepted." },
  { key: `${A}ping_interval`, section: "Limits and timers", reload: "new connections", type: "duration", field: "pingInterval", default: dur(D.pingInterval), schema: zDuration(1000),
    meaning: "Interval of server PINGs to idle clients." },
  { key: `${A}ping_max`, section: "Limits and timers", reload: "live", type: "int", field: "pingMax", default: String(D.pingMax), schema: zInt(1, 100),
    meaning: "Unanswered PINGs before a client is closed as stale." },
  { key: `${N}soft_shutdown_timeout`, section: "Limits and timers", reload: "live", type: "duration", field: "softShutdownTimeout", default: dur(D.softShutdownTimeout), schema: zDuration(0),
    meaning: "On SIGTERM, time given to clients to drain before they are closed and the process exits (Choria's broker key; plain seconds as in Choria, or a duration)." },
  { key: "soft_shutdown_timeout", section: "Limits and timers", reload: "live", type: "duration", field: "softShutdownTimeout", default: dur(D.softShutdownTimeout), schema: zDuration(0),
    aliasOf: `${N}soft_shutdown_timeout`,
    meaning: "Choria's process-wide shutdown time; used when `plugin.choria.network.soft_shutdown_timeout` is not set." },
  { key: `${A}soft_shutdown_timeout`, section: "Limits and timers", reload: "live", type: "duration", field: "softShutdownTimeout", default: dur(D.softShutdownTimeout), schema: zDuration(0),
    aliasOf: `${N}soft_shutdown_timeout`,
    meaning: "Older spelling of `plugin.choria.network.soft_shutdown_timeout`." },
  { key: `${A}lame_duck_duration`, section: "Limits and timers", reload: "live", type: "duration", field: "lameDuckDuration", default: dur(D.lameDuckDuration), schema: zDuration(1000),
    meaning: "On SIGUSR2, time over which clients are closed (they reconnect to other gateways)." },
  { key: `${A}lame_duck_grace_period`, section: "Limits and timers", reload: "live", type: "duration", field: "lameDuckGracePeriod", default: dur(D.lameDuckGracePeriod), schema: zDuration(0),
    meaning: "Wait before lame duck mode starts closing clients; shorter than the duration." },
  { key: `${A}workers`, section: "Limits and timers", reload: "restart", type: "int", field: "workers", default: String(D.workers), schema: zWorkers,
    meaning: "Worker processes sharing the client listeners, each with its own hub link (`auto`: one per core; standalone runs one). See docs/workers.md." },

  // Upstream leafnode connection
  { key: KEY.leafRemotes, section: "Upstream leafnode connection", reload: "restart", type: "list", field: "leafRemotes", default: "— (standalone)", schema: zList,
    meaning: "Comma list of remote names; each needs `leafnode_remote.<name>.url`. None: the gateway runs standalone." },
  { key: REMOTE_KEY.url, section: "Upstream leafnode connection", reload: "restart", type: "list", field: "leafRemotes[].urls", default: "— (required)", schema: zLeafUrlList,
    meaning: "Comma list of hub URLs, `host:port`, `nats://host:port` or `tls://host:port` (port 7422 when left out), tried in order." },
  { key: REMOTE_KEY.tlsCert, section: "Upstream leafnode connection", reload: "restart", type: "path", field: "leafRemotes[].tls.cert", default: "plugin.security.file.certificate", schema: zPath,
    meaning: "Client certificate for the mTLS link to this remote." },
  { key: REMOTE_KEY.tlsKey, section: "Upstream leafnode connection", reload: "restart", type: "path", field: "leafRemotes[].tls.key", default: "plugin.security.file.key", schema: zPath,
    meaning: "Private key of `tls.cert`." },
  { key: REMOTE_KEY.tlsCa, section: "Upstream leafnode connection", reload: "restart", type: "path", field: "leafRemotes[].tls.ca", default: "plugin.security.file.ca", schema: zPath,
    meaning: "CA bundle that verifies the hub's certificate." },
  { key: REMOTE_KEY.tlsVerify, section: "Upstream leafnode connection", reload: "restart", type: "bool", field: "leafRemotes[].tls.verify", default: String(D.remote.tlsVerify), schema: zBool,
    meaning: "Verify the hub's certificate (`false` only for testing)." },
  { key: REMOTE_KEY.tlsHandshakeFirst, section: "Upstream leafnode connection", reload: "restart", type: "bool", field: "leafRemotes[].tls.handshakeFirst", default: String(D.remote.tlsHandshakeFirst), schema: zBool,
    meaning: "Start TLS before the hub's INFO (hubs configured with `handshake_first`)." },
  { key: `${R}tls.disable`, section: "Upstream leafnode connection", reload: "restart", type: "bool", field: "", default: "false", schema: zBool,
    refuseWhen: { test: (v) => v === true, value: "true", restriction: "the upstream link is always mutual TLS" },
    meaning: "Choria's plain-TCP switch; `true` is refused." },
  { key: REMOTE_KEY.credentials, section: "Upstream leafnode connection", reload: "restart", type: "path", field: "leafRemotes[].credentials", default: "—", schema: zPath,
    meaning: "NATS `.creds` file (user JWT and seed) presented to the hub." },
  { key: REMOTE_KEY.credential, section: "Upstream leafnode connection", reload: "restart", type: "path", field: "leafRemotes[].credentials", default: "—", schema: zPath,
    aliasOf: REMOTE_KEY.credentials, meaning: "Older spelling of `.credentials`." },
  { key: REMOTE_KEY.account, section: "Upstream leafnode connection", reload: "restart", type: "string", field: "leafRemotes[].account", default: D.remote.account, schema: zString,
    meaning: "Local account name (informational: the gateway has one account)." },
  { key: REMOTE_KEY.jetStreamExtended, section: "Upstream leafnode connection", reload: "restart", type: "bool", field: "leafRemotes[].jetStreamExtended", default: String(D.remote.jetStreamExtended), schema: zBool,
    meaning: "The hub extends its JetStream to this leaf (system account, or an empty default domain for the account). When false, `$JS.API.>`, `$KV.>` and `$OBJ.>` are never announced or published to this hub, which would close the link for them (see docs/leafnode.md)." },
  { key: `${A}upstream_readiness`, section: "Upstream leafnode connection", reload: "live", type: "string", field: "upstreamReadiness", default: D.upstreamReadiness, schema: zReadiness,
    meaning: "With several remotes: `all` reports ready on /readyz only while every remote is connected, `any` while at least one is." },
  { key: `${A}upstream_buffer_size`, section: "Upstream leafnode connection", reload: "restart", type: "size", field: "upstreamBufferBytes", default: size(D.upstreamBufferBytes), schema: zSize(1024),
    meaning: "Bytes buffered for one remote while its link is down or slow (each remote has its own buffer of this size)." },
  { key: `${A}reconnect_delay`, section: "Upstream leafnode connection", reload: "restart", type: "duration", field: "reconnectBaseDelay", default: dur(D.reconnectBaseDelay), schema: zDuration(10, 3_600_000),
    meaning: "First delay before reconnecting to the hub (doubles on each failure)." },
  { key: `${A}reconnect_max_delay`, section: "Upstream leafnode connection", reload: "restart", type: "duration", field: "reconnectMaxDelay", default: dur(D.reconnectMaxDelay), schema: zDuration(10, 3_600_000),
    meaning: "Longest delay between reconnect attempts." },

  // Monitoring
  { key: "plugin.choria.stats_address", section: "Monitoring", reload: "restart", type: "string", field: "statsAddress", default: D.statsAddress, schema: zString,
    meaning: "Bind address of the monitoring HTTP server (/metrics, /healthz, /readyz, /connz)." },
  { key: "plugin.choria.stats_port", section: "Monitoring", reload: "restart", type: "int", field: "statsPort", default: `${D.statsPort} (off)`, schema: zPort,
    meaning: "Port of the monitoring HTTP server." },

  // AAA login relay
  { key: KEY.loginUrls, section: "AAA login relay", reload: "restart", type: "list", field: "loginRelay.urls", default: "—", schema: zHttpUrlList,
    meaning: "Comma list of AAA service base URLs the login relay forwards `/choria/v1/login` to (failover in order)." },
  { key: `${A}login_relay_port`, section: "AAA login relay", reload: "restart", type: "int", field: "loginRelay.port", default: `${D.loginRelay.port} (off)`, schema: zPort,
    meaning: "HTTPS port of the login relay (same certificate as the client listeners)." },
  { key: `${A}login_relay_max_body`, section: "AAA login relay", reload: "restart", type: "size", field: "loginRelay.maxBodyBytes", default: size(D.loginRelay.maxBodyBytes), schema: zSize(1, 16 * 1024 * 1024),
    meaning: "Largest login request body relayed." },
  { key: `${A}login_relay_timeout`, section: "AAA login relay", reload: "restart", type: "duration", field: "loginRelay.timeout", default: dur(D.loginRelay.timeout), schema: zDuration(100, 300_000),
    meaning: "Timeout of one relayed login request." },
];

/** Keys refused on sight: they would break a restriction of the client leafnode. */
export const REFUSED: readonly RefusedKey[] = [
  ...["peers", "peer_port", "peer_user", "peer_password"].map((k) => ({
    key: N + k, restriction: "this gateway forms no cluster (no route listener, no peers)" })),
  ...["gateway_port", "gateway_remotes", "gateway_remote.*"].map((k) => ({
    key: N + k, restriction: "this gateway joins no super cluster (no gateway listener or remotes)" })),
  { key: `${N}leafnode_port`, restriction: "this gateway accepts no leafnodes (it is itself a leafnode of the hub)" },
  { key: `${N}server_signer_cert`, restriction: NO_SERVERS },
  { key: `${N}provisioning.*`, restriction: NO_SERVERS },
  { key: "plugin.security.server_anon_tls", restriction: NO_SERVERS },
  { key: `${N}system.*`, restriction: "this gateway has no system account" },
];

/** Choria keys that are understood but have no effect here; each gives a warning with its reason. */
export const IGNORED: readonly IgnoredKey[] = [
  { key: "plugin.security.choria.trusted_signers", reason: "not used: client tokens are verified with plugin.choria.network.client_signer_cert or plugin.security.issuer.*" },
  { key: `${N}public_url`, reason: "the gateway advertises no connect URLs" },
  { key: `${N}websocket_advertise`, reason: "the gateway advertises no connect URLs (there is no cluster to share them with); browsers use the URL they were given" },
  { key: `${N}client_tls_force_required`, reason: "TLS is always required on the client port" },
  { key: `${N}stream.*`, reason: "Choria Streams (JetStream) is not provided by this gateway" },
  { key: `${N}mapping.*`, reason: "subject mappings are not supported" },
  { key: `${N}pprof_port`, reason: "there is no Go profiler in this gateway" },
  { key: "plugin.security.client_anon_tls", reason: "a client-side setting; the broker side is plugin.choria.network.client_anon_tls" },
  { key: "plugin.choria.security.request_signer.*", reason: "a client-side setting (the AAA signing service)" },
  { key: "plugin.nats.*", reason: "a client-side setting (extra NATS credentials)" },
];

function keyPattern(key: string): RegExp {
  const escaped = key.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\\\.\*$/, "\\..+").replace(/<name>/g, "([A-Za-z0-9_-]+)");
  return new RegExp(`^${escaped}$`);
}

const EXACT = new Map(KEYS.filter((s) => !s.key.includes("<name>")).map((s) => [s.key, s]));
const KEYED = KEYS.filter((s) => s.key.includes("<name>")).map((spec) => ({ spec, re: keyPattern(spec.key) }));
const REFUSED_RE = REFUSED.map((r) => ({ r, re: keyPattern(r.key) }));
const IGNORED_RE = IGNORED.map((r) => ({ r, re: keyPattern(r.key) }));

export type KeyLookup =
  | { kind: "known"; spec: KeySpec; name?: string }
  | { kind: "refused"; restriction: string }
  | { kind: "ignored"; reason: string }
  | { kind: "unknown"; suggestion?: string };

/** What a key in broker.conf is; `name` is the remote/issuer name of keyed settings. */
export function lookupKey(key: string): KeyLookup {
  const refused = REFUSED_RE.find((x) => x.re.test(key));
  if (refused) return { kind: "refused", restriction: refused.r.restriction };
  const exact = EXACT.get(key);
  if (exact) return { kind: "known", spec: exact };
  for (const { spec, re } of KEYED) {
    const m = re.exec(key);
    if (m) return { kind: "known", spec, name: m[1] };
  }
  const ignored = IGNORED_RE.find((x) => x.re.test(key));
  if (ignored) return { kind: "ignored", reason: ignored.r.reason };
  const suggestion = suggestKey(key);
  return suggestion === undefined ? { kind: "unknown" } : { kind: "unknown", suggestion };
}

/**
 * The known key an unknown one was most likely meant to be: the nearest key of
 * the table by edit distance (a swap of two neighbouring characters counts
 * once), if it is near enough to be a typo: at most 3 edits and fewer than a
 * quarter of the key's length. A keyed setting is compared with the name the
 * typed key carries (`leafnode_remote.hub.tls.cretificate` → `…hub.tls.cert`).
 */
function suggestKey(key: string): string | undefined {
  const limit = Math.min(3, Math.ceil(key.length / 4) - 1);
  let best: { key: string; d: number } | undefined;
  for (const spec of KEYS) {
    const candidate = spec.key.includes("<name>") ? keyedCandidate(spec.key, key) : spec.key;
    if (candidate === undefined || Math.abs(candidate.length - key.length) > limit) continue;
    const d = editDistance(key, candidate);
    if (d <= limit && (best === undefined || d < best.d)) best = { key: candidate, d };
  }
  return best?.key;
}

/** `prefix.<name>.rest` with the name taken from `typed` where it has the same prefix. */
function keyedCandidate(pattern: string, typed: string): string | undefined {
  const at = pattern.indexOf("<name>");
  const prefix = pattern.slice(0, at);
  if (!typed.startsWith(prefix)) return undefined;
  const name = typed.slice(prefix.length).split(".")[0]!;
  return name === "" ? undefined : pattern.replace("<name>", name);
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** A keyed spec's key for one name (`leafnode_remote.<name>.url` → `leafnode_remote.choria.url`). */
export function keyFor(spec: KeySpec | string, name: string): string {
  return (typeof spec === "string" ? spec : spec.key).replace("<name>", name);
}

/** The spec that sets a field, preferring the primary key over aliases and our overrides. */
export function primarySpecFor(field: string): KeySpec | undefined {
  return KEYS.find((s) => s.field === field && !s.aliasOf);
}

const SECTIONS: readonly Section[] = [
  "General", "Security and authentication", "Client listeners", "Limits and timers",
  "Upstream leafnode connection", "Monitoring", "AAA login relay",
];

const md = (s: string) => s.replace(/\|/g, "\\|");

/** docs/configuration.md, generated from the tables above (a unit test keeps the file in step). */
export function renderConfigurationDoc(): string {
  const out: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/keys.ts by renderConfigurationDoc(); do not edit by hand. -->",
    "",
    "aaa-leafnode reads a Choria `broker.conf`: one `key = value` per line, split at the first `=`,",
    "both sides trimmed; lines starting with `#` and blank lines are ignored. A key given twice",
    "gives a warning and the last value wins. Unknown keys give a warning naming file, line and key,",
    "and the known key it most likely meant when one is a few typing errors away (`did you mean`);",
    "keys that would break a restriction of the client leafnode stop the start with an error.",
    "`aaa-leafnode check --config FILE` validates a file and prints the effective settings;",
    "`check --strict` also fails on unknown keys. Every file the configuration names must exist and",
    "be readable, and each certificate must go with its key (an error names the key's line and the",
    "certificate's); a file reached through two settings of one line is reported once.",
    "",
    "As in Choria, every `*.cfg` or `*.conf` file in a `plugin.d/` folder next to the configuration",
    "file is read after it, in name order, each line `key = value` standing for",
    "`plugin.<file name>.key` (so `plugin.d/choria.cfg` holds `plugin.choria.*` keys); its values",
    "win over the main file's, and problems name the plugin.d file and line. A configuration file",
    "inside the user's home directory has no plugin.d, as in Choria.",
    "",
    "Value types:",
    "",
    "- **bool**: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`.",
    "- **duration**: Go style (`2s`, `500ms`, `1m`, `1m30s`, `1h`) or plain seconds (`2`, `0.5`).",
    "- **size**: plain bytes or `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`; all units are binary",
    "  (1MB = 1MiB = 1048576 bytes, as in nats-server).",
    "- **list**: comma-separated; items are trimmed.",
    "- **path**: relative paths are taken relative to the folder of the configuration file.",
    "",
    `Keys Choria has no equivalent for are under \`${OWN_PREFIX}\`.`,
    "",
    "On SIGHUP the file is read again and applied all or nothing: the new configuration is",
    "checked completely first (every key, the AAA signers or issuers and the policies, every",
    "certificate and key), and if anything is wrong nothing changes and the error is logged.",
    "The column *On reload* says when a changed value takes effect:",
    "",
    "- **live**: at once, also for connections already open (open connections are",
    "  authenticated again against the new signers, issuers and policies; a caller whose token",
    "  or subscriptions are no longer allowed is closed).",
    "- **new connections**: for connections accepted after the reload; open ones keep the",
    "  value they started with.",
    "- **restart**: only at the next start. A reload logs each such change with its key and",
    "  keeps the running value.",
    "",
  ];
  for (const section of SECTIONS) {
    out.push(`## ${section}`, "", "| Key | Type | Default | On reload | Meaning |", "| --- | --- | --- | --- | --- |");
    for (const s of KEYS.filter((k) => k.section === section)) {
      const refuse = s.refuseWhen ? ` **Refused when \`${s.refuseWhen.value}\`:** ${s.refuseWhen.restriction}.` : "";
      out.push(`| \`${s.key}\` | ${s.type} | ${md(s.default)} | ${s.reload} | ${md(s.meaning)}${md(refuse)} |`);
    }
    out.push("");
  }
  out.push(
    "## Refused keys",
    "",
    "These Choria keys stop the start with an error naming file, line, key and restriction",
    "(a key ending in `.*` stands for every key under it).",
    "",
    "| Key | Restriction |",
    "| --- | --- |",
    ...REFUSED.map((r) => `| \`${r.key}\` | ${md(r.restriction)} |`),
    ...KEYS.filter((s) => s.refuseWhen).map((s) => `| \`${s.key} = ${s.refuseWhen!.value}\` | ${md(s.refuseWhen!.restriction)} |`),
    "",
    "## Understood but without effect",
    "",
    "These Choria keys give a warning with the reason and are otherwise ignored.",
    "",
    "| Key | Reason |",
    "| --- | --- |",
    ...IGNORED.map((r) => `| \`${r.key}\` | ${md(r.reason)} |`),
    "",
  );
  return out.join("\n");
}
