/**
 * `aaa-leafnode token inspect|mint`. `inspect` decodes a Choria client-id JWT
 * and, given a broker.conf, verifies it exactly as the gateway would at
 * CONNECT (signer or org issuer, purpose, times; only the per-connection nonce
 * signature cannot be checked offline) and lists the subjects the holder may
 * publish and subscribe to. `mint` is a development signer: it makes signer
 * key pairs and client tokens with a fresh holder key, written the way Choria
 * writes them (token file + `<token without extension>.key` seed, both 0600).
 * It is announced as a development signer on every use; it is not an AAA service.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { AuthError } from "../errors.js";
import {
  assertSignersOrIssuers, compileCallerPolicy, evaluatePolicies, loadIssuers, loadPolicies, loadSigners, TokenVerifier, type ClientPermissionFlags,
} from "../auth/index.js";
import { createEd25519KeyPair, createSigner, loadSignerPrivateKey, mintClientToken, writeSignerFiles, type DevSigner } from "../auth/mint.js";
import { parseClientClaims } from "../auth/claims.js";
import { KEY } from "../config/keys.js";
import { configProblems, loadConfig } from "../config/load.js";
import { parseDurationMs } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { formatSpan } from "../login/keys.js";
import { seedFileFor } from "../login/client_config.js";
import { writePrivateFile } from "../login/keys.js";
import { isValidSubject } from "../subject/subject.js";
import type { CliIo } from "./io.js";

export const tokenHelp = `Usage:
  aaa-leafnode token inspect FILE [--config FILE]
  aaa-leafnode token mint signer --out DIR [--type ed25519|rsa] [--force]
  aaa-leafnode token mint client --signer DIR|FILE --caller ID [--permissions LIST]
                                 [--pub SUBJECT]... [--sub SUBJECT]... [--validity 1h] [--out FILE]

inspect  Decode a Choria client-id JWT (FILE, or - for standard input) and print its
         header, claims and expiry. With --config, verify it against the configured
         AAA signers or org issuers as the gateway would (signature, purpose, time;
         the connection nonce signature can only be checked at CONNECT) and list the
         subjects it may publish and subscribe to. Without --config the token is
         NOT VERIFIED. Exit status: 0 valid (or, without --config, decodable and not
         expired), 1 invalid, expired or unreadable.

mint     DEVELOPMENT signer for demos and tests, not an AAA service.
  signer   Write a signer key pair into DIR: ed25519 (signer.seed, signer.public) or
           RSA (signer-key.pem, signer-public.pem). The public file is what
           plugin.choria.network.client_signer_cert names. Private keys are 0600.
  client   Make a holder key pair and a client token signed by the signer in DIR
           (or the private key FILE). --permissions is a comma list of Choria
           permission flags (e.g. fleet_management,events_viewer); --pub/--sub add
           pub_subjects/sub_subjects. The token goes to --out (default
           <caller>.jwt), the holder's seed next to it as <out without extension>.key.`;

const DEV_WARNING =
  "WARNING: this is a development signer for demos and tests, not an AAA service; never trust its keys in production.\n";

const PERMISSION_FLAGS = [
  "streams_admin", "streams_user", "events_viewer", "election_user", "system_user", "governor", "org_admin",
  "fleet_management", "signed_fleet_management", "service", "authentication_delegator", "provisioner",
] as const satisfies readonly (keyof ClientPermissionFlags)[];

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

/** `--name VALUE`, `--name=VALUE` (repeatable) and bare `--flag`s; anything else unknown is a usage error. */
function parseArgs(argv: string[], withValue: readonly string[], bare: readonly string[] = []): Parsed {
  const p: Parsed = { positionals: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || a === "-") {
      p.positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (bare.includes(name) && eq < 0) {
      p.flags.add(name);
    } else if (withValue.includes(name)) {
      const v = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      p.values.set(name, [...(p.values.get(name) ?? []), v]);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  return p;
}

const one = (p: Parsed, name: string): string | undefined => p.values.get(name)?.at(-1);

export async function tokenCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === "inspect") return await inspect(parseArgs(rest, ["--config"]), io);
    if (sub === "mint" && rest[0] === "signer") return mintSigner(parseArgs(rest.slice(1), ["--out", "--type"], ["--force"]), io);
    if (sub === "mint" && rest[0] === "client") {
      return await mintClient(parseArgs(rest.slice(1), ["--signer", "--caller", "--permissions", "--pub", "--sub", "--validity", "--out"]), io);
    }
    throw new UsageError(sub === "mint" ? "token mint needs `signer` or `client`" : `unknown token command ${JSON.stringify(sub ?? "")}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`token: ${err.message}\n\n${tokenHelp}\n`);
    return 2;
  }
}

// ---- inspect ----

function decodePart(part: string | undefined): Record<string, unknown> | null {
  if (!part || !/^[A-Za-z0-9_-]+$/.test(part)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}


function readToken(file: string): string {
  const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  return text.trim();
}

async function inspect(p: Parsed, io: CliIo): Promise<number> {
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) throw new UsageError("token inspect needs exactly one FILE");
  const configPath = one(p, "--config");
  let token: string;
  try {
    token = readToken(file);
  } catch (err) {
    io.stderr.write(`error: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return 1;
  }
  const parts = token.split(".");
  const header = decodePart(parts[0]);
  const claims = decodePart(parts[1]);
  if (parts.length !== 3 || header === null || claims === null) {
    io.stderr.write(`error: ${file} is not a JWT (expected three base64url parts with JSON header and claims)\n`);
    return 1;
  }
  const now = Date.now();
  const out: string[] = [`token: ${file}`, `header: ${JSON.stringify(header)}`, "claims:"];
  out.push(...JSON.stringify(claims, null, 2).split("\n").slice(1, -1));
  const time = (label: string, claim: string): number | undefined => {
    const v = claims[claim];
    if (typeof v !== "number") return undefined;
    out.push(`${label.padEnd(12)} ${new Date(v * 1000).toISOString()}`);
    return v * 1000;
  };
  time("issued at:", "iat");
  time("not before:", "nbf");
  const issexp = typeof claims["issexp"] === "number" ? (claims["issexp"] as number) * 1000 : Infinity;
  const exp = typeof claims["exp"] === "number" ? Math.min((claims["exp"] as number) * 1000, issexp) : undefined;
  const expired = exp !== undefined && exp <= now;
  if (exp === undefined) out.push(`${"expires:".padEnd(12)} never (no exp claim: the gateway refuses such tokens)`);
  else out.push(`${"expires:".padEnd(12)} ${new Date(exp).toISOString()} (${expired ? `EXPIRED ${formatSpan(now - exp)} ago` : `in ${formatSpan(exp - now)}`})`);

  if (configPath === undefined) {
    out.push("verification: NOT VERIFIED (no --config given: neither the signature nor the signer was checked)");
    io.stdout.write(out.join("\n") + "\n");
    return expired || exp === undefined ? 1 : 0;
  }
  io.stdout.write(out.join("\n") + "\n");
  return verifyAgainstConfig(token, configPath, io);
}

