/**
 * `aaa-leafnode check --config FILE [--strict] [--connect]`: everything `run` would refuse, found
 * without starting anything. It loads the broker.conf with the file checks,
 * then loads what the authenticator would load at start (signer keys, org
 * issuers, policy files, the listener certificate and key), and prints the
 * warnings, the effective settings as broker.conf lines grouped by when a
 * change takes effect on reload, what the permission policies grant and under
 * which conditions, plus the hard restrictions no policy can lift. An unknown
 * key is a warning with the likely meant key; `--strict` makes it an error.
 * Exit 0 when valid, 1 with every error (each naming file, line and key), 2 on
 * bad usage. With --connect it then dials every hub URL once (check_connect.ts).
 */
import { ConfigError } from "../errors.js";
import { loadIssuers, loadPolicies, loadSigners, type Policy, type PolicyCondition } from "../auth/index.js";
import { LIFECYCLE_PATTERN } from "../auth/caller_policy.js";
import { isSubsetOf } from "../subject/subject.js";
import { configProblems, describeConfig, formatWarning, loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { KEY } from "../config/keys.js";
import { serverTls } from "../config/parts.js";
import { loadContext } from "../transport/listen.js";
import type { CliIo } from "./io.js";
import { flagValue } from "./io.js";
import { checkConnect } from "./check_connect.js";

export const checkHelp = `Usage: aaa-leafnode check --config FILE [--strict] [--connect]

Validate a broker.conf without starting the gateway: the keys and values, the
files it names, the AAA signer keys or org issuers, and the permission policies.
Prints warnings (file:line: key: message), the effective settings grouped by
when a change takes effect on reload (live, new connections, restart), and what
each policy grants. An unknown key is a warning (with the known key it most
likely meant); with --strict it is an error. Exit status: 0 valid, 1 invalid
(every error names file, line, key).

--strict   refuse unknown keys (an error instead of a warning).
--connect  also dial every URL of every leafnode remote once (mTLS, CONNECT,
           registration) and say, per URL, that it connected or why not in
           words that name the keys to change; exit 1 when any fails.`;

/** The restrictions every caller is under, whatever its token and the policies say. */
export const HARD_RESTRICTIONS: readonly string[] = [
  "nobody may subscribe to Choria lifecycle events: no subscription may intersect choria.lifecycle.>",
  "nobody may subscribe to another caller's replies: subscriptions intersecting *.reply.> must lie inside the caller's own *.reply.<md5|sha256 of callerid>.>",
  "_INBOX. subscriptions and reply subjects are rewritten into <collective>.reply.<md5 of callerid>._INBOX.",
  "publishing with a reply subject in another caller's reply namespace is refused",
  "clients need anonymous TLS, a valid AAA JWT and the signed connection nonce; Choria Servers (server and provisioning tokens) are denied",
  "no cluster, super cluster or accepted leafnodes: keys that would enable them are refused",
];

export async function checkCommand(argv: string[], io: CliIo): Promise<number> {
  const path = flagValue(argv, "--config");
  if (!path) {
    io.stderr.write(`check: --config FILE is required\n\n${checkHelp}\n`);
    return 2;
  }
  let config: GatewayConfig;
  try {
    const loaded = loadConfig(path);
    config = loaded.config;
    const strict = argv.includes("--strict");
    const unknown = strict ? loaded.warnings.filter((w) => w.unknownKey) : [];
    for (const w of loaded.warnings) if (!unknown.includes(w)) io.stderr.write(`warning: ${formatWarning(w)}\n`);
    if (unknown.length > 0) {
      return reportErrors(unknown.map((w) => new ConfigError(w.message.replace(", ignored", " (refused by --strict)"), w)), path, io);
    }
  } catch (err) {
    return reportErrors(err, path, io);
  }

  let policies: Policy[] = [];
  const authErrors: ConfigError[] = [];
  const authLines: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      authErrors.push(err);
    }
  };
  attempt(() => {
    policies = loadPolicies(config.policiesDir);
  });
  // The loader already applied the signers-or-issuers rule; here the keys themselves are loaded.
  attempt(() => {
    const signers = loadSigners(config.clientSigners);
    const issuers = loadIssuers(config.issuers);
    for (const s of signers) authLines.push(`  signer ${s.source} (${s.type})`);
    for (const i of issuers.values()) authLines.push(`  org issuer ${i.name}: ${i.publicHex}`);
  });
  // The listener certificate, key and TLS policy, loaded as the listeners load them.
  attempt(() => {
    const tls = serverTls(config);
    try {
      loadContext(tls);
    } catch (err) {
      throw new ConfigError(`the listeners cannot use ${tls.cert} with ${tls.key}: ${err instanceof Error ? err.message : String(err)}`, { file: config.source, key: KEY.fileCert });
    }
  });
  if (authErrors.length > 0) return reportErrors(authErrors, path, io);

  const out: string[] = [`${config.source}: configuration is valid`, ""];
  out.push(describeConfig(config, { byReload: true }).trimEnd(), "");
  out.push(`authentication: ${config.authenticator === "development" ? "DEVELOPMENT (any client is admitted; never use in production)" : "AAA JWT"}`);
  out.push(...authLines, "");
  out.push(`permission policies (${config.policiesDir}), applied additively; what none grants is denied:`);
  for (const p of policies) out.push(...describePolicy(p));
  out.push("", "hard restrictions (apply to every caller; no policy or token claim lifts them):");
  for (const r of HARD_RESTRICTIONS) out.push(`  - ${r}`);
  io.stdout.write(out.join("\n") + "\n");
  if (argv.includes("--connect") && !(await checkConnect(config, io))) return 1;
  return 0;
}

