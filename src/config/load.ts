/**
 * Loads a Choria broker.conf into the GatewayConfig every other module reads.
 * Steps: split the text into keyed lines (parse.ts), classify each key with the
 * one table in keys.ts (known / refused / ignored / unknown), convert and
 * range-check each value with its zod type, assemble the object with defaults
 * from schema.ts, re-validate it as a whole, and check the files it names.
 * Every problem names file, line and key; all of them are collected and thrown
 * together, so one run of `aaa-leafnode check` shows everything to fix.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { createSecureContext } from "node:tls";
import { basename, dirname, extname, join, resolve, sep } from "node:path";
import { ConfigError } from "../errors.js";
import { KEY, keyFor, KEYS, lookupKey, primarySpecFor, REMOTE_KEY, type KeySpec, type ReloadClass } from "./keys.js";
import { trustRootProblem } from "./rules.js";
import { DEFAULTS, defaultPoliciesDir, defaultServerName } from "./defaults.js";
import { parseBrokerConf } from "./parse.js";
import {
  formatDuration, formatSize, gatewayConfigSchema, isHexKey, isLogTarget,
} from "./schema.js";
import type { ConfigWarning, GatewayConfig, LeafRemoteConfig } from "./types.js";

/** A plugin.d file: its keys are read as `plugin.<name>.<key>`, as Choria reads them. */
export interface PluginFile {
  file: string;
  text: string;
  /** The file name without extension: `choria` for plugin.d/choria.cfg. */
  plugin: string;
}

export interface LoadOptions {
  /** plugin.d files read after the main file (loadConfig finds them next to it). */
  pluginFiles?: PluginFile[];
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
  const pluginFiles = opts.pluginFiles ?? readPluginDir(path);
  return parseConfigText(text, path, { ...opts, pluginFiles, baseDir: opts.baseDir ?? dirname(resolve(path)) });
}

/**
 * Choria's plugin.d: every `*.cfg` or `*.conf` file in `plugin.d/` next to the
 * configuration file, in name order, read after it (so its keys win), each
 * line `key = value` standing for `plugin.<file name>.key`. As in Choria, a
 * configuration file inside the user's home directory has no plugin.d.
 */
function readPluginDir(configPath: string): PluginFile[] {
  const abs = resolve(configPath);
  const home = homedir();
  if (home !== "" && abs.startsWith(home + sep)) return [];
  const dir = join(dirname(abs), "plugin.d");
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return [];
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const files: PluginFile[] = [];
  for (const name of names) {
    const ext = extname(name);
    if (ext !== ".cfg" && ext !== ".conf") continue;
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read the plugin configuration file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file }, { cause: err });
    }
    files.push({ file, text, plugin: basename(name, ext) });
  }
  return files;
}

interface Origin {
  key: string;
  line?: number;
  /** When not the main file (a plugin.d file). */
  file?: string;
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
  for (const pf of opts.pluginFiles ?? []) {
    const more = parseBrokerConf(pf.text, pf.file);
    errors.push(...more.errors);
    warnings.push(...more.warnings);
    for (const e of more.entries.values()) {
      const key = `plugin.${pf.plugin}.${e.key}`;
      const earlier = parsed.entries.get(key);
      if (earlier) {
        warnings.push({ file: pf.file, line: e.line, key, message: `also set in ${earlier.file ?? source} on line ${earlier.line}; the value in ${pf.file} wins` });
        parsed.entries.delete(key);
      }
      parsed.entries.set(key, { key, value: e.value, line: e.line, file: pf.file });
    }
  }
  // A key or field already reported is not reported again by the whole-object check.
  const erroredKeys = new Set<string>();
  const erroredFields: string[] = [];
  const error = (message: string, o: Origin, field?: string) => {
    erroredKeys.add(o.key);
    if (field) erroredFields.push(field);
    errors.push(new ConfigError(message, { file: o.file ?? source, line: o.line, key: o.key }));
  };
  const isErroredField = (dotted: string) => erroredFields.some((f) => dotted === f || dotted.startsWith(f + "."));
  const warningAt = (message: string, o: Origin): ConfigWarning => ({ file: o.file ?? source, line: o.line ?? 0, key: o.key, message });
  const warn = (message: string, o: Origin) => warnings.push(warningAt(message, o));

