/**
 * Defaults, value types and the validating zod schema of the gateway
 * configuration. Choria's broker.conf is all strings, so every value type here
 * is a zod schema from the raw string to the typed value (booleans the way
 * Choria spells them, Go-style durations, sizes with units, comma lists, CIDRs)
 * that also checks its range; config/keys.ts attaches one to every key, so a
 * bad value is reported against the key and line it came from. The whole
 * GatewayConfig schema at the end re-checks the assembled object and holds the
 * checks that span several keys. Defaults live in config/defaults.ts only.
 */
import { isIP } from "node:net";
import { z } from "zod";
import type { GatewayConfig } from "./types.js";
import { parseRemoteUrl } from "../upstream/remote_urls.js";
import { cipherSuiteProblem, curveProblem } from "./tls_names.js";


const KiB = 1024;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// Value types: raw string → typed value, with the range check attached.

function fail(ctx: { addIssue(i: { code: "custom"; message: string }): void }, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER as never;
}

const BOOL_WORDS: Record<string, boolean> = {
  true: true, yes: true, on: true, "1": true,
  false: false, no: false, off: false, "0": false,
};

/** Choria booleans: true/false, yes/no, on/off, 1/0 (any case). */
export const zBool = z.string().transform((s, ctx) => {
  const v = BOOL_WORDS[s.trim().toLowerCase()];
  return v === undefined ? fail(ctx, `"${s}" is not a boolean (use true/false, yes/no, on/off or 1/0)`) : v;
});

export function parseIntStrict(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s.trim()) ? Number(s.trim()) : undefined;
}

/** A decimal integer within [min, max]. */
export function zInt(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((s, ctx) => {
    const n = parseIntStrict(s);
    if (n === undefined) return fail(ctx, `"${s}" is not an integer`);
    if (n < min || n > max) return fail(ctx, `${n} is out of range (${min}..${max})`);
    return n;
  });
}

/**
 * A TCP port; 0 means "off" (or, for the client port, an ephemeral port), and
 * -1 an ephemeral port chosen by the system, as in nats-server configs (tests).
 */
export const zPort = z.string().transform((s, ctx) => {
  const n = parseIntStrict(s);
  if (n === undefined || n < -1 || n > 65535) return fail(ctx, `"${s}" is not a valid port (-1..65535)`);
  return n;
});

/** Worker process count: `auto` (0: one per available core) or 1..1024. */
export const zWorkers = z.string().transform((s, ctx) => {
  if (s.trim().toLowerCase() === "auto") return 0;
  const n = parseIntStrict(s);
  if (n === undefined || n < 1 || n > 1024) return fail(ctx, `"${s}" is not a worker count (auto or 1..1024)`);
  return n;
});

const DURATION_UNITS_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Go-style duration (`2s`, `500ms`, `1m30s`, `1.5h`) or plain seconds (`2`, `0.5`), in ms. */
export function parseDurationMs(input: string): number | undefined {
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
  return Math.round(total);
}

/** A duration in milliseconds within [minMs, maxMs]. */
export function zDuration(minMs: number, maxMs: number = 7 * 24 * 3_600_000) {
  return z.string().transform((s, ctx) => {
    const ms = parseDurationMs(s);
    if (ms === undefined) return fail(ctx, `"${s}" is not a duration (use e.g. 2s, 500ms, 1m, or plain seconds)`);
    if (ms < minMs || ms > maxMs) return fail(ctx, `${s} is out of range (${formatDuration(minMs)}..${formatDuration(maxMs)})`);
    return ms;
  });
}

// Units are binary, as in nats-server's configuration: 1MB = 1MiB = 1048576 bytes.
const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: KiB, kb: KiB, kib: KiB,
  m: MiB, mb: MiB, mib: MiB,
  g: 1024 * MiB, gb: 1024 * MiB, gib: 1024 * MiB,
};

/** A size in bytes: plain bytes or a number with K/KB/KiB, M/MB/MiB, G/GB/GiB (all binary). */
export function parseSizeBytes(input: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isInteger(n) ? n : Math.round(n);
}

/** A size in bytes within [min, max]. */
export function zSize(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((s, ctx) => {
    const n = parseSizeBytes(s);
    if (n === undefined) return fail(ctx, `"${s}" is not a size (use e.g. 1MB, 64KiB, or plain bytes)`);
    if (n < min || n > max) return fail(ctx, `${s} is out of range (${formatSize(min)}..${formatSize(max)})`);
    return n;
  });
}

