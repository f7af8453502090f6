/**
 * Loads a Choria broker.conf into the GatewayConfig every other module reads.
 * Steps: split the text into keyed lines (parse.ts), classify each key with the
 * one table in keys.ts (known / refused / ignored / unknown), convert and
 * range-check each value with its zod type, assemble the object with defaults
 * from schema.ts, re-validate it as a whole, and check the files it names.
 * Every problem names file, line and key; all of them are collected and thrown
 * together, so one run of `aaa-leafnode check` shows everything to fix.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { keyFor, KEYS, lookupKey, primarySpecFor, type KeySpec } from "./keys.js";
import { parseBrokerConf } from "./parse.js";
import {
  DEFAULTS, defaultPoliciesDir, defaultServerName, formatDuration, formatSize, gatewayConfigSchema, isHexKey,
} from "./schema.js";
import type { ConfigWarning, GatewayConfig, LeafRemoteConfig } from "./types.js";

export interface LoadOptions {
  /** Check that the files the configuration names exist and are readable (default true). */
  checkFiles?: boolean;
  /** Folder relative paths are resolved against (default: the configuration file's folder). */
  baseDir?: string;
}

export interface LoadResult {
  config: GatewayConfig;
  warnings: ConfigWarning[];
}

/** Several configuration problems at once; `problems` holds each one with its file, line and key. */
export class AggregateConfigError extends ConfigError {
  readonly problems: readonly ConfigError[];
  constructor(file: string, problems: readonly ConfigError[]) {
    super(`${problems.length} configuration problems:\n${problems.map((p) => "  " + p.message).join("\n")}`, { file });
    this.name = "AggregateConfigError";
    this.problems = problems;
  }
}

/** The individual problems of a ConfigError (itself unless it is an aggregate). */
export function configProblems(err: ConfigError): readonly ConfigError[] {
  return err instanceof AggregateConfigError ? err.problems : [err];
}

export function formatWarning(w: ConfigWarning): string {
  return `${w.file}:${w.line}: ${w.key}: ${w.message}`;
}

export function loadConfig(path: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the configuration file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file: path }, { cause: err });
  }
  return parseConfigText(text, path, { ...opts, baseDir: opts.baseDir ?? dirname(resolve(path)) });
}

interface Origin {
  key: string;
  line?: number;
}

interface Value {
  spec: KeySpec;
  name?: string;
  value: unknown;
  origin: Origin;
}