  // 1. Classify every key and convert its value.
  const values = new Map<string, Value>();
  for (const entry of parsed.entries.values()) {
    const origin: Origin = entry.file === undefined ? { key: entry.key, line: entry.line } : { key: entry.key, line: entry.line, file: entry.file };
    const found = lookupKey(entry.key);
    if (found.kind === "refused") {
      error(`refused: ${found.restriction}; remove this key`, origin);
    } else if (found.kind === "ignored") {
      warn(`ignored: ${found.reason}`, origin);
    } else if (found.kind === "unknown") {
      const hint = found.suggestion === undefined ? "" : `; did you mean ${found.suggestion}?`;
      warnings.push({ ...warningAt(`unknown key, ignored${hint}`, origin), unknownKey: true });
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
  // A field set by a key and its older spellings takes the primary key's value; the others are named as unused.
  const setBy = new Map<string, Value>();
  for (const v of [...values.values()].sort((a, b) => Number(!a.spec.aliasOf) - Number(!b.spec.aliasOf))) {
    if (!isPlainField(v.spec.field)) continue;
    const earlier = setBy.get(v.spec.field);
    if (earlier) warn(`ignored: ${v.spec.key} (line ${v.origin.line}) sets the same setting and wins`, earlier.origin);
    setBy.set(v.spec.field, v);
    setPath(draft, v.spec.field, v.value);
    origins.set(v.spec.field, v.origin);
  }
  const collectives = get<string[]>(KEY.collectives);
  if (!values.has(KEY.mainCollective) && collectives && collectives.length > 0) draft.mainCollective = collectives[0];
  if (get<boolean>(KEY.brokerNetwork) === false) {
    warn("ignored: the gateway always runs its broker", originOf(KEY.brokerNetwork)!);
  }
  const provider = get<string>(KEY.securityProvider);
  if (provider !== undefined && provider !== "file") {
    warn(`only the "file" security provider is supported; certificates come from ${KEY.fileCert} and ${KEY.fileKey}`, originOf(KEY.securityProvider)!);
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
  const trust = trustRootProblem(draft.authenticator, draft.clientSigners.length, Object.keys(draft.issuers).length);
  if (trust && !isErroredField("clientSigners") && !erroredKeys.has(trust.key)) {
    error(trust.message, origins.get(trust.key === KEY.issuerNames ? "issuers" : "clientSigners") ?? { key: trust.key });
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
    tls: { cipherSuites: [], eccCurves: [], minVersion: DEFAULTS.tlsMinVersion },
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

/** Sets a dotted field path (`limits.maxPayload`); undefined removes an optional field. */
export function setPath(obj: object, path: string, value: unknown): void {
  const parts = path.split(".");
  let o = obj as Draft;
  for (const p of parts.slice(0, -1)) o = o[p] ??= {};
  if (value === undefined) delete o[parts.at(-1)!];
  else o[parts.at(-1)!] = value;
}

export function getPath(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], obj);
}

function resolvePaths(spec: KeySpec, value: unknown, baseDir: string): unknown {
  if (spec.type === "path" && !((spec.field === "logFile" || spec.field === "auditFile") && isLogTarget(value as string))) {
    return resolve(baseDir, value as string);
  }
  // Signer lists mix inline hex keys and file paths.
  if (spec.field === "clientSigners" && Array.isArray(value)) {
    return value.map((v: string) => (isHexKey(v) ? v.toLowerCase() : resolve(baseDir, v)));
  }
  return value;
}

// Lets the whole-object check run (and find other problems) after the pair was reported missing.
const PLACEHOLDER_TLS = { cert: "(unset)", key: "(unset)" };

/** The listener pair: our own client_tls.* if given, else plugin.security.file.*. */
function assembleClientTls(draft: Draft, get: Getter, originOf: (k: string) => Origin | undefined, origins: Map<string, Origin>, error: Report): void {
  const own = get<string>(KEY.clientTlsCert) !== undefined || get<string>(KEY.clientTlsKey) !== undefined;
  const [certKey, keyKey, caKey, what] = own
    ? [KEY.clientTlsCert, KEY.clientTlsKey, KEY.clientTlsCa, "client_tls"]
    : [KEY.fileCert, KEY.fileKey, KEY.fileCa, "file"];
  const cert = get<string>(certKey);
  const key = get<string>(keyKey);
  const ca = get<string>(caKey);
  if (cert === undefined && key === undefined) {
    error(`no listener certificate configured: set ${KEY.fileCert} and ${KEY.fileKey} (clients connect over TLS only)`, { key: KEY.fileCert }, "clientTls");
    draft.clientTls = PLACEHOLDER_TLS;
    return;
  }
  if (cert === undefined || key === undefined) {
    const [given, missing] = cert === undefined ? [keyKey, certKey] : [certKey, keyKey];
    error(`set without ${missing}: the ${what} certificate and key go together`, originOf(given)!, "clientTls");
    draft.clientTls = PLACEHOLDER_TLS;
    return;
  }
  draft.clientTls = ca === undefined ? { cert, key } : { cert, key, ca };
  origins.set("clientTls.cert", originOf(certKey)!);
  origins.set("clientTls.key", originOf(keyKey)!);
  if (ca !== undefined) origins.set("clientTls.ca", originOf(caKey)!);
}

function assembleSigners(draft: Draft, get: Getter, originOf: (k: string) => Origin | undefined, origins: Map<string, Origin>): void {
  const current = KEY.clientSigners;
  const older = KEY.olderSigner;
  const signers = [...(get<string[]>(current) ?? [])];
  const old = get<string>(older);
  if (old !== undefined && !signers.includes(old)) signers.push(old);
  draft.clientSigners = signers;
  const origin = originOf(current) ?? originOf(older);
  if (origin) origins.set("clientSigners", origin);
}

/** Returns true when a listed issuer is unusable (reported already, so "no signer" would be noise). */
function assembleIssuers(draft: Draft, values: Map<string, Value>, origins: Map<string, Origin>, error: Report, warn: Report, inFile: (key: string) => boolean): boolean {
  const namesKey = KEY.issuerNames;
  const names = (values.get(namesKey)?.value as string[] | undefined) ?? [];
  const namesOrigin = values.get(namesKey)?.origin;
  if (namesOrigin) origins.set("issuers", namesOrigin);
  const issuers: Record<string, string> = {};
  let badKey = false;
  for (const name of names) {
    const publicKey = keyFor(KEY.issuerPublic, name);
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

type RemoteSetting = keyof typeof REMOTE_KEY;

function assembleRemotes(draft: Draft, values: Map<string, Value>, origins: Map<string, Origin>, error: Report, warn: Report, inFile: (key: string) => boolean): void {
  const listKey = KEY.leafRemotes;
  const names = (values.get(listKey)?.value as string[] | undefined) ?? [];
  const listOrigin = values.get(listKey)?.origin;
  const remotes: LeafRemoteConfig[] = [];
  for (const name of names) {
    const v = (setting: RemoteSetting) => values.get(keyFor(REMOTE_KEY[setting], name));
    const i = remotes.length;
    origins.set(`leafRemotes.${i}`, listOrigin!);
    const url = v("url");
    if (url === undefined) {
      if (!inFile(keyFor(REMOTE_KEY.url, name))) error(`remote "${name}" has no URL: set ${keyFor(REMOTE_KEY.url, name)}`, listOrigin!);
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
        verify: (v("tlsVerify")?.value as boolean | undefined) ?? DEFAULTS.remote.tlsVerify,
        handshakeFirst: (v("tlsHandshakeFirst")?.value as boolean | undefined) ?? DEFAULTS.remote.tlsHandshakeFirst,
      },
      account: (v("account")?.value as string | undefined) ?? DEFAULTS.remote.account,
      jetStreamExtended: (v("jetStreamExtended")?.value as boolean | undefined) ?? DEFAULTS.remote.jetStreamExtended,
    };
    // The remote's own TLS files, else the broker's file provider pair.
    for (const [field, setting, fallback] of [["cert", "tlsCert", KEY.fileCert], ["key", "tlsKey", KEY.fileKey], ["ca", "tlsCa", KEY.fileCa]] as const) {
      const own = v(setting);
      const value = (own?.value as string | undefined) ?? (values.get(fallback)?.value as string | undefined);
      if (value !== undefined) remote.tls[field] = value;
      const origin = own?.origin ?? values.get(fallback)?.origin;
      if (origin) origins.set(`leafRemotes.${i}.tls.${field}`, origin);
    }
    if (creds) {
      remote.credentials = creds.value as string;
      origins.set(`leafRemotes.${i}.credentials`, creds.origin);
    }
    for (const [setting, field] of [["url", "urls"], ["tlsVerify", "tls.verify"], ["tlsHandshakeFirst", "tls.handshakeFirst"], ["account", "account"], ["jetStreamExtended", "jetStreamExtended"]] as const) {
      const o = v(setting)?.origin;
      if (o) origins.set(`leafRemotes.${i}.${field}`, o);
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

/**
 * The files the configuration names exist and can be read, and each
 * certificate goes with its key. A file reached through two settings from the
 * same line (a remote without its own `tls.cert` uses the listener's) is
 * reported once, naming both uses.
 */
function checkFiles(c: GatewayConfig, origins: Map<string, Origin>, error: Report, skip: (field: string) => boolean): void {
  const at = (field: string) => originForPath(field.split("."), origins);
  const uses = new Map<string, { path: string; origin: Origin; what: string[] }>();
  const readable = (path: unknown, what: string, field: string) => {
    if (typeof path !== "string" || skip(field)) return;
    const origin = at(field);
    const id = `${path}\0${origin.file ?? ""}\0${origin.line ?? ""}\0${origin.key}`;
    const use = uses.get(id);
    if (use) use.what.push(what);
    else uses.set(id, { path, origin, what: [what] });
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
  const bad = new Set<string>();
  for (const { path, origin, what } of uses.values()) {
    const problem = fileProblem(path, "file");
    if (!problem) continue;
    bad.add(path);
    const also = what.length > 1 ? ` (also the ${what.slice(1).join(", ")})` : "";
    error(`${what[0]} ${path}${also}: ${problem}`, origin);
  }
  // Each certificate with its key, once per pair and line, where both files could be read.
  const pairs = new Set<string>();
  const pair = (cert: string | undefined, key: string | undefined, what: string, field: string) => {
    if (cert === undefined || key === undefined || bad.has(cert) || bad.has(key) || skip(`${field}.cert`) || skip(`${field}.key`)) return;
    const origin = at(`${field}.key`);
    const id = `${cert}\0${key}\0${origin.file ?? ""}\0${origin.line ?? ""}`;
    if (pairs.has(id)) return;
    pairs.add(id);
    const certProblem = tlsProblem({ cert });
    const keyProblem = tlsProblem({ key });
    if (certProblem) error(`${what} certificate ${cert} cannot be loaded: ${certProblem}`, at(`${field}.cert`));
    if (keyProblem) error(`${what} key ${key} cannot be loaded: ${keyProblem}`, origin);
    const problem = certProblem || keyProblem ? undefined : tlsProblem({ cert, key });
    if (problem) {
      const certOrigin = at(`${field}.cert`);
      const certAt = `${certOrigin.key}${certOrigin.line === undefined ? "" : `, line ${certOrigin.line}`}`;
      error(`${what} key ${key} does not go with the certificate ${cert} (${certAt}): ${problem}`, origin);
    }
  };
  pair(c.clientTls?.cert, c.clientTls?.key, "listener", "clientTls");
  c.leafRemotes.forEach((r, i) => pair(r.tls.cert, r.tls.key, `remote "${r.name}"`, `leafRemotes.${i}.tls`));
  if (typeof c.policiesDir === "string") {
    const problem = fileProblem(c.policiesDir, "directory");
    if (problem) error(`policies folder ${c.policiesDir}: ${problem}`, at("policiesDir"));
  }
  for (const [field, what] of [["logFile", "log file"], ["auditFile", "audit log file"]] as const) {
    const p = c[field];
    if (typeof p !== "string" || isLogTarget(p)) continue;
    const problem = fileProblem(dirname(p), "directory");
    if (problem) error(`folder of the ${what} ${dirname(p)}: ${problem}`, at(field));
  }
}

/** Why PEM certificate and/or key files cannot be loaded as a TLS context (OpenSSL's words), or undefined. */
function tlsProblem(files: { cert?: string; key?: string }): string | undefined {
  try {
    createSecureContext({ cert: files.cert === undefined ? undefined : readFileSync(files.cert), key: files.key === undefined ? undefined : readFileSync(files.key) });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
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

/** The comment heading each reload class in `describeConfig(…, { byReload: true })`. */
const RELOAD_HEADINGS: Readonly<Record<ReloadClass, string>> = {
  live: "# on reload: live (applies at once, also to open connections)",
  "new connections": "# on reload: new connections (open connections keep the value they started with)",
  restart: "# on reload: restart (a reload logs the change and keeps the running value)",
};

/**
 * The effective settings as broker.conf lines, for `aaa-leafnode check`. Paths
 * are printed, never the contents of the files they name. The output is itself
 * a valid broker.conf that loads to the same configuration. With `byReload`
 * the lines are grouped under a comment naming when a change takes effect.
 */
export function describeConfig(config: GatewayConfig, opts: { byReload?: boolean } = {}): string {
  const lines: { reload: ReloadClass; text: string }[] = [];
  const printed = new Set<string>();
  const line = (key: string, value: unknown, type: KeySpec["type"]) => {
    const text = formatValue(value, type);
    const found = lookupKey(key);
    const reload = found.kind === "known" ? found.spec.reload : "restart";
    lines.push({ reload, text: text === undefined ? `# ${key} is not set` : `${key} = ${text}` });
  };
  for (const spec of KEYS) {
    if (spec.field === "" || spec.aliasOf || spec.key.includes("<name>") || printed.has(spec.field)) continue;
    printed.add(spec.field);
    if (spec.field === "issuers") {
      const names = Object.keys(config.issuers);
      line(spec.key, names, "list");
      for (const n of names) line(keyFor(KEY.issuerPublic, n), config.issuers[n], "string");
    } else if (spec.field === "leafRemotes") {
      line(spec.key, config.leafRemotes.map((r) => r.name), "list");
      for (const r of config.leafRemotes) describeRemote(r, line);
    } else {
      line(spec.key, getPath(config, spec.field), spec.type);
    }
  }
  const out: string[] = [`# effective configuration of ${config.source}`];
  if (!opts.byReload) out.push(...lines.map((l) => l.text));
  else {
    for (const reload of ["live", "new connections", "restart"] as const) {
      out.push("", RELOAD_HEADINGS[reload], ...lines.filter((l) => l.reload === reload).map((l) => l.text));
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