/** Comma-separated list, items trimmed, empty items dropped. */
export function splitList(s: string): string[] {
  return s.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
}

export const zString = z.string().transform((s, ctx) => (s.length === 0 ? fail(ctx, "must not be empty") : s));
export const zList = z.string().transform((s) => splitList(s));
/** A file system path (made absolute against the config file's folder by the loader). */
export const zPath = zString;
export const zPathList = z.string().transform((s, ctx) => {
  const items = splitList(s);
  return items.length === 0 ? fail(ctx, "must name at least one entry") : items;
});

const LOG_LEVELS: Record<string, GatewayConfig["logLevel"]> = {
  debug: "debug", info: "info", warn: "warn", warning: "warn", error: "error", fatal: "error",
};
export const zLogLevel = z.string().transform((s, ctx) => {
  const v = LOG_LEVELS[s.toLowerCase()];
  return v ?? fail(ctx, `"${s}" is not a log level (debug, info, warn, error, fatal)`);
});

/** Choria's log targets besides a file; any case, as Choria compares them. */
const LOG_TARGETS = ["stdout", "stderr", "discard"] as const;
export function isLogTarget(s: string): boolean {
  return (LOG_TARGETS as readonly string[]).includes(s.toLowerCase());
}

/** A log file path, or one of Choria's targets stdout, stderr, discard (kept as the lower-case word). */
export const zLogFile = zString.transform((s) => (isLogTarget(s) ? s.toLowerCase() : s));

/** Comma list of Go cipher suite names (Choria's plugin.security.cipher_suites). */
export const zCipherSuites = z.string().transform((s, ctx) => {
  const items = splitList(s);
  const problems = items.map(cipherSuiteProblem).filter((p): p is string => p !== undefined);
  return problems.length > 0 ? fail(ctx, problems.join("; ")) : items;
});

/** Comma list of Go curve names (Choria's plugin.security.ecc_curves). */
export const zEccCurves = z.string().transform((s, ctx) => {
  const items = splitList(s);
  const problems = items.map(curveProblem).filter((p): p is string => p !== undefined);
  return problems.length > 0 ? fail(ctx, problems.join("; ")) : items;
});

/** Lowest TLS version accepted: 1.2 or 1.3 (also spelled TLSv1.2, tls1.3). */
export const zTlsVersion = z.string().transform((s, ctx) => {
  const m = /^(?:tls\s*v?)?1\.([23])$/i.exec(s.trim());
  return m ? (`1.${m[1]}` as "1.2" | "1.3") : fail(ctx, `"${s}" is not a TLS version this gateway offers (1.2 or 1.3)`);
});

/** A cluster name: one subject-safe token. */
export const zName = z.string().transform((s, ctx) =>
  /^[A-Za-z0-9_-]+$/.test(s) ? s : fail(ctx, `"${s}" must be letters, digits, _ and - only`));

export const zAuthenticator = z.string().transform((s, ctx) =>
  s === "aaa" || s === "development" ? s : fail(ctx, `"${s}" is not an authenticator (aaa or development)`));

export const zReadiness = z.string().transform((s, ctx) =>
  s === "all" || s === "any" ? s : fail(ctx, `"${s}" is not a readiness rule (all or any)`));

