/**
 * Reads the few settings `aaa-leafnode login` needs from a Choria client
 * configuration: the AAA login URLs, the token file and the seed file. The
 * files are found as `choria login` finds them (go-choria's UserConfig and
 * ProjectConfigurationFiles): `--config`, else the first that exists of
 * `~/.choriarc`, `~/.mcollective`, `/etc/choria/client.conf`,
 * `/usr/local/etc/choria/client.conf` and `/etc/puppetlabs/mcollective/client.cfg`;
 * then every `choria.conf` in the working directory and its parents, the
 * outermost first, each overriding what was read before (a project's settings
 * win over the user's, even with `--config`). The format is Choria's `key = value` (split
 * at the first `=`, both sides trimmed, `#` comment and blank lines ignored);
 * the login command keeps this tiny reader of its own so it does not depend on
 * the gateway's broker.conf schema.
 *
 * Path resolution follows go-choria's `SignerTokenFile`/`SignerSeedFile`: the
 * `choria` security provider's files win over the remote-signer ones, there is
 * no default token file (go-choria fails with "no token file defined"), and the
 * seed file defaults to the token file with its extension replaced by `.key`.
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { LoginError, LoginErrorCode } from "./errors.js";

export const ConfigKeys = {
  loginUrls: "plugin.login.aaasvc.login.url",
  signerTokenFile: "plugin.choria.security.request_signer.token_file",
  signerSeedFile: "plugin.choria.security.request_signer.seed_file",
  choriaTokenFile: "plugin.security.choria.token_file",
  choriaSeedFile: "plugin.security.choria.seed_file",
} as const;

/** Parses `key = value` text; later lines win, like go-choria. */
export function parseKeyValue(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) {
      throw new LoginError(LoginErrorCode.Config, `${file}:${i + 1}: expected 'key = value'`);
    }
    const key = line.slice(0, eq).trim();
    if (key === "") throw new LoginError(LoginErrorCode.Config, `${file}:${i + 1}: empty key`);
    out.set(key, line.slice(eq + 1).trim());
  }
  return out;
}

/** Expands a leading `~/` (go-choria's `path_string` keys do the same). */
export function expandHome(path: string, home: string | undefined): string {
  if (path === "~" || path.startsWith("~/")) {
    if (!home) throw new LoginError(LoginErrorCode.Config, `cannot expand '${path}': HOME is not set`);
    return join(home, path.slice(1));
  }
  return path;
}

/** The system-wide client configs `choria login` tries after the user's own, in order. */
export const SYSTEM_CLIENT_CONFIGS: readonly string[] = [
  "/etc/choria/client.conf",
  "/usr/local/etc/choria/client.conf",
  "/etc/puppetlabs/mcollective/client.cfg",
];

/** The client config files tried in order when `--config` is not given; the first that exists is used. */
export function defaultConfigCandidates(home: string | undefined, system: readonly string[] = SYSTEM_CLIENT_CONFIGS): string[] {
  const out: string[] = [];
  if (home) out.push(join(home, ".choriarc"), join(home, ".mcollective"));
  out.push(...system);
  return out;
}

/** Every `choria.conf` in `cwd` and its parent directories, outermost first (later ones win). */
export function projectConfigFiles(cwd: string): string[] {
  const out: string[] = [];
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, "choria.conf");
    if (existsSync(candidate)) out.unshift(candidate);
    const parent = dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

function readConfigFile(path: string, into: Map<string, string>): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new LoginError(LoginErrorCode.Config, `cannot read config file ${path}: ${code}`, { cause: err });
  }
  for (const [k, v] of parseKeyValue(text, path)) into.set(k, v);
}

/** Where to look; the defaults are the user's home, the working directory and the system paths. */
export interface ConfigSearch {
  home: string | undefined;
  /** Default process.cwd(). */
  cwd?: string;
  /** Default SYSTEM_CLIENT_CONFIGS. */
  system?: readonly string[];
}

export interface LoadedClientConfig {
  /** The user or system config used (the named one, or the first default that exists), or null. */
  file: string | null;
  /** Project files read after it, outermost first. */
  projectFiles: string[];
  /** The merged settings: the config file, then each project file over it. */
  values: Map<string, string>;
}

/** Loads the config to use: the named one (must exist), else the first default that exists, else none; then the project files over it. */
export function loadClientConfig(file: string | undefined, search: ConfigSearch): LoadedClientConfig {
  const values = new Map<string, string>();
  let used: string | null = null;
  if (file !== undefined) {
    readConfigFile(file, values);
    used = file;
  } else {
    const found = defaultConfigCandidates(search.home, search.system).find((c) => existsSync(c));
    if (found) {
      readConfigFile(found, values);
      used = found;
    }
  }
  const projectFiles = projectConfigFiles(search.cwd ?? process.cwd());
  for (const p of projectFiles) readConfigFile(p, values);
  return { file: used, projectFiles, values };
}

export interface LoginSettings {
  urls: string[];
  tokenFile: string;
  seedFile: string;
}

/** Overrides from the command line; each wins over the config file. */
export interface LoginOverrides {
  urls?: string[];
  tokenFile?: string;
  seedFile?: string;
}

/** Seed file path derived from the token file: `<token file without extension>.key`. */
export function seedFileFor(tokenFile: string): string {
  const ext = extname(tokenFile);
  return `${ext ? tokenFile.slice(0, -ext.length) : tokenFile}.key`;
}

function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Resolves URLs and file paths; `source` names the config file for messages. */
export function resolveLoginSettings(values: Map<string, string>, overrides: LoginOverrides, home: string | undefined, source: string | null): LoginSettings {
  const where = source ?? "no config file found";
  const urls = overrides.urls && overrides.urls.length > 0 ? overrides.urls : splitList(values.get(ConfigKeys.loginUrls));
  if (urls.length === 0) {
    throw new LoginError(LoginErrorCode.Config, `no AAA login URL: set ${ConfigKeys.loginUrls} (${where}) or pass --url`);
  }
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new LoginError(LoginErrorCode.Config, `invalid login URL '${u}'`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new LoginError(LoginErrorCode.Config, `invalid login URL '${u}': scheme must be https or http`);
    }
  }

  const tokenRaw = overrides.tokenFile ?? (values.get(ConfigKeys.choriaTokenFile) || values.get(ConfigKeys.signerTokenFile) || undefined);
  if (!tokenRaw) {
    throw new LoginError(LoginErrorCode.Config, `no token file defined: set ${ConfigKeys.signerTokenFile} (${where}) or pass --token-file`);
  }
  const tokenFile = expandHome(tokenRaw, home);
  const seedRaw = overrides.seedFile ?? (values.get(ConfigKeys.choriaSeedFile) || values.get(ConfigKeys.signerSeedFile) || undefined);
  const seedFile = seedRaw ? expandHome(seedRaw, home) : seedFileFor(tokenFile);
  if (seedFile === tokenFile) {
    throw new LoginError(LoginErrorCode.Config, `seed file and token file are the same path: ${tokenFile}`);
  }
  return { urls, tokenFile, seedFile };
}
