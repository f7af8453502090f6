/**
 * `aaa-leafnode login`: logs in to the Choria AAA service the way `choria
 * login` does and leaves a token file and a seed file that a Choria client (or
 * this gateway's users) can connect with. It reads the client config for URLs
 * and file paths, reuses the existing seed (or makes a new ed25519 key), asks
 * for the user name and password on the terminal (or takes them from flags for
 * automation), signs "<timestamp>:<user>:<password>", posts it, and writes both
 * files 0600. Every failure is one line on stderr and exit code 1; neither the
 * password, the signature nor the token is ever printed. As with `choria
 * login`, a `choria-login` helper on the PATH takes the whole login over.
 */
import { readFile } from "node:fs/promises";
import { postLogin } from "./aaa_client.js";
import { loadClientConfig, resolveLoginSettings } from "./client_config.js";
import { EXTERNAL_LOGIN_HELPER, findOnPath, runExternalLogin } from "./external.js";
import { LoginError, LoginErrorCode } from "./errors.js";
import { decodeJwtPayload, formatRemaining, generateIdentity, loadSeedFile, signLogin, summarizeToken, writePrivateFile } from "./keys.js";
import { isTerminal, promptPassword, promptUser, readPasswordFile, type PromptInput } from "./prompt.js";

export interface LoginIo {
  stdin: PromptInput;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  /** Where project `choria.conf` files are looked for (default process.cwd()). */
  cwd?: string;
  /** System-wide client configs to try (default /etc/choria/client.conf and the others `choria login` tries). */
  systemConfigs?: readonly string[];
}

export const loginUsage = `Usage: aaa-leafnode login [options]

Logs in to the Choria AAA service and saves the token and seed files.

The client configuration is found as \`choria login\` finds it: --config, else the
first of ~/.choriarc, ~/.mcollective, /etc/choria/client.conf,
/usr/local/etc/choria/client.conf; then every choria.conf in the working directory
and its parents (outermost first) overrides it. If a \`choria-login\` program is on
the PATH, it does the login instead (called as \`choria-login login ARGS...\`).

Options:
  --config FILE           Choria client config (default: see above)
  --user NAME             user name (default: prompt, suggesting $USER)
  --password-file FILE    read the password from FILE ('-' = standard input)
  --url URL[,URL]         login URLs (default plugin.login.aaasvc.login.url)
  --token-file FILE       token file (default plugin.choria.security.request_signer.token_file)
  --seed-file FILE        seed file (default request_signer.seed_file, else <token file>.key)
  --ca FILE               PEM CA bundle to verify the service (default: system store)
  --connect-timeout DUR   connect timeout per URL (default 5s)
  --timeout DUR           whole-request timeout per URL (default 20s)
  -h, --help              show this help
`;

interface LoginFlags {
  config?: string;
  user?: string;
  passwordFile?: string;
  urls?: string[];
  tokenFile?: string;
  seedFile?: string;
  ca?: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  help: boolean;
}

/** "5", "5s", "500ms", "1m" → milliseconds; bare numbers are seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new LoginError(LoginErrorCode.Usage, `${flag}: '${text}' is not a duration (e.g. 5s, 500ms, 1m)`);
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new LoginError(LoginErrorCode.Usage, `${flag}: must be greater than zero`);
  return Math.round(ms);
}

const valueFlags = new Set(["--config", "--user", "--password-file", "--url", "--token-file", "--seed-file", "--ca", "--connect-timeout", "--timeout"]);

export function parseLoginArgs(argv: string[]): LoginFlags {
  const flags: LoginFlags = { connectTimeoutMs: 5000, timeoutMs: 20000, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (!valueFlags.has(name)) throw new LoginError(LoginErrorCode.Usage, `unknown argument '${arg}'`);
    let value: string;
    if (name !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new LoginError(LoginErrorCode.Usage, `${name} needs a value`);
      value = next;
    }
    switch (name) {
      case "--config": flags.config = value; break;
      case "--user": flags.user = value; break;
      case "--password-file": flags.passwordFile = value; break;
      case "--url":
        flags.urls = [...(flags.urls ?? []), ...value.split(",").map((s) => s.trim()).filter((s) => s !== "")];
        break;
      case "--token-file": flags.tokenFile = value; break;
      case "--seed-file": flags.seedFile = value; break;
      case "--ca": flags.ca = value; break;
      case "--connect-timeout": flags.connectTimeoutMs = parseDuration(value, name); break;
      case "--timeout": flags.timeoutMs = parseDuration(value, name); break;
    }
  }
  if (flags.user !== undefined && flags.user.trim() === "") throw new LoginError(LoginErrorCode.Usage, "--user must not be empty");
  return flags;
}

/** What a successful login produced (tests and the demo reuse the files). */
export interface LoginResult {
  url: string;
  token: string;
  tokenFile: string;
  seedFile: string;
  seedReused: boolean;
  publicKeyHex: string;
  callerId: string | null;
  expires: Date | null;
}