export function parseConfigText(text: string, source: string, opts: LoadOptions = {}): LoadResult {
  const baseDir = opts.baseDir ?? process.cwd();
  const parsed = parseBrokerConf(text, source);
  const errors: ConfigError[] = [...parsed.errors];
  const warnings: ConfigWarning[] = [...parsed.warnings];
  // A key or field already reported is not reported again by the whole-object check.
  const erroredKeys = new Set<string>();
  const erroredFields: string[] = [];
  const error = (message: string, o: Origin, field?: string) => {
    erroredKeys.add(o.key);
    if (field) erroredFields.push(field);
    errors.push(new ConfigError(message, { file: source, line: o.line, key: o.key }));
  };
  const isErroredField = (dotted: string) => erroredFields.some((f) => dotted === f || dotted.startsWith(f + "."));
  const warn = (message: string, o: Origin) => warnings.push({ file: source, line: o.line ?? 0, key: o.key, message });

  // 1. Classify every key and convert its value.
  const values = new Map<string, Value>();
  for (const entry of parsed.entries.values()) {
    const origin = { key: entry.key, line: entry.line };
    const found = lookupKey(entry.key);
    if (found.kind === "refused") {
      error(`refused: ${found.restriction}; remove this key`, origin);
    } else if (found.kind === "ignored") {
      warn(`ignored: ${found.reason}`, origin);
    } else if (found.kind === "unknown") {
      warn("unknown key, ignored", origin);
    } else {
      const { spec } = found;
      const r = spec.schema.safeParse(entry.value);
      if (!r.success) {
        error(`invalid ${spec.type} value: ${r.error.issues.map((i) => i.message).join("; ")}`, origin);
      } else if (spec.refuseWhen?.test(r.data)) {
        error(`refused when ${spec.refuseWhen.value}: ${spec.refuseWhen.restriction}`, origin);
      } else {
        values.set(entry.key, { spec, name: found.name, value: resolvePaths(spec, r.data, baseDir), origin });
      }
    }
  }

  // 2. Assemble the configuration from defaults and values.
  const origins = new Map<string, Origin>();
  const get = <T>(key: string, name?: string): T | undefined => values.get(name === undefined ? key : keyFor(key, name))?.value as T | undefined;
  const originOf = (key: string) => values.get(key)?.origin;
  const draft = defaultsDraft();
  draft.source = source;
  for (const v of values.values()) {
    if (isPlainField(v.spec.field)) {
      setPath(draft, v.spec.field, v.value);
      origins.set(v.spec.field, v.origin);
    }
  }
  const collectives = get<string[]>("collectives");
  if (!values.has("main_collective") && collectives && collectives.length > 0) draft.mainCollective = collectives[0];
  if (get<boolean>("plugin.choria.broker_network") === false) {
    warn("ignored: the gateway always runs its broker", originOf("plugin.choria.broker_network")!);
  }
  const provider = get<string>("plugin.security.provider");
  if (provider !== undefined && provider !== "file") {
    warn(`only the "file" security provider is supported; certificates come from plugin.security.file.*`, originOf("plugin.security.provider")!);
  }
  assembleClientTls(draft, get, originOf, origins, error);
  assembleSigners(draft, get, originOf, origins);
  // A keyed setting given with a bad value was reported already; do not call it missing as well.
  const inFile = (key: string) => parsed.entries.has(key);
  if (assembleIssuers(draft, values, origins, error, warn, inFile)) erroredFields.push("clientSigners");
  assembleRemotes(draft, values, origins, error, warn, inFile);

  // 3. Whole-object validation; issues are mapped back to the key (and line) that set the field.
  const checked = gatewayConfigSchema.safeParse(draft);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      const path = issue.path.map(String);
      const origin = originForPath(path, origins);
      if (erroredKeys.has(origin.key) || isErroredField(path.join("."))) continue;
      error(issue.message, origin);
    }
  }
  if (opts.checkFiles !== false) checkFiles(draft as unknown as GatewayConfig, origins, error, isErroredField);

  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) {
    throw new AggregateConfigError(source, errors.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)));
  }
  warnings.sort((a, b) => a.line - b.line);
  return { config: checked.data!, warnings };
}

// biome-ignore lint/suspicious/noExplicitAny: the object under assembly is loosely typed until the whole-object schema checks it.
type Draft = Record<string, any>;
type Getter = <T>(key: string, name?: string) => T | undefined;
type Report = (message: string, o: Origin, field?: string) => void;

function defaultsDraft(): Draft {
  const d: Draft = {
    logLevel: DEFAULTS.logLevel,
    serverName: defaultServerName(),
    mainCollective: DEFAULTS.mainCollective,
    listenAddress: DEFAULTS.listenAddress,
    clientPort: DEFAULTS.clientPort,
    clientHosts: [],
    websocketPort: DEFAULTS.websocketPort,
    websocketCompression: DEFAULTS.websocketCompression,
    websocketAllowedOrigins: [],
    websocketInsecure: DEFAULTS.websocketInsecure,
    tlsTimeout: DEFAULTS.tlsTimeout,
    authTimeout: DEFAULTS.authTimeout,
    writeDeadline: DEFAULTS.writeDeadline,
    pingInterval: DEFAULTS.pingInterval,
    pingMax: DEFAULTS.pingMax,
    softShutdownTimeout: DEFAULTS.softShutdownTimeout,
    lameDuckDuration: DEFAULTS.lameDuckDuration,
    lameDuckGracePeriod: DEFAULTS.lameDuckGracePeriod,
    workers: DEFAULTS.workers,
    limits: { ...DEFAULTS.limits },
    authenticator: DEFAULTS.authenticator,
    clientSigners: [],
    issuers: {},
    clockSkew: DEFAULTS.clockSkew,
    policiesDir: defaultPoliciesDir(),
    leafRemotes: [],
    upstreamBufferBytes: DEFAULTS.upstreamBufferBytes,
    reconnectBaseDelay: DEFAULTS.reconnectBaseDelay,
    reconnectMaxDelay: DEFAULTS.reconnectMaxDelay,
    upstreamReadiness: DEFAULTS.upstreamReadiness,
    statsAddress: DEFAULTS.statsAddress,
    statsPort: DEFAULTS.statsPort,
    loginRelay: { port: DEFAULTS.loginRelay.port, urls: [], maxBodyBytes: DEFAULTS.loginRelay.maxBodyBytes, timeout: DEFAULTS.loginRelay.timeout },
  };
  return d;
}

