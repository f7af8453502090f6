// The Go-compatible JSON reader (auth/go_json.ts): table tests of what Go's
// encoding/json accepts, refuses and repairs, and properties against
// JSON.parse for ordinary JSON (same values, numbers kept as written) and for
// keys given twice (always refused, whatever their case).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { GoJsonError, MAX_DEPTH, field, goFold, isObject, parseGoJson, serialise, type JsonValue } from "../../../src/auth/go_json.js";

const parse = (s: string | Buffer) => parseGoJson(typeof s === "string" ? Buffer.from(s) : s);

/** The plain JavaScript value of a parsed tree (numbers as JS numbers), to compare with JSON.parse. */
function plain(v: JsonValue): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v.kind === "number") return Number(v.text);
  return Object.fromEntries(v.keys.map((k, i) => [k, plain(v.values[i]!)]));
}

/** Whether some object in a JSON.parse value has two keys that Go's field match folds alike (the generator makes them now and then). */
function foldsAlike(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) return v.some(foldsAlike);
  const keys = Object.keys(v);
  return new Set(keys.map(goFold)).size !== keys.length || Object.values(v).some(foldsAlike);
}

describe("what Go reads", () => {
  test("grammar: RFC 8259 as Go's scanner checks it", () => {
    for (const ok of ['{"a":1}', " [1, 2.5e-3, -0, true, false, null] ", '"x"', "0", '{"a":{"b":[{}]}}', '{"":""}', "\t\r\n{}\n"]) {
      assert.deepEqual(plain(parse(ok)), JSON.parse(ok), ok);
    }
    for (const bad of ["", "{", "{}x", "{} {}", "[1,]", '{"a":1,}', "01", "1.", ".5", "+1", "1e", "NaN", "'a'", '{a:1}', "/*c*/{}", "tru", "nul", '"\\x"', '"a\tb"', "\ufeff{}", '{"a" 1}', "[1 2]"]) {
      assert.throws(() => parse(bad), GoJsonError, JSON.stringify(bad));
    }
  });
  test("invalid UTF-8 becomes U+FFFD one byte at a time, as Go's utf8.DecodeRune", () => {
    const s = (bytes: number[]) => parse(Buffer.concat([Buffer.from('"'), Buffer.from(bytes), Buffer.from('"')]));
    assert.equal(s([0xff]), "\ufffd");
    assert.equal(s([0xe2, 0x82]), "\ufffd\ufffd", "a truncated sequence: one U+FFFD per byte");
    assert.equal(s([0xc0, 0xaf]), "\ufffd\ufffd", "an overlong encoding");
    assert.equal(s([0xed, 0xa0, 0x80]), "\ufffd\ufffd\ufffd", "an encoded surrogate");
    assert.equal(s([0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]), "\u20ac\u{1f600}");
    assert.equal(s([0x61, 0xf4, 0x90, 0x80, 0x80]), "a\ufffd\ufffd\ufffd\ufffd", "beyond U+10FFFF");
  });
  test("\\u escapes: pairs join, a lone surrogate is U+FFFD and the next escape stays", () => {
    assert.equal(parse('"\\u002e"'), ".");
    assert.equal(parse('"\\ud83d\\ude00"'), "\u{1f600}");
    assert.equal(parse('"\\ud83d"'), "\ufffd");
    assert.equal(parse('"\\ude00\\u0041"'), "\ufffdA");
    assert.equal(parse('"\\ud83d\\u0041"'), "\ufffdA");
    assert.equal(parse('"\\ud83d\\ud83d\\ude00"'), "\ufffd\u{1f600}");
    assert.throws(() => parse('"\\u12"'), GoJsonError);
  });
  test("keys fold as Go matches struct fields; two keys folding alike are refused at any depth", () => {
    assert.equal(goFold("Deliver_Subject"), "deliver_subject");
    assert.equal(goFold("deliver_\u017fubject"), "deliver_subject");
    assert.equal(goFold("\u212aey"), "key");
    for (const bad of ['{"a":1,"a":2}', '{"a":1,"A":2}', '{"x":{"s":1,"\u017f":2}}', '[{"k":1,"\u212a":1}]', '{"a":[{"b":{"c":1,"C":1}}]}']) {
      assert.throws(() => parse(bad), /more than once/, bad);
    }
    const o = parse('{"Config":{"DELIVER_SUBJECT":"x"}}');
    assert.ok(isObject(o));
    const c = field(o, "config");
    assert.ok(isObject(c));
    assert.equal(field(c, "deliver_subject"), "x");
  });
  test("nesting is bounded", () => {
    assert.doesNotThrow(() => parse("[".repeat(MAX_DEPTH) + "]".repeat(MAX_DEPTH)));
    assert.throws(() => parse("[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1)), /nested deeper/);
    assert.throws(() => parse('{"a":'.repeat(100_000)), /nested deeper/, "no stack overflow on a deep body");
  });
  test("numbers are written back as they were read", () => {
    const text = '{"seq":18446744073709551615,"f":1.50,"e":-2E+10,"z":0}';
    assert.equal(serialise(parse(text)), text);
  });
});

describe("properties", () => {
  test("ordinary JSON reads as JSON.parse reads it, and serialises back to the same value; keys that fold alike are refused", () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v);
      if (foldsAlike(JSON.parse(text))) {
        assert.throws(() => parse(text), GoJsonError, text);
        return;
      }
      const tree = parse(text);
      assert.deepEqual(plain(tree), JSON.parse(text));
      assert.deepEqual(JSON.parse(serialise(tree)), JSON.parse(text));
    }), { examples: [[{ v: false, V: 0 }], [[{ a: { KEY: 1, key: 2 } }]], [{ "\u017f": 1, S: 2 }]] });
  });
  test("any byte string either reads or throws GoJsonError, never anything else", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        parseGoJson(b);
      } catch (err) {
        if (!(err instanceof GoJsonError)) throw err;
      }
    }));
  });
  test("valid UTF-8 text reads as JSON.parse reads it", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => {
      assert.equal(parse(JSON.stringify(s)), s);
    }));
  });
});