async function verifyAgainstConfig(token: string, configPath: string, io: CliIo): Promise<number> {
  let config;
  let verifier: TokenVerifier;
  try {
    config = loadConfig(configPath).config;
    const signers = loadSigners(config.clientSigners);
    const issuers = loadIssuers(config.issuers);
    assertSignersOrIssuers(signers.length, issuers.size);
    verifier = new TokenVerifier({ signers, issuers, clockSkew: config.clockSkew, maxTokenSize: config.limits.maxTokenSize, cacheSize: 0 });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const prob of configProblems(err)) io.stderr.write(`error: ${prob.message}\n`);
    io.stdout.write(`verification: NOT POSSIBLE (the configuration ${configPath} has errors)\n`);
    return 1;
  }
  let verified;
  try {
    verified = await verifier.verify(token);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    io.stdout.write(`verification: INVALID ${err.code}: ${err.reason}\n`);
    return 1;
  }
  const out: string[] = [
    `verification: valid (signed by ${verified.verifiedBy}; purpose, claims and validity checked against ${config.source})`,
    "  the connection nonce signature is checked at each CONNECT and cannot be checked here",
  ];
  if (config.authenticator === "development") out.push("  note: this configuration runs the DEVELOPMENT authenticator, which admits any client");
  let policies;
  try {
    policies = loadPolicies(config.policiesDir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stdout.write(out.join("\n") + "\n");
    io.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const claims = parseClientClaims(verified.claims as unknown as Record<string, unknown>);
  const opts = { collective: config.mainCollective };
  const grants = evaluatePolicies(claims, policies, opts);
  const policy = compileCallerPolicy(claims, policies, opts);
  const d = policy.describe();
  const ns = { prefix: policy.replyPrefix };
  out.push(
    `caller: ${claims.callerid}`,
    `reply namespace: ${ns.prefix}.> (its _INBOX. subscriptions and reply subjects are rewritten into ${ns.prefix}._INBOX.)`,
    `policies applied: ${grants.policies.join(", ") || "none"}`,
  );
  const list = (label: string, subjects: string[]) => {
    out.push(`${label}${subjects.length === 0 ? " (none)" : ""}`);
    for (const s of subjects) out.push(`  ${s}`);
  };
  list("may publish to:", d.publish.allow);
  if (d.publish.deny.length > 0) list("may not publish to:", d.publish.deny);
  // A grant the hard restrictions override (events_viewer's lifecycle subjects) is shown as refused.
  list("may subscribe to:", d.subscribe.allow.map((sub) => (policy.routeSubscribe(sub) !== null ? sub : `${sub} [granted, but refused by a hard restriction]`)));
  list("may never subscribe to (policy denies and hard restrictions):", d.subscribe.deny);
  io.stdout.write(out.join("\n") + "\n");
  return 0;
}

// ---- mint ----

function mintSigner(p: Parsed, io: CliIo): number {
  const dir = one(p, "--out");
  if (!dir) throw new UsageError("token mint signer needs --out DIR");
  const type = one(p, "--type") ?? "ed25519";
  if (type !== "ed25519" && type !== "rsa") throw new UsageError(`--type must be ed25519 or rsa, not ${JSON.stringify(type)}`);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
  io.stderr.write(DEV_WARNING);
  const names = type === "ed25519" ? ["signer.seed", "signer.public"] : ["signer-key.pem", "signer-public.pem"];
  const clash = names.map((n) => join(dir, n)).find((f) => existsSync(f));
  if (clash && !p.flags.has("--force")) {
    io.stderr.write(`error: ${clash} exists; use --force to replace the signer\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signer = createSigner(type);
  const { privateKeyPath, publicKeyPath } = writeSignerFiles(signer, dir, "signer");
  io.stdout.write(
    [
      `signer (${type === "ed25519" ? "ed25519, EdDSA" : `RSA, ${signer.alg}`}) written:`,
      `  private key: ${resolve(privateKeyPath)} (0600, keep it secret)`,
      `  public key:  ${resolve(publicKeyPath)}`,
      "gateway setting:",
      `  ${KEY.clientSigners} = ${resolve(publicKeyPath)}`,
    ].join("\n") + "\n",
  );
  return 0;
}

/** The signer's private key: a file, or the signer files `token mint signer` wrote into a folder. */
function loadDevSigner(path: string): DevSigner {
  if (!statSync(path).isDirectory()) return loadSignerPrivateKey(path);
  for (const name of ["signer.seed", "signer-key.pem"]) {
    const f = join(path, name);
    if (existsSync(f)) return loadSignerPrivateKey(f);
  }
  throw new Error(`no signer.seed or signer-key.pem in ${path} (make one with: aaa-leafnode token mint signer --out ${path})`);
}

async function mintClient(p: Parsed, io: CliIo): Promise<number> {
  const signerPath = one(p, "--signer");
  const caller = one(p, "--caller");
  if (!signerPath) throw new UsageError("token mint client needs --signer DIR|FILE");
  if (!caller) throw new UsageError("token mint client needs --caller ID (e.g. up=alice)");
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
  const permissions: ClientPermissionFlags = {};
  for (const flag of (p.values.get("--permissions") ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean)) {
    if (!(PERMISSION_FLAGS as readonly string[]).includes(flag)) {
      throw new UsageError(`unknown permission ${JSON.stringify(flag)}; known: ${PERMISSION_FLAGS.join(", ")}`);
    }
    permissions[flag as (typeof PERMISSION_FLAGS)[number]] = true;
  }
  const pubs = p.values.get("--pub") ?? [];
  const subs = p.values.get("--sub") ?? [];
  for (const s of [...pubs, ...subs]) if (!isValidSubject(s)) throw new UsageError(`invalid subject ${JSON.stringify(s)}`);
  const validityText = one(p, "--validity") ?? "1h";
  const validityMs = parseDurationMs(validityText);
  if (validityMs === undefined || validityMs < 1000) throw new UsageError(`--validity ${JSON.stringify(validityText)} is not a duration of at least 1s (e.g. 30m, 1h, 24h)`);
  io.stderr.write(DEV_WARNING);

  let signer: DevSigner;
  try {
    signer = loadDevSigner(signerPath);
  } catch (err) {
    io.stderr.write(`error: cannot load the signer ${signerPath}: ${(err as Error).message}\n`);
    return 1;
  }
  const out = one(p, "--out") ?? `${caller.replace(/[^A-Za-z0-9_.-]+/g, "_")}.jwt`;
  const seedFile = seedFileFor(out);
  const holder = createEd25519KeyPair();
  const validitySeconds = Math.round(validityMs / 1000);
  const token = mintClientToken(signer, {
    callerid: caller,
    publicKey: holder.publicHex,
    permissions,
    ...(pubs.length > 0 ? { pubSubjects: pubs } : {}),
    ...(subs.length > 0 ? { subSubjects: subs } : {}),
    validitySeconds,
  });
  // Exactly as `choria login` leaves them: no trailing newline, 0600, replaced atomically.
  try {
    await writePrivateFile(out, token);
    await writePrivateFile(seedFile, holder.seedHex);
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  io.stdout.write(
    [
      `client token for ${caller} (${signer.alg}, valid ${formatSpan(validitySeconds * 1000)}):`,
      `  token: ${resolve(out)} (0600)`,
      `  seed:  ${resolve(seedFile)} (0600, the holder's ed25519 key; it signs the connection nonce)`,
      `  public_key: ${holder.publicHex}`,
      `  permissions: ${Object.keys(permissions).join(", ") || "none"}`,
    ].join("\n") + "\n",
  );
  return 0;
}