/** Fields set by one key each; the rest are assembled below. */
function isPlainField(field: string): boolean {
  return field !== "" && !field.startsWith("clientTls") && !field.startsWith("leafRemotes")
    && field !== "clientSigners" && field !== "issuers";
}

function setPath(obj: Draft, path: string, value: unknown): void {
  const parts = path.split(".");
  let o = obj;
  for (const p of parts.slice(0, -1)) o = o[p] ??= {};
  o[parts.at(-1)!] = value;
}

function getPath(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], obj);
}

function resolvePaths(spec: KeySpec, value: unknown, baseDir: string): unknown {
  if (spec.type === "path") return resolve(baseDir, value as string);
  // Signer lists mix inline hex keys and file paths.
  if (spec.field === "clientSigners" && Array.isArray(value)) {
    return value.map((v: string) => (isHexKey(v) ? v.toLowerCase() : resolve(baseDir, v)));
  }
  return value;
}

const FILE = "plugin.security.file.";
const OWN_TLS = "plugin.choria.network.aaa_leafnode.client_tls.";

// Lets the whole-object check run (and find other problems) after the pair was reported missing.
const PLACEHOLDER_TLS = { cert: "(unset)", key: "(unset)" };

/** The listener pair: our own client_tls.* if given, else plugin.security.file.*. */
function assembleClientTls(draft: Draft, get: Getter, originOf: (k: string) => Origin | undefined, origins: Map<string, Origin>, error: Report): void {
  const own = get<string>(`${OWN_TLS}certificate`) !== undefined || get<string>(`${OWN_TLS}key`) !== undefined;
  const [prefix, certName, what] = own ? [OWN_TLS, "certificate", "client_tls"] : [FILE, "certificate", "file"];
  const cert = get<string>(prefix + certName);
  const key = get<string>(prefix + "key");
  const ca = get<string>(prefix + "ca");
  if (cert === undefined && key === undefined) {
    error(`no listener certificate configured: set ${FILE}certificate and ${FILE}key (clients connect over TLS only)`, { key: `${FILE}certificate` }, "clientTls");
    draft.clientTls = PLACEHOLDER_TLS;
    return;
  }
  if (cert === undefined || key === undefined) {
    const [given, missing] = cert === undefined ? [prefix + "key", prefix + certName] : [prefix + certName, prefix + "key"];
    error(`set without ${missing}: the ${what} certificate and key go together`, originOf(given)!, "clientTls");
    draft.clientTls = PLACEHOLDER_TLS;
    return;
  }
  draft.clientTls = ca === undefined ? { cert, key } : { cert, key, ca };
  origins.set("clientTls.cert", originOf(prefix + certName)!);
  origins.set("clientTls.key", originOf(prefix + "key")!);
  if (ca !== undefined) origins.set("clientTls.ca", originOf(prefix + "ca")!);
}

function assembleSigners(draft: Draft, get: Getter, originOf: (k: string) => Origin | undefined, origins: Map<string, Origin>): void {
  const current = "plugin.choria.network.client_signer_cert";
  const older = "plugin.choria.security.request_signing_certificate";
  const signers = [...(get<string[]>(current) ?? [])];
  const old = get<string>(older);
  if (old !== undefined && !signers.includes(old)) signers.push(old);
  draft.clientSigners = signers;
  const origin = originOf(current) ?? originOf(older);
  if (origin) origins.set("clientSigners", origin);
}