/** An IPv4/IPv6 address or CIDR block. */
export function isCidr(s: string): boolean {
  const [addr, prefix, extra] = s.split("/");
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export const zCidrList = z.string().transform((s, ctx) => {
  const items = splitList(s);
  const bad = items.filter((x) => !isCidr(x));
  return bad.length > 0 ? fail(ctx, `not an IP address or CIDR block: ${bad.join(", ")}`) : items;
});

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** Inline ed25519 public keys are 64 hex digits; anything else in a signer list is a path. */
export function isHexKey(s: string): boolean {
  return HEX_KEY.test(s);
}
export const zHexKey = z.string().transform((s, ctx) =>
  isHexKey(s) ? s.toLowerCase() : fail(ctx, "must be a 64 hex digit ed25519 public key"));

/**
 * Leafnode remote URLs: `host:port` or `nats|tls|nats-leaf://host:port` (port
 * 7422 when left out), parsed by the upstream's own URL parser so the
 * configuration accepts exactly what the link can dial; normalized to
 * `nats://` or `tls://`. WebSocket upstream links are refused.
 */
export const zLeafUrlList = z.string().transform((s, ctx) => {
  const items = splitList(s);
  if (items.length === 0) return fail(ctx, "must name at least one URL");
  const out: string[] = [];
  for (const item of items) {
    if (/^wss?:\/\//i.test(item)) return fail(ctx, `"${item}": WebSocket upstream links are not supported; use nats:// or tls://`);
    try {
      const u = parseRemoteUrl(item);
      // Choria drops URL user-info; credentials come from the .credentials file.
      out.push(`${u.tlsScheme ? "tls" : "nats"}://${u.label}`);
    } catch (err) {
      return fail(ctx, err instanceof Error ? err.message : String(err));
    }
  }
  return out;
});

/** AAA service base URLs (http or https). */
export const zHttpUrlList = z.string().transform((s, ctx) => {
  const items = splitList(s);
  for (const item of items) {
    let ok = false;
    try {
      const u = new URL(item);
      ok = u.protocol === "https:" || u.protocol === "http:";
    } catch {
      ok = false;
    }
    if (!ok) return fail(ctx, `"${item}" is not an http(s) URL`);
  }
  return items;
});

// ---------------------------------------------------------------------------
// Formatting back to the broker.conf spelling (describeConfig, docs).

export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)}GiB`;
  if (bytes !== 0 && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes !== 0 && bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return String(bytes);
}

// ---------------------------------------------------------------------------
// The assembled configuration.

const port = z.number().int().min(-1).max(65535);
const ms = z.number().int().min(0);
const bytes = z.number().int().min(0);
const tlsFiles = z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).strict();

const leafRemote = z.object({
  name: z.string().min(1),
  urls: z.array(z.string().regex(/^(nats|tls):\/\/.+:\d+$/)).min(1),
  tls: z.object({
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    verify: z.boolean(),
    handshakeFirst: z.boolean(),
  }).strict(),
  credentials: z.string().min(1).optional(),
  account: z.string().min(1),
  jetStreamExtended: z.boolean().optional(),
}).strict();

/** `nats://h:p` → `h:p`, for comparing remote URLs. */
function hostPortOf(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").toLowerCase();
}

const WILDCARD_ADDRESSES = new Set(["", "::", "0.0.0.0", "[::]"]);
function sameListener(a: string, b: string): boolean {
  return a === b || WILDCARD_ADDRESSES.has(a) || WILDCARD_ADDRESSES.has(b);
}

/**
 * The whole GatewayConfig. Checks that span several settings live here so a
 * hand-built config (tests, embedding) gets them too.
 */
