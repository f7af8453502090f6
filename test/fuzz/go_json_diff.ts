/**
 * `node build/test/fuzz/go_json_diff.js [count] [seed]`: the gateway's JSON
 * reader (src/auth/go_json.ts) against Go's encoding/json itself, on as many
 * consumer-create bodies as asked (default 100,000). Needs the Go toolchain
 * (Debian: golang-go); it builds test/fuzz/go_json_diff/main.go, which decodes
 * each body into a struct tagged as nats-server tags ConsumerConfig.
 *
 * Bodies are mostly valid JSON spelled every way Go reads alike (key case,
 * `ſ` and Kelvin folds, other Unicode look-alikes Go does not fold, `\u`
 * escapes in keys and values, surrogates, raw invalid UTF-8, odd white space,
 * a key given twice), with some broken ones. For each body:
 *
 * - both read it: every checked field must be the same string;
 * - Go reads it, the gateway refuses it: allowed only for a key given twice
 *   (the gateway refuses what Go merges);
 * - the gateway reads it, Go does not: reported (the hub would answer an
 *   error, so it is not a hole, but the readers should agree).
 *
 * Exits 1 on any disagreement, printing the bodies. Prints the seed, so a run
 * can be replayed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { field, GoJsonError, isObject, parseGoJson, type JsonValue } from "../../src/auth/go_json.js";

const count = Number(process.argv[2] ?? 100_000);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
if (!Number.isSafeInteger(count) || count <= 0 || !Number.isSafeInteger(seed)) {
  console.error("usage: node build/test/fuzz/go_json_diff.js [count] [seed]");
  process.exit(2);
}

// ---- a seeded generator (mulberry32), so a seed replays a run ----
let state = seed >>> 0;
function rnd(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
const text = (s: string): Buffer => Buffer.from(s, "utf8");

/** A key spelled so that Go may or may not match it to the field `name`. */
function keySpelling(name: string): string {
  const i = Math.floor(rnd() * name.length);
  const esc = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  return pick<() => string>([
    () => name,
    () => name,
    () => name.toUpperCase(),
    () => [...name].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c)).join(""),
    () => name.replace("s", "\u017f"),
    () => name.replace("S", "\u017f"),
    () => name.replace("k", "\u212a"),
    () => name.replace("i", "\u0130"),
    () => name.replace("i", "\u0131"),
    () => name.replace("e", "\u0435"),
    () => name.replace("_", "\uff3f"),
    () => name + " ",
    () => name + "\\u0000",
    () => name.slice(0, i) + esc(name[i]!) + name.slice(i + 1),
    () => name.slice(0, i) + esc(name[i]!.toUpperCase()) + name.slice(i + 1),
    () => name.replace("s", "\\u017f"),
  ])();
}

/** The bytes between the quotes of a string value: mostly valid, now and then broken. */
function stringContents(): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(rnd() * 6);
  for (let k = 0; k < n; k++) {
    parts.push(
      pick<() => Buffer>([
        () => text(pick(["_INBOX.", "a", ".", "x.y", "choria.lifecycle.", "choria.reply.", "é", "\u2028", "😀", ">", "*"])),
        () => text(pick(["\\n", '\\"', "\\\\", "\\/", "\\b", "\\f", "\\t", "\\r"])),
        () => text(`\\u${Math.floor(rnd() * 65536).toString(16).padStart(4, "0")}`),
        () => text(`\\u${pick(["d800", "dbff", "dc00", "dfff", "D83D", "DE00", "002e", "005F", "0000"])}`),
        () => text(`\\u${pick(["d83d\\ude00", "d83d\\u0041", "d800\\ud800", "dc00\\ud800", "D83D\\uDE00"])}`),
        () => Buffer.from([0x20 + Math.floor(rnd() * 224)].filter((b) => b !== 0x22 && b !== 0x5c)),
        () => Buffer.from(pick([[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xe2, 0x82], [0xc3], [0xff], [0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3, 0xa9], [0xef, 0xbf, 0xbd]])),
      ])(),
    );
    if (rnd() < 0.03) parts.push(pick([text(pick(["\\x41", "\\u12", "\\U0041", "\\'"])), Buffer.from([pick([0x00, 0x01, 0x1f, 0x7f, 0x09, 0x0a])])]));
  }
  return Buffer.concat(parts);
}

const space = (): Buffer => text(rnd() < 0.97 ? pick(["", "", " ", "\n", "\t", "\r"]) : pick(["\f", "\v", "\u00a0", "\ufeff"]));
const stringValue = (): Buffer => Buffer.concat([text('"'), stringContents(), text('"')]);
const otherValue = (): Buffer => text(pick(["null", "null", "1", "[]", "{}", "true", '"x"']));

