/**
 * JSON read the way the hub reads it. nats-server decodes every JetStream API
 * body with Go's encoding/json, and the gateway decides what a request may do
 * from the same body (auth/jetstream.ts). If the two readers could disagree
 * about what a body says, a caller could show the gateway one request and the
 * hub another. So this reader is strict where Go is strict and refuses what
 * Go would read in a way the gateway cannot see:
 *
 * - the grammar is RFC 8259, as Go's scanner checks it (no comments, no
 *   trailing commas, nothing after the value but white space);
 * - inside strings, invalid UTF-8 becomes U+FFFD one byte at a time, and a
 *   `\u` escape naming a lone surrogate becomes U+FFFD without consuming the
 *   escape after it, as Go's unquote does;
 * - Go matches object keys to struct fields case-insensitively (with the two
 *   extra folds `ſ`→`s` and the Kelvin sign →`k`) and, when a key repeats,
 *   merges or overwrites: two keys of one object that fold alike are refused
 *   at any depth, so every field has exactly one value;
 * - nesting deeper than MAX_DEPTH is refused (Go stops at 10,000).
 *
 * Numbers keep their text, so a body changed and written back (serialise)
 * keeps every other byte of meaning, 64-bit sequence numbers included. Pure,
 * no I/O; works on the bytes the parser delivered.
 */

/** Deeper nesting is refused; no JetStream request comes near it. */
export const MAX_DEPTH = 512;

/** A JSON number, kept as written. */
export interface JsonNumber {
  readonly kind: "number";
  readonly text: string;
}

/** An object with its keys in order; no two keys fold alike (see goFold). */
export interface JsonObject {
  readonly kind: "object";
  readonly keys: string[];
  readonly values: JsonValue[];
}

export type JsonValue = JsonObject | JsonValue[] | string | JsonNumber | boolean | null;

/** Why a body could not be read unambiguously; `message` is for the log. */
export class GoJsonError extends Error {
  override readonly name = "GoJsonError";
}

/** Go's case folding of an object key for matching struct fields. */
export function goFold(key: string): string {
  return key.toLowerCase().replace(/\u017f/g, "s").replace(/\u212a/g, "k");
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (v as JsonObject).kind === "object";
}

/** The value under the key that folds to `name` (Go's struct field match), or undefined. */
export function field(obj: JsonObject, name: string): JsonValue | undefined {
  const i = fieldIndex(obj, name);
  return i < 0 ? undefined : obj.values[i];
}

/** Set the field that folds to `name` (keeping its key as written), or add it. */
export function setField(obj: JsonObject, name: string, value: JsonValue): void {
  const i = fieldIndex(obj, name);
  if (i >= 0) obj.values[i] = value;
  else {
    obj.keys.push(name);
    obj.values.push(value);
  }
}

function fieldIndex(obj: JsonObject, name: string): number {
  for (let i = 0; i < obj.keys.length; i++) if (goFold(obj.keys[i]!) === name) return i;
  return -1;
}

/** Read one JSON value from `bytes` as Go would; throws GoJsonError. */
export function parseGoJson(bytes: Uint8Array): JsonValue {
  const r = new Reader(bytes);
  r.space();
  const v = r.value(0);
  r.space();
  if (r.at < bytes.length) r.fail("after top-level value");
  return v;
}