/** Returns true when a listed issuer is unusable (reported already, so "no signer" would be noise). */
function assembleIssuers(draft: Draft, values: Map<string, Value>, origins: Map<string, Origin>, error: Report, warn: Report, inFile: (key: string) => boolean): boolean {
  const namesKey = "plugin.security.issuer.names";
  const names = (values.get(namesKey)?.value as string[] | undefined) ?? [];
  const namesOrigin = values.get(namesKey)?.origin;
  if (namesOrigin) origins.set("issuers", namesOrigin);
  const issuers: Record<string, string> = {};
  let badKey = false;
  for (const name of names) {
    const publicKey = keyFor("plugin.security.issuer.<name>.public", name);
    const v = values.get(publicKey);
    if (v !== undefined) {
      issuers[name] = v.value as string;
      origins.set(`issuers.${name}`, v.origin);
    } else {
      badKey = true;
      if (!inFile(publicKey)) error(`issuer "${name}" has no public key: set ${publicKey}`, namesOrigin!);
    }
  }
  for (const v of values.values()) {
    if (v.spec.field === "issuers" && v.name !== undefined && !names.includes(v.name)) {
      warn(`ignored: issuer "${v.name}" is not listed in ${namesKey}`, v.origin);
    }
  }
  draft.issuers = issuers;
  return badKey;
}

const REMOTE = "plugin.choria.network.leafnode_remote.<name>.";

function assembleRemotes(draft: Draft, values: Map<string, Value>, origins: Map<string, Origin>, error: Report, warn: Report, inFile: (key: string) => boolean): void {
  const listKey = "plugin.choria.network.leafnode_remotes";
  const names = (values.get(listKey)?.value as string[] | undefined) ?? [];
  const listOrigin = values.get(listKey)?.origin;
  const file = (k: string) => values.get(FILE + k)?.value as string | undefined;
  const remotes: LeafRemoteConfig[] = [];
  for (const name of names) {
    const v = (setting: string) => values.get(keyFor(REMOTE + setting, name));
    const i = remotes.length;
    origins.set(`leafRemotes.${i}`, listOrigin!);
    const url = v("url");
    if (url === undefined) {
      if (!inFile(keyFor(REMOTE + "url", name))) error(`remote "${name}" has no URL: set ${keyFor(REMOTE + "url", name)}`, listOrigin!);
      continue;
    }
    const creds = v("credentials") ?? v("credential");
    if (v("credentials") && v("credential")) {
      warn(`both .credentials and .credential are set; using .credentials`, v("credential")!.origin);
    }
    const remote: LeafRemoteConfig = {
      name,
      urls: url.value as string[],
      tls: {
        verify: (v("tls.verify")?.value as boolean | undefined) ?? DEFAULTS.remote.tlsVerify,
        handshakeFirst: (v("tls.handshake_first")?.value as boolean | undefined) ?? DEFAULTS.remote.tlsHandshakeFirst,
      },
      account: (v("account")?.value as string | undefined) ?? DEFAULTS.remote.account,
      jetStreamExtended: (v("jetstream_extended")?.value as boolean | undefined) ?? DEFAULTS.remote.jetStreamExtended,
    };
    // The remote's own TLS files, else the broker's file provider pair.
    for (const [field, setting, fallback] of [["cert", "tls.cert", "certificate"], ["key", "tls.key", "key"], ["ca", "tls.ca", "ca"]] as const) {
      const own = v(setting);
      const value = (own?.value as string | undefined) ?? file(fallback);
      if (value !== undefined) remote.tls[field] = value;
      const origin = own?.origin ?? values.get(FILE + fallback)?.origin;
      if (origin) origins.set(`leafRemotes.${i}.tls.${field}`, origin);
    }
    if (creds) {
      remote.credentials = creds.value as string;
      origins.set(`leafRemotes.${i}.credentials`, creds.origin);
    }
    const fieldOf: Record<string, string> = { url: "urls", "tls.handshake_first": "tls.handshakeFirst", jetstream_extended: "jetStreamExtended" };
    for (const s of ["url", "tls.verify", "tls.handshake_first", "account", "jetstream_extended"]) {
      const o = v(s)?.origin;
      if (o) origins.set(`leafRemotes.${i}.${fieldOf[s] ?? s}`, o);
    }
    remotes.push(remote);
  }
  for (const v of values.values()) {
    if (v.spec.field.startsWith("leafRemotes[]") && v.name !== undefined && !names.includes(v.name)) {
      warn(`ignored: remote "${v.name}" is not listed in ${listKey}`, v.origin);
    }
  }
  draft.leafRemotes = remotes;
}

/** The key (and line) behind a field path; fields never set name their primary key. */
function originForPath(path: string[], origins: Map<string, Origin>): Origin {
  for (let n = path.length; n > 0; n--) {
    const o = origins.get(path.slice(0, n).join("."));
    if (o) return o;
  }
  const spec = primarySpecFor(path.join(".")) ?? primarySpecFor(path[0] ?? "");
  return { key: spec?.key ?? path.join(".") };
}