/** A consumer-create body. */
function body(): Buffer {
  const fields: Buffer[] = [];
  const add = (name: string, value: Buffer) => fields.push(Buffer.concat([text(`"${keySpelling(name)}":`), space(), value]));
  for (const name of ["deliver_subject", "deliver_group", "filter_subject"]) {
    if (rnd() < 0.7) add(name, rnd() < 0.9 ? stringValue() : otherValue());
  }
  if (rnd() < 0.3) add("filter_subjects", rnd() < 0.9 ? Buffer.concat([text("["), stringValue(), rnd() < 0.5 ? Buffer.concat([text(","), stringValue()]) : text(""), text("]")]) : otherValue());
  if (rnd() < 0.1) add(pick(["deliver_subject", "filter_subject"]), stringValue()); // perhaps given twice
  fields.push(text('"ack_policy":"none"'));
  for (let k = fields.length - 1; k > 0; k--) {
    const j = Math.floor(rnd() * (k + 1));
    [fields[k], fields[j]] = [fields[j]!, fields[k]!];
  }
  const config = Buffer.concat([text("{"), ...fields.flatMap((f, k) => (k ? [text(","), space(), f] : [space(), f])), text("}")]);
  const parts = [space(), text(`{"stream_name":"S","${keySpelling("config")}":`), config];
  if (rnd() < 0.03) parts.push(text(`,"${keySpelling("config")}":{"ack_policy":"none"}`));
  parts.push(space(), text("}"));
  if (rnd() < 0.01) parts.unshift(text("\ufeff"));
  if (rnd() < 0.01) parts.push(text(pick(["x", ",", "}", " \n", "\u0000"])));
  return Buffer.concat(parts);
}

// ---- the two readers ----

interface Reading {
  deliver: string;
  group: string;
  filter: string;
  filters: string[] | null;
}

/** What Go's struct would hold, read through the gateway's reader; a string saying why when it refuses. */
function gatewayReads(b: Buffer): Reading | string {
  let v: JsonValue;
  try {
    v = parseGoJson(b);
  } catch (err) {
    if (err instanceof GoJsonError) return err.message;
    throw err;
  }
  if (!isObject(v)) return "not an object";
  const c = field(v, "config");
  if (c === null || c === undefined) return { deliver: "", group: "", filter: "", filters: null };
  if (!isObject(c)) return "config is not an object";
  const str = (name: string): string | null => {
    const s = field(c, name);
    return s === undefined || s === null ? "" : typeof s === "string" ? s : null;
  };
  const deliver = str("deliver_subject");
  const group = str("deliver_group");
  const filter = str("filter_subject");
  if (deliver === null || group === null || filter === null) return "a field is not a string";
  const fs = field(c, "filter_subjects");
  if (fs !== undefined && fs !== null && !(Array.isArray(fs) && fs.every((x) => typeof x === "string"))) return "filter_subjects is not a list of strings";
  const filters = Array.isArray(fs) && fs.length > 0 ? (fs as string[]) : null;
  return { deliver, group, filter, filters };
}

interface GoAnswer {
  ok: boolean;
  err?: string;
  deliver: string;
  group: string;
  filter: string;
  filters: string[] | null;
}

function goReads(bodies: readonly Buffer[]): GoAnswer[] {
  const src = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fuzz/go_json_diff");
  const dir = mkdtempSync(join(tmpdir(), "go-json-diff-"));
  try {
    const bin = join(dir, "go_json_diff");
    const build = spawnSync("go", ["build", "-o", bin, "."], { cwd: src, encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod", GOCACHE: join(dir, "cache") } });
    if (build.error || build.status !== 0) {
      console.error(`go_json_diff: cannot build ${src} (needs the Go toolchain, Debian: golang-go): ${build.error?.message ?? build.stderr}`);
      process.exit(2);
    }
    const run = spawnSync(bin, { input: bodies.map((b) => b.toString("base64")).join("\n") + "\n", maxBuffer: 1 << 30, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`go_json_diff exited ${run.status}: ${run.stderr}`);
    return run.stdout.trim().split("\n").map((l) => JSON.parse(l) as GoAnswer);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the run ----

console.log(`reading ${count} consumer-create bodies with the gateway and with Go's encoding/json, seed ${seed}`);
const bodies = Array.from({ length: count }, body);
const answers = goReads(bodies);
const tally = { both: 0, neither: 0, twiceRefused: 0 };
const disagreements: string[] = [];
for (let i = 0; i < count; i++) {
  const g = answers[i]!;
  const ours = gatewayReads(bodies[i]!);
  const shown = JSON.stringify(bodies[i]!.toString("latin1"));
  if (g.ok && typeof ours !== "string") {
    tally.both++;
    const goFilters = g.filters && g.filters.length > 0 ? g.filters : null; // Go keeps [] as an empty list
    const same = g.deliver === ours.deliver && g.group === ours.group && g.filter === ours.filter && JSON.stringify(goFilters) === JSON.stringify(ours.filters);
    if (!same) disagreements.push(`read differently: ${shown}\n  Go:      ${JSON.stringify(g)}\n  gateway: ${JSON.stringify(ours)}`);
  } else if (g.ok && typeof ours === "string") {
    if (ours.includes("appears more than once")) tally.twiceRefused++;
    else disagreements.push(`Go reads it, the gateway refuses it (${ours}): ${shown}`);
  } else if (typeof ours !== "string") {
    disagreements.push(`the gateway reads it, Go refuses it (${g.err}): ${shown}`);
  } else tally.neither++;
}
console.log(`both read ${tally.both}, neither ${tally.neither}, key given twice (Go merges, the gateway refuses) ${tally.twiceRefused}, disagreements ${disagreements.length}`);
for (const d of disagreements.slice(0, 20)) console.log(d);
process.exit(disagreements.length === 0 ? 0 : 1);