/** Write a value back as compact JSON (numbers as they were written). */
export function serialise(v: JsonValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(serialise).join(",")}]`;
  if (v.kind === "number") return v.text;
  let out = "{";
  for (let i = 0; i < v.keys.length; i++) out += `${i > 0 ? "," : ""}${JSON.stringify(v.keys[i])}:${serialise(v.values[i]!)}`;
  return `${out}}`;
}

const REPLACEMENT = "\ufffd";

/** JSON white space, as Go's scanner takes it: space, tab, LF, CR. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Nothing but JSON white space: no value at all (Go's reader finds none either). */
export function isBlankJson(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (!isJsonSpace(b[i]!)) return false;
  return true;
}

class Reader {
  at = 0;
  constructor(private readonly b: Uint8Array) {}

  fail(what: string): never {
    const c = this.b[this.at];
    const shown = c === undefined ? "end of input" : `character ${JSON.stringify(String.fromCharCode(c))}`;
    throw new GoJsonError(`invalid JSON: unexpected ${shown} at byte ${this.at} ${what}`);
  }

  space(): void {
    const b = this.b;
    while (this.at < b.length && isJsonSpace(b[this.at]!)) this.at++;
  }

  value(depth: number): JsonValue {
    const c = this.b[this.at];
    switch (c) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal("true", true);
      case 0x66: // f
        return this.literal("false", false);
      case 0x6e: // n
        return this.literal("null", null);
      default:
        if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail("looking for beginning of value");
    }
  }

  private nest(depth: number): void {
    if (depth > MAX_DEPTH) throw new GoJsonError(`invalid JSON: nested deeper than ${MAX_DEPTH} levels`);
    this.at++;
    this.space();
  }

  private object(depth: number): JsonObject {
    this.nest(depth);
    const obj: JsonObject = { kind: "object", keys: [], values: [] };
    if (this.b[this.at] === 0x7d) {
      this.at++;
      return obj;
    }
    const folded = new Set<string>();
    for (;;) {
      if (this.b[this.at] !== 0x22) this.fail("looking for beginning of object key string");
      const key = this.string();
      const f = goFold(key);
      if (folded.has(f)) throw new GoJsonError(`ambiguous JSON: key ${JSON.stringify(key)} appears more than once in one object (keys match case-insensitively)`);
      folded.add(f);
      this.space();
      if (this.b[this.at] !== 0x3a) this.fail("after object key");
      this.at++;
      this.space();
      obj.keys.push(key);
      obj.values.push(this.value(depth));
      this.space();
      const c = this.b[this.at];
      this.at++;
      if (c === 0x7d) return obj;
      if (c !== 0x2c) {
        this.at--;
        this.fail("after object key:value pair");
      }
      this.space();
    }
  }

  private array(depth: number): JsonValue[] {
    this.nest(depth);
    const arr: JsonValue[] = [];
    if (this.b[this.at] === 0x5d) {
      this.at++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.space();
      const c = this.b[this.at];
      this.at++;
      if (c === 0x5d) return arr;
      if (c !== 0x2c) {
        this.at--;
        this.fail("after array element");
      }
      this.space();
    }
  }

  private literal<T>(word: string, v: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.b[this.at] !== word.charCodeAt(i)) this.fail(`in literal ${word}`);
      this.at++;
    }
    return v;
  }

  private number(): JsonNumber {
    const b = this.b;
    const start = this.at;
    const digits = () => {
      const from = this.at;
      while (this.at < b.length && b[this.at]! >= 0x30 && b[this.at]! <= 0x39) this.at++;
      if (this.at === from) this.fail("in numeric literal");
    };
    if (b[this.at] === 0x2d) this.at++;
    if (b[this.at] === 0x30) this.at++;
    else digits();
    if (b[this.at] === 0x2e) {
      this.at++;
      digits();
    }
    if (b[this.at] === 0x65 || b[this.at] === 0x45) {
      this.at++;
      if (b[this.at] === 0x2b || b[this.at] === 0x2d) this.at++;
      digits();
    }
    return { kind: "number", text: latin1(b, start, this.at) };
  }

  /** A string at `at` (which holds the opening quote), unquoted as Go's unquote does. */
  private string(): string {
    const b = this.b;
    this.at++;
    let out = "";
    let run = this.at; // start of a run of plain ASCII copied in one go
    for (;;) {
      const c = b[this.at];
      if (c === undefined) this.fail("in string literal");
      if (c === 0x22) {
        out += latin1(b, run, this.at);
        this.at++;
        return out;
      }
      if (c < 0x20) this.fail("in string literal");
      if (c < 0x80 && c !== 0x5c) {
        this.at++;
        continue;
      }
      out += latin1(b, run, this.at);
      if (c === 0x5c) out += this.escape();
      else out += this.utf8Rune();
      run = this.at;
    }
  }

  private escape(): string {
    const b = this.b;
    this.at++; // the backslash
    const e = b[this.at];
    this.at++;
    switch (e) {
      case 0x22:
        return '"';
      case 0x5c:
        return "\\";
      case 0x2f:
        return "/";
      case 0x62:
        return "\b";
      case 0x66:
        return "\f";
      case 0x6e:
        return "\n";
      case 0x72:
        return "\r";
      case 0x74:
        return "\t";
      case 0x75: {
        const r = this.hex4(this.at);
        if (r < 0) this.fail("in \\u hexadecimal character escape");
        this.at += 4;
        if (r < 0xd800 || r > 0xdfff) return String.fromCharCode(r);
        // A surrogate: only a high one followed by an escaped low one makes a rune.
        if (r <= 0xdbff && b[this.at] === 0x5c && b[this.at + 1] === 0x75) {
          const lo = this.hex4(this.at + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            this.at += 6;
            return String.fromCharCode(r, lo);
          }
        }
        return REPLACEMENT; // Go: a lone surrogate is U+FFFD, the next escape stays
      }
      default:
        this.at--;
        return this.fail("in string escape code");
    }
  }

  private hex4(at: number): number {
    let r = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.b[at + i];
      if (c === undefined) return -1;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) return -1;
      r = r * 16 + d;
    }
    return r;
  }

  /** One UTF-8 sequence, or U+FFFD for one invalid byte (Go's utf8.DecodeRune). */
  private utf8Rune(): string {
    const b = this.b;
    const c0 = b[this.at]!;
    const cont = (i: number, lo = 0x80, hi = 0xbf) => {
      const c = b[this.at + i];
      return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
    };
    let cp = -1;
    let n = 1;
    if (c0 >= 0xc2 && c0 <= 0xdf) {
      const c1 = cont(1);
      if (c1 >= 0) [cp, n] = [((c0 & 0x1f) << 6) | c1, 2];
    } else if (c0 >= 0xe0 && c0 <= 0xef) {
      const c1 = cont(1, c0 === 0xe0 ? 0xa0 : 0x80, c0 === 0xed ? 0x9f : 0xbf);
      const c2 = c1 >= 0 ? cont(2) : -1;
      if (c2 >= 0) [cp, n] = [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
    } else if (c0 >= 0xf0 && c0 <= 0xf4) {
      const c1 = cont(1, c0 === 0xf0 ? 0x90 : 0x80, c0 === 0xf4 ? 0x8f : 0xbf);
      const c2 = c1 >= 0 ? cont(2) : -1;
      const c3 = c2 >= 0 ? cont(3) : -1;
      if (c3 >= 0) [cp, n] = [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
    }
    this.at += cp < 0 ? 1 : n;
    return cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return from === to ? "" : Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("latin1");
}