export const gatewayConfigSchema = z.object({
  source: z.string(),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  logFile: z.string().min(1).optional(),
  auditFile: z.string().min(1).optional(),
  serverName: z.string().min(1).regex(/^\S+$/, "must not contain white space"),
  identity: z.string().min(1).optional(),
  clusterName: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/, "must be letters, digits, _ and - only").optional(),
  tls: z.object({
    cipherSuites: z.array(z.string().refine((n) => cipherSuiteProblem(n) === undefined, "unknown or insecure cipher suite")),
    eccCurves: z.array(z.string().refine((n) => curveProblem(n) === undefined, "unknown curve")),
    minVersion: z.enum(["1.2", "1.3"]),
  }).strict(),
  mainCollective: z.string().min(1).regex(/^[A-Za-z0-9_-]+$/, "must be a subject token (letters, digits, _ and -)"),
  listenAddress: z.string(),
  clientPort: port,
  clientTls: tlsFiles,
  clientHosts: z.array(z.string().refine(isCidr, "not an IP address or CIDR block")),
  websocketPort: port,
  websocketCompression: z.boolean(),
  websocketAllowedOrigins: z.array(z.string().min(1)),
  websocketInsecure: z.boolean(),
  tlsTimeout: ms.min(1).max(60_000),
  authTimeout: ms.min(1).max(60_000),
  writeDeadline: ms.min(1),
  pingInterval: ms.min(1),
  pingMax: z.number().int().min(1),
  softShutdownTimeout: ms,
  lameDuckDuration: ms.min(1),
  lameDuckGracePeriod: ms,
  workers: z.number().int().min(0).max(1024).optional(),
  limits: z.object({
    maxConnections: z.number().int().min(0),
    maxConnectionsPerCaller: z.number().int().min(0),
    maxSubscriptions: z.number().int().min(0),
    maxPayload: bytes.min(1),
    maxControlLine: bytes.min(256),
    maxConnectLine: bytes.min(256),
    maxPending: bytes.min(1),
    maxTokenSize: bytes.min(256),
  }).strict(),
  authenticator: z.enum(["aaa", "development"]),
  clientSigners: z.array(z.string().min(1)),
  issuers: z.record(z.string(), z.string().regex(HEX_KEY, "must be a 64 hex digit ed25519 public key")),
  clockSkew: ms,
  policiesDir: z.string().min(1),
  leafRemotes: z.array(leafRemote),
  upstreamBufferBytes: bytes.min(1),
  reconnectBaseDelay: ms.min(1),
  reconnectMaxDelay: ms.min(1),
  upstreamReadiness: z.enum(["all", "any"]),
  statsAddress: z.string(),
  statsPort: port,
  loginRelay: z.object({
    port,
    urls: z.array(z.string().min(1)),
    maxBodyBytes: bytes.min(1),
    timeout: ms.min(1),
  }).strict(),
}).strict().superRefine((c, ctx) => {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
  // Listeners on the same address must not share a port.
  const listeners: { path: string[]; port: number; address: string }[] = [
    { path: ["clientPort"], port: c.clientPort, address: c.listenAddress },
    { path: ["websocketPort"], port: c.websocketPort, address: c.listenAddress },
    { path: ["loginRelay", "port"], port: c.loginRelay.port, address: c.listenAddress },
    { path: ["statsPort"], port: c.statsPort, address: c.statsAddress },
  ];
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = listeners[i]!, b = listeners[j]!;
      if (a.port > 0 && a.port === b.port && sameListener(a.address, b.address)) {
        issue(a.path, `port ${a.port} is already used by ${b.path.join(".")}`);
      }
    }
  }
  if (c.lameDuckGracePeriod >= c.lameDuckDuration) {
    issue(["lameDuckGracePeriod"], "the lame duck grace period must be shorter than the lame duck duration");
  }
  if (c.reconnectBaseDelay > c.reconnectMaxDelay) {
    issue(["reconnectBaseDelay"], "the reconnect base delay must not exceed the maximum reconnect delay");
  }
  if (c.limits.maxConnectLine < c.limits.maxControlLine) {
    issue(["limits", "maxConnectLine"], "the CONNECT line limit must not be smaller than the control line limit");
  }
  if (c.limits.maxTokenSize > c.limits.maxConnectLine) {
    issue(["limits", "maxTokenSize"], "a token larger than the CONNECT line limit could never arrive");
  }
  if (c.limits.maxPayload > c.limits.maxPending) {
    issue(["limits", "maxPayload"], "max payload must not exceed the pending bytes limit (one message would make a slow consumer)");
  }
  if (c.loginRelay.port !== 0 && c.loginRelay.urls.length === 0) {
    issue(["loginRelay", "urls"], "the login relay needs AAA login URLs");
  }
  const names = new Set<string>();
  c.leafRemotes.forEach((r, i) => {
    if (names.has(r.name)) issue(["leafRemotes", i, "name"], `remote "${r.name}" is listed twice`);
    names.add(r.name);
    // Two remotes dialling the same hub endpoint present the same leaf name and
    // account twice: the hub evicts one for the other, and both flap for ever.
    const urlsBefore = new Map<string, string>();
    c.leafRemotes.slice(0, i).forEach((o) => o.urls.forEach((u) => urlsBefore.set(hostPortOf(u), o.name)));
    for (const u of r.urls) {
      const other = urlsBefore.get(hostPortOf(u));
      if (other !== undefined) issue(["leafRemotes", i, "urls"], `remote "${r.name}": ${hostPortOf(u)} is already a URL of remote "${other}" (the hub would evict one link for the other)`);
    }
    if ((r.tls.cert === undefined) !== (r.tls.key === undefined)) {
      issue(["leafRemotes", i, "tls"], `remote "${r.name}": a client certificate needs its key and the key its certificate`);
    }
  });
});

// Compile-time proof that the schema produces exactly the contract type.
type SchemaOut = z.output<typeof gatewayConfigSchema>;
const _schemaMatchesContract: (x: SchemaOut) => GatewayConfig = (x) => x;
const _contractMatchesSchema: (x: GatewayConfig) => SchemaOut = (x) => x;
void _schemaMatchesContract;
void _contractMatchesSchema;