function reportErrors(err: unknown, path: string, io: CliIo): number {
  const list = Array.isArray(err) ? (err as ConfigError[]) : err instanceof ConfigError ? configProblems(err) : null;
  if (list === null) {
    io.stderr.write(`error: ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
  } else {
    for (const p of list) io.stderr.write(`error: ${p.message}\n`);
  }
  io.stderr.write(`${path}: configuration is invalid (${list?.length ?? 1} error${list?.length === 1 ? "" : "s"})\n`);
  return 1;
}

/** A condition as words: "permission fleet_management or permission signed_fleet_management". */
export function describeCondition(c: PolicyCondition, nested = false): string {
  if (c.always) return "always";
  if (c.permission !== undefined) return `permission ${c.permission}`;
  if (c.account !== undefined) return `account ${c.account}`;
  const [parts, joiner] = c.all ? [c.all, " and "] : c.any ? [c.any, " or "] : [[], ""];
  const text = parts.map((x) => describeCondition(x, true)).join(joiner);
  return nested && parts.length > 1 ? `(${text})` : text;
}

function describePolicy(p: Policy): string[] {
  const lines = [`  ${p.name}: when ${describeCondition(p.when)}`];
  const list = (label: string, subjects: string[], blockable = false) => {
    if (subjects.length === 0) return;
    const shown = subjects.map((s) => (blockable && isBlockedForever(s) ? `${s} [never: hard restriction]` : s));
    wrap(shown).forEach((text, i) => lines.push(`    ${(i === 0 ? label : "").padEnd(16)} ${text}`));
  };
  list("publish:", p.publish);
  list("subscribe:", p.subscribe, true);
  list("deny publish:", p.deny.publish);
  list("deny subscribe:", p.deny.subscribe);
  if (p.tokenSubjects) lines.push(`    ${"publish:".padEnd(16)} the token's pub_subjects`, `    ${"subscribe:".padEnd(16)} the token's sub_subjects`);
  if (lines.length === 1) lines.push("    (grants nothing)");
  return lines;
}

/** A granted subscription that the lifecycle restriction refuses whatever the caller. */
function isBlockedForever(subject: string): boolean {
  return !subject.includes("{{") && isSubsetOf(subject, LIFECYCLE_PATTERN);
}

/** Comma-joined subjects in lines of at most ~90 characters. */
function wrap(items: string[], width = 90): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const item of items) {
    if (cur !== "" && cur.length + item.length + 2 > width) {
      lines.push(cur + ",");
      cur = item;
    } else {
      cur = cur === "" ? item : `${cur}, ${item}`;
    }
  }
  if (cur !== "") lines.push(cur);
  return lines;
}