function checkFiles(c: GatewayConfig, origins: Map<string, Origin>, error: Report, skip: (field: string) => boolean): void {
  const at = (field: string) => originForPath(field.split("."), origins);
  const readable = (path: unknown, what: string, field: string) => {
    if (typeof path !== "string" || skip(field)) return;
    const problem = fileProblem(path, "file");
    if (problem) error(`${what} ${path}: ${problem}`, at(field));
  };
  readable(c.clientTls?.cert, "listener certificate file", "clientTls.cert");
  readable(c.clientTls?.key, "listener key file", "clientTls.key");
  readable(c.clientTls?.ca, "listener CA file", "clientTls.ca");
  c.clientSigners.forEach((s) => {
    if (!isHexKey(s)) readable(s, "AAA signer file", "clientSigners");
  });
  c.leafRemotes.forEach((r, i) => {
    readable(r.tls.cert, `remote "${r.name}" certificate file`, `leafRemotes.${i}.tls.cert`);
    readable(r.tls.key, `remote "${r.name}" key file`, `leafRemotes.${i}.tls.key`);
    readable(r.tls.ca, `remote "${r.name}" CA file`, `leafRemotes.${i}.tls.ca`);
    readable(r.credentials, `remote "${r.name}" credentials file`, `leafRemotes.${i}.credentials`);
  });
  if (typeof c.policiesDir === "string") {
    const problem = fileProblem(c.policiesDir, "directory");
    if (problem) error(`policies folder ${c.policiesDir}: ${problem}`, at("policiesDir"));
  }
  for (const [field, what] of [["logFile", "log file"], ["auditFile", "audit log file"]] as const) {
    const p = c[field];
    if (typeof p !== "string") continue;
    const problem = fileProblem(dirname(p), "directory");
    if (problem) error(`folder of the ${what} ${dirname(p)}: ${problem}`, at(field));
  }
}

function fileProblem(path: string, kind: "file" | "directory"): string | undefined {
  try {
    const st = statSync(path);
    if (kind === "file" && !st.isFile()) return "not a regular file";
    if (kind === "directory" && !st.isDirectory()) return "not a directory";
    accessSync(path, kind === "file" ? constants.R_OK : constants.R_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "not found";
    if (code === "EACCES") return "not readable (permission denied)";
    return `cannot be read (${code ?? String(err)})`;
  }
}

/**
 * The effective settings as broker.conf lines, for `aaa-leafnode check`. Paths
 * are printed, never the contents of the files they name. The output is itself
 * a valid broker.conf that loads to the same configuration.
 */
export function describeConfig(config: GatewayConfig): string {
  const out: string[] = [`# effective configuration of ${config.source}`];
  const printed = new Set<string>();
  const line = (key: string, value: unknown, type: KeySpec["type"]) => {
    const text = formatValue(value, type);
    out.push(text === undefined ? `# ${key} is not set` : `${key} = ${text}`);
  };
  for (const spec of KEYS) {
    if (spec.field === "" || spec.aliasOf || spec.key.includes("<name>") || printed.has(spec.field)) continue;
    printed.add(spec.field);
    if (spec.field === "issuers") {
      const names = Object.keys(config.issuers);
      line(spec.key, names, "list");
      for (const n of names) line(keyFor("plugin.security.issuer.<name>.public", n), config.issuers[n], "string");
    } else if (spec.field === "leafRemotes") {
      line(spec.key, config.leafRemotes.map((r) => r.name), "list");
      for (const r of config.leafRemotes) describeRemote(r, line);
    } else {
      line(spec.key, getPath(config, spec.field), spec.type);
    }
  }
  return out.join("\n") + "\n";
}

function describeRemote(r: LeafRemoteConfig, line: (key: string, value: unknown, type: KeySpec["type"]) => void): void {
  for (const spec of KEYS) {
    if (!spec.field.startsWith("leafRemotes[].") || spec.aliasOf) continue;
    line(keyFor(spec, r.name), getPath(r, spec.field.slice("leafRemotes[].".length)), spec.type);
  }
}

function formatValue(value: unknown, type: KeySpec["type"]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.join(", ");
  if (type === "duration") return formatDuration(value as number);
  if (type === "size") return formatSize(value as number);
  return String(value);
}