async function loginFlow(flags: LoginFlags, io: LoginIo): Promise<LoginResult> {
  const home = io.env.HOME;
  const config = loadClientConfig(flags.config, { home, cwd: io.cwd, system: io.systemConfigs });
  const read = [...(config.file ? [config.file] : []), ...config.projectFiles];
  const settings = resolveLoginSettings(config.values, { urls: flags.urls, tokenFile: flags.tokenFile, seedFile: flags.seedFile }, home, read.length > 0 ? read.join(", ") : null);

  let ca: Buffer | undefined;
  if (flags.ca !== undefined) {
    try {
      ca = await readFile(flags.ca);
    } catch (err) {
      throw new LoginError(LoginErrorCode.Config, `cannot read CA file ${flags.ca}: ${(err as NodeJS.ErrnoException).code ?? "EIO"}`, { cause: err });
    }
  }

  const existing = await loadSeedFile(settings.seedFile);
  const identity = existing ?? generateIdentity();

  if (flags.passwordFile === "-" && flags.user === undefined) {
    throw new LoginError(LoginErrorCode.Usage, "--password-file - reads standard input, so --user is required");
  }
  const user = flags.user ?? (await promptUser(io.stdin, io.stderr, io.env.USER));
  let password: string;
  if (flags.passwordFile !== undefined) password = await readPasswordFile(flags.passwordFile, io.stdin);
  else if (isTerminal(io.stdin)) password = await promptPassword(io.stdin, io.stderr);
  else throw new LoginError(LoginErrorCode.Prompt, "standard input is not a terminal; use --password-file");

  const timestamp = String(Math.floor(Date.now() / 1000));
  const result = await postLogin(
    settings.urls,
    { username: user, password, public_key: identity.publicKeyHex, timestamp, signature: signLogin(identity, timestamp, user, password) },
    { connectTimeoutMs: flags.connectTimeoutMs, timeoutMs: flags.timeoutMs, ca },
  );

  // The seed first: a token is only usable with the key it names.
  await writePrivateFile(settings.seedFile, identity.seed.toString("hex"));
  await writePrivateFile(settings.tokenFile, result.token);

  const claims = decodeJwtPayload(result.token);
  const summary = claims ? summarizeToken(claims) : null;
  const now = new Date();
  const lines = [
    `Logged in via ${result.url}`,
    `Token saved to ${settings.tokenFile}`,
    `Seed ${existing ? "reused from" : "saved to"} ${settings.seedFile}`,
    `Caller ID: ${summary?.callerId ?? "(not in token)"}`,
    `Expires: ${summary?.expires ? `${summary.expires.toISOString()} (in ${formatRemaining(now, summary.expires)})` : "(no expiry in token)"}`,
  ];
  io.stdout.write(lines.join("\n") + "\n");
  return {
    url: result.url,
    token: result.token,
    tokenFile: settings.tokenFile,
    seedFile: settings.seedFile,
    seedReused: existing !== null,
    publicKeyHex: identity.publicKeyHex,
    callerId: summary?.callerId ?? null,
    expires: summary?.expires ?? null,
  };
}

/** The login flow with `argv` as for the command; throws LoginError (with a stable `code`) on failure. */
export async function performLogin(argv: string[], io: LoginIo): Promise<LoginResult> {
  const flags = parseLoginArgs(argv);
  if (flags.help) throw new LoginError(LoginErrorCode.Usage, "--help is handled by runLoginCommand");
  return loginFlow(flags, io);
}

/** Runs `aaa-leafnode login` with `argv` (the arguments after `login`); resolves to the exit code. */
export async function runLoginCommand(argv: string[], io?: LoginIo): Promise<number> {
  const ioUsed: LoginIo = io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
  try {
    if (argv.includes("--help") || argv.includes("-h")) {
      ioUsed.stdout.write(loginUsage);
      return 0;
    }
    // Like choria login: an external helper on the PATH does the whole login, with every argument.
    const helper = findOnPath(EXTERNAL_LOGIN_HELPER, ioUsed.env.PATH);
    if (helper) return await runExternalLogin(helper, argv, ioUsed);
    const flags = parseLoginArgs(argv);
    await loginFlow(flags, ioUsed);
    return 0;
  } catch (err) {
    const message = err instanceof LoginError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
    ioUsed.stderr.write(`aaa-leafnode login: ${message}\n`);
    if (err instanceof LoginError && err.code === LoginErrorCode.Usage) ioUsed.stderr.write(`Run 'aaa-leafnode login --help' for usage.\n`);
    return 1;
  }
}
