/**
 * Declarative permission policies: one JSON file per grant, each granting
 * publish/subscribe subjects (and optionally denying some) when a condition on
 * the verified claims holds. The shipped files in policies/ reproduce
 * go-choria's client permission sets (docs/protocol.md#permission-sets); operators can add
 * their own. Files are validated with zod at start and a bad file is a
 * ConfigError naming the file and the offending path, never a silent gap.
 *
 * Subject templates may use {{caller_md5}}, {{caller_sha256}} (hex hashes of
 * the caller id), {{ou}} (token `ou`, default "choria") and {{collective}}.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { isValidSubject } from "../subject/subject.js";
import type { ClientClaims, ClientPermissionFlags } from "./types.js";

const PERMISSION_FLAGS = [
  "streams_admin",
  "streams_user",
  "events_viewer",
  "election_user",
  "system_user",
  "governor",
  "org_admin",
  "fleet_management",
  "signed_fleet_management",
  "service",
  "authentication_delegator",
  "provisioner",
] as const satisfies readonly (keyof ClientPermissionFlags)[];

/** Exactly one key set: {always:true} | {permission} | {account} | {all:[…]} | {any:[…]}. */
export interface PolicyCondition {
  always?: true;
  permission?: (typeof PERMISSION_FLAGS)[number];
  account?: string;
  all?: PolicyCondition[];
  any?: PolicyCondition[];
}

export interface Policy {
  /** Unique name (defaults to the file name without .json). */
  name: string;
  description: string;
  /** The file it came from, for messages ("<inline>" when built in code). */
  file: string;
  when: PolicyCondition;
  publish: string[];
  subscribe: string[];
  deny: { publish: string[]; subscribe: string[] };
  /** Also grant the token's own pub_subjects / sub_subjects. */
  tokenSubjects: boolean;
}

/** Values the templates expand to for one caller. */
export interface TemplateVars {
  caller_md5: string;
  caller_sha256: string;
  ou: string;
  collective: string;
}

const TEMPLATE = /\{\{\s*([a-z_0-9]+)\s*\}\}/g;
const SAMPLE_VARS: TemplateVars = { caller_md5: "m", caller_sha256: "s", ou: "o", collective: "c" };

export function expandTemplate(template: string, vars: TemplateVars): string {
  return template.replace(TEMPLATE, (_m, name: string) => {
    if (!Object.hasOwn(vars, name)) throw new Error(`unknown template variable {{${name}}}`);
    return vars[name as keyof TemplateVars];
  });
}

const conditionSchema: z.ZodType<PolicyCondition> = z.lazy(() =>
  z
    .strictObject({
      always: z.literal(true).optional(),
      permission: z.enum(PERMISSION_FLAGS).optional(),
      account: z.string().min(1).optional(),
      all: z.array(conditionSchema).min(1).optional(),
      any: z.array(conditionSchema).min(1).optional(),
    })
    .refine((c) => Object.keys(c).length === 1, {
      message: "a condition has exactly one of: always, permission, account, all, any",
    }),
);

// A template must only use known variables and expand to a valid subject.
const subjectTemplate = z.string().superRefine((t, ctx) => {
  try {
    if (!isValidSubject(expandTemplate(t, SAMPLE_VARS))) ctx.addIssue({ code: "custom", message: `invalid subject ${JSON.stringify(t)}` });
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const policyFileSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "name may only use letters, digits, _ . -").optional(),
  description: z.string().default(""),
  when: conditionSchema,
  publish: z.array(subjectTemplate).default([]),
  subscribe: z.array(subjectTemplate).default([]),
  deny: z
    .strictObject({ publish: z.array(subjectTemplate).default([]), subscribe: z.array(subjectTemplate).default([]) })
    .optional(),
  token_subjects: z.boolean().default(false),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join(".") : "(file)";
  return `${path}: ${issue.message}`;
}

/** Validate one parsed policy document. Throws ConfigError naming `file` and the path. */
export function parsePolicy(doc: unknown, file: string): Policy {
  const result = policyFileSchema.safeParse(doc);
  if (!result.success) {
    throw new ConfigError(`invalid policy: ${result.error.issues.map(describeIssue).join("; ")}`, { file });
  }
  const p = result.data;
  return {
    name: p.name ?? basename(file, ".json"),
    description: p.description,
    file,
    when: p.when,
    publish: p.publish,
    subscribe: p.subscribe,
    deny: { publish: p.deny?.publish ?? [], subscribe: p.deny?.subscribe ?? [] },
    tokenSubjects: p.token_subjects,
  };
}

/** Read and validate every `*.json` in `dir`, in file-name order. */
export function loadPolicies(dir: string): Policy[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch (err) {
    throw new ConfigError(`cannot read policies directory ${dir}: ${(err as Error).message}`, { key: "policies" }, { cause: err });
  }
  if (names.length === 0) throw new ConfigError(`no policy files (*.json) in ${dir}`, { key: "policies" });
  const byName = new Map<string, Policy>();
  for (const n of names) {
    const file = join(dir, n);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError(`invalid policy: not readable JSON: ${(err as Error).message}`, { file }, { cause: err });
    }
    const policy = parsePolicy(doc, file);
    const clash = byName.get(policy.name);
    if (clash) throw new ConfigError(`policy name ${policy.name} is also used by ${clash.file}`, { file });
    byName.set(policy.name, policy);
  }
  return [...byName.values()];
}

/** The policies/ folder shipped with the package (found by walking up from this module). */
export function defaultPoliciesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "policies"))) return join(dir, "policies");
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError("cannot locate the shipped policies directory", { key: "policies" });
}

/** Facts a condition may test. */
export interface ConditionContext {
  claims: ClientClaims;
  account: string;
}

export function conditionHolds(c: PolicyCondition, ctx: ConditionContext): boolean {
  if (c.always) return true;
  if (c.permission !== undefined) return ctx.claims.permissions?.[c.permission] === true;
  if (c.account !== undefined) return ctx.account === c.account;
  if (c.all) return c.all.every((x) => conditionHolds(x, ctx));
  if (c.any) return c.any.some((x) => conditionHolds(x, ctx));
  // parsePolicy guarantees one key; anything else is doubt, and doubt grants nothing.
  return false;
}
