/**
 * The hub→leaf parser: every op form of docs/protocol.md#leaf-grammar from a table, the
 * same stream split at every byte offset and fed byte by byte, zero-copy
 * payload views, violations with their stable codes, encoder round trips, and
 * fuzzed streams (fast-check): random leaf ops and noise give the same ops and
 * error however they are split, and nothing but ProtocolError escapes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LeafParser, LeafState, type LeafOpSink } from "../../../src/protocol/leaf_parser.js";
import { ProtocolErrorCode } from "../../../src/protocol/line_reader.js";
import { encodeConnect, encodeLeafMsg, encodeLsMinus, encodeLsPlus } from "../../../src/protocol/leaf_encode.js";
import { ProtocolError } from "../../../src/errors.js";
import fc from "fast-check";

type Op =
  | { op: "INFO"; json: string }
  | { op: "LS+"; subject: string; queue: string | undefined; weight: number }
  | { op: "LS-"; subject: string; queue: string | undefined }
  | { op: "MSG"; subject: string; reply: string | undefined; queues: string[] | null; hdrLen: number; payload: string }
  | { op: "PING" } | { op: "PONG" } | { op: "+OK" } | { op: "-ERR"; text: string };

class Recorder implements LeafOpSink {
  readonly ops: Op[] = [];
  readonly views: Uint8Array[] = [];
  info(json: string): void { this.ops.push({ op: "INFO", json }); }
  lsPlus(subject: string, queue: string | undefined, weight: number): void { this.ops.push({ op: "LS+", subject, queue, weight }); }
  lsMinus(subject: string, queue: string | undefined): void { this.ops.push({ op: "LS-", subject, queue }); }
  msg(subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void {
    this.views.push(payload);
    this.ops.push({ op: "MSG", subject, reply, queues, hdrLen, payload: Buffer.from(payload).toString("utf8") });
  }
  ping(): void { this.ops.push({ op: "PING" }); }
  pong(): void { this.ops.push({ op: "PONG" }); }
  ok(): void { this.ops.push({ op: "+OK" }); }
  err(text: string): void { this.ops.push({ op: "-ERR", text }); }
}

const b = (s: string): Uint8Array => Buffer.from(s, "utf8");
const msg = (subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: string): Op =>
  ({ op: "MSG", subject, reply, queues, hdrLen, payload });

const HDR = "NATS/1.0\r\nX-Probe: 1\r\n\r\n"; // 24 bytes

const valid: [string, string, Op[]][] = [
  ["INFO with the trailing space", 'INFO {"server_id":"N1","client_id":3} \r\n', [{ op: "INFO", json: '{"server_id":"N1","client_id":3}' }]],
  ["INFO without separator", 'INFO{"a":1}\r\n', [{ op: "INFO", json: '{"a":1}' }]],
  ["LS+ plain", "LS+ foo.>\r\n", [{ op: "LS+", subject: "foo.>", queue: undefined, weight: 1 }]],
  ["LS+ queue with weight", "LS+ bar qgrp 3\r\n", [{ op: "LS+", subject: "bar", queue: "qgrp", weight: 3 }]],
  ["LS- plain", "LS- late\r\n", [{ op: "LS-", subject: "late", queue: undefined }]],
  ["LS- queue", "LS- work wq\r\n", [{ op: "LS-", subject: "work", queue: "wq" }]],
  ["LMSG subject size", "LMSG foo 5\r\nhello\r\n", [msg("foo", undefined, null, -1, "hello")]],
  ["LMSG subject reply size", "LMSG svc.echo _INBOX.probe.1 4\r\nping\r\n", [msg("svc.echo", "_INBOX.probe.1", null, -1, "ping")]],
  ["LMSG + reply queues", "LMSG work + _INBOX.c.9 wq q2 1\r\n9\r\n", [msg("work", "_INBOX.c.9", ["wq", "q2"], -1, "9")]],
  ["LMSG | queues", "LMSG work | wq 3\r\njob\r\n", [msg("work", undefined, ["wq"], -1, "job")]],
  ["LMSG empty payload", "LMSG foo 0\r\n\r\n", [msg("foo", undefined, null, -1, "")]],
  ["HMSG subject hdr total", `HMSG foo 24 26\r\n${HDR}hi\r\n`, [msg("foo", undefined, null, 24, HDR + "hi")]],
  ["HMSG subject reply hdr total", `HMSG foo rep.1 24 26\r\n${HDR}hi\r\n`, [msg("foo", "rep.1", null, 24, HDR + "hi")]],
  ["HMSG + reply queues", `HMSG hh + rep.1 q2 q1 24 26\r\n${HDR}hi\r\n`, [msg("hh", "rep.1", ["q2", "q1"], 24, HDR + "hi")]],
  ["HMSG | queues", `HMSG hh | q1 24 24\r\n${HDR}\r\n`, [msg("hh", undefined, ["q1"], 24, HDR)]],
  ["PING PONG +OK", "PING\r\nPONG\r\n+OK\r\n", [{ op: "PING" }, { op: "PONG" }, { op: "+OK" }]],
  ["-ERR strips quotes", "-ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'\r\n",
    [{ op: "-ERR", text: 'Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s' }]],
  ["ops are case-insensitive", "lmsg foo 1\r\nx\r\nls+ a\r\nLs- a\r\npInG\r\ninfo {}\r\nhmsg f 12 12\r\nNATS/1.0\r\n\r\n\r\n+ok\r\n-err 'x'\r\n",
    [msg("foo", undefined, null, -1, "x"), { op: "LS+", subject: "a", queue: undefined, weight: 1 }, { op: "LS-", subject: "a", queue: undefined },
      { op: "PING" }, { op: "INFO", json: "{}" }, msg("f", undefined, null, 12, "NATS/1.0\r\n\r\n"), { op: "+OK" }, { op: "-ERR", text: "x" }]],
  ["LF-only control lines", "LS+ a\nLMSG a 2\nhi\r\nPING\n", [{ op: "LS+", subject: "a", queue: undefined, weight: 1 }, msg("a", undefined, null, -1, "hi"), { op: "PING" }]],
  ["tabs and runs of spaces", "LMSG\t foo \t r  3 \r\nabc\r\nLS+  bar\tq 2  \r\n",
    [msg("foo", "r", null, -1, "abc"), { op: "LS+", subject: "bar", queue: "q", weight: 2 }]],
  ["UTF-8 subject", "LMSG grüße 2\r\nok\r\n", [msg("grüße", undefined, null, -1, "ok")]],
  ["payload containing CRLF and op text", "LMSG a 13\r\nPING\r\nLS+ x\r\n\r\n", [msg("a", undefined, null, -1, "PING\r\nLS+ x\r\n")]],
];

function parseAll(chunks: Uint8Array[]): Recorder {
  const rec = new Recorder();
  const p = new LeafParser(rec);
  for (const c of chunks) p.parse(c);
  return rec;
}

describe("leaf parser: op forms", () => {
  for (const [name, input, expected] of valid) {
    test(name, () => {
      assert.deepEqual(parseAll([b(input)]).ops, expected);
    });
  }
});

describe("leaf parser: split reads", () => {
  const stream = valid.map(([, input]) => input).join("");
  const expected = valid.flatMap(([, , ops]) => ops);
  const bytes = b(stream);

  test("the whole stream in one chunk", () => {
    assert.deepEqual(parseAll([bytes]).ops, expected);
  });

  test("split into two chunks at every offset", () => {
    for (let k = 1; k < bytes.length; k++) {
      const ops = parseAll([bytes.slice(0, k), bytes.slice(k)]).ops;
      assert.deepEqual(ops, expected, `split at ${k}`);
    }
  });

  test("split into three chunks at pairs of offsets", () => {
    const sample = b("LMSG work + _INBOX.c.9 wq 1\r\n9\r\nHMSG foo rep.1 24 26\r\n" + HDR + "hi\r\nLS+ bar qgrp 3\r\n");
    const want = parseAll([sample]).ops;
    for (let i = 1; i < sample.length - 1; i++) {
      for (let j = i + 1; j < sample.length; j++) {
        assert.deepEqual(parseAll([sample.slice(0, i), sample.slice(i, j), sample.slice(j)]).ops, want, `split at ${i},${j}`);
      }
    }
  });

  test("byte by byte", () => {
    const chunks = Array.from(bytes, (x) => Uint8Array.of(x));
    assert.deepEqual(parseAll(chunks).ops, expected);
  });

  test("state names the bytes read so far", () => {
    const p = new LeafParser(new Recorder());
    p.parse(b("LM"));
    assert.equal(p.currentState, LeafState.OP_LM);
    p.parse(b("SG foo 5\r\nhe"));
    assert.equal(p.currentState, LeafState.MSG_PAYLOAD);
    p.parse(b("llo\r"));
    assert.equal(p.currentState, LeafState.MSG_END_N);
  });
});

describe("leaf parser: payload views", () => {
  test("a payload whole in its chunk is a view into it (zero-copy)", () => {
    const input = b("LMSG a 5\r\nhello\r\n");
    const rec = parseAll([input]);
    assert.equal(rec.views[0]!.buffer, input.buffer);
    assert.equal(rec.views[0]!.byteOffset, input.byteOffset + 10);
  });

  test("a payload split across chunks is assembled into its own buffer", () => {
    const input = b("LMSG a 5\r\nhello\r\n");
    const first = input.slice(0, 12);
    const rec = parseAll([first, input.slice(12)]);
    assert.notEqual(rec.views[0]!.buffer, first.buffer);
    assert.equal(Buffer.from(rec.views[0]!).toString(), "hello");
  });
});

describe("leaf parser: violations", () => {
  const cases: [string, string, string][] = [
    ["HLMSG does not exist on 2.9.10", "HLMSG foo 12 14\r\n", ProtocolErrorCode.UnknownOp],
    ["leading whitespace", "  PING\r\n", ProtocolErrorCode.UnknownOp],
    ["empty line", "\r\n", ProtocolErrorCode.UnknownOp],
    ["client op SUB", "SUB foo 1\r\n", ProtocolErrorCode.UnknownOp],
    ["LS+ without separator", "LS+foo\r\n", ProtocolErrorCode.UnknownOp],
    // LMSG spelt wrong, or not followed by a blank.
    ["LMSG without separator", "LMSGfoo 1\r\nx\r\n", ProtocolErrorCode.UnknownOp],
    ["LMSG misspelt", "LMSX foo 1\r\nx\r\n", ProtocolErrorCode.UnknownOp],
    ["LMSG followed by CR", "LMSG\r\n", ProtocolErrorCode.UnknownOp],
    ["payload not ended by CRLF", "LMSG foo 2\r\nabc\r\n", ProtocolErrorCode.UnknownOp],
    ["split payload not ended by CRLF", "LMSG foo 2\r\nab", ProtocolErrorCode.UnknownOp],
    ["LMSG second token neither + nor |", "LMSG foo x y 1\r\na\r\n", ProtocolErrorCode.BadArgs],
    ["LMSG without size", "LMSG foo\r\n", ProtocolErrorCode.BadArgs],
    ["LMSG bad size", "LMSG foo 1x\r\n", ProtocolErrorCode.BadArgs],
    ["HMSG header larger than total", "HMSG foo 5 4\r\n", ProtocolErrorCode.BadArgs],
    ["LS+ with two arguments", "LS+ foo q\r\n", ProtocolErrorCode.BadArgs],
    ["LS+ queue weight zero", "LS+ foo q 0\r\n", ProtocolErrorCode.BadArgs],
    ["LS- without subject", "LS- \r\n", ProtocolErrorCode.BadArgs],
  ];
  for (const [name, input, code] of cases) {
    test(name, () => {
      const p = new LeafParser(new Recorder());
      const bytes = b(input);
      // The split payload case only fails once the terminator bytes arrive.
      const feed = (): void => { p.parse(bytes); if (input.endsWith("ab")) p.parse(b("x\r\n")); };
      assert.throws(feed, (err: unknown) => {
        assert.ok(err instanceof ProtocolError);
        assert.equal(err.code, code);
        return true;
      });
    });
  }

  test("announced payload above the limit", () => {
    const p = new LeafParser(new Recorder(), { maxPayload: 10 });
    assert.throws(() => p.parse(b("LMSG foo 11\r\n")), { code: ProtocolErrorCode.MaxPayload });
  });

  test("control line above the limit, also while still partial", () => {
    const whole = new LeafParser(new Recorder(), { maxControlLine: 16 });
    assert.throws(() => whole.parse(b("INFO " + "x".repeat(40) + "\r\n")), { code: ProtocolErrorCode.MaxControlLine });
    const partial = new LeafParser(new Recorder(), { maxControlLine: 16 });
    partial.parse(b("INFO " + "x".repeat(10)));
    assert.throws(() => partial.parse(b("y".repeat(10))), { code: ProtocolErrorCode.MaxControlLine });
  });

  // parse() checks a whole LMSG/HMSG line's length itself; a line gathered over
  // reads is checked by LineReader.lengthWith(). Both must draw the line at the
  // same byte, with CR LF or LF alone, however the bytes arrive.
  test("property: an LMSG/HMSG line at the limit is accepted and one byte more refused, whole or split", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: -2, max: 2 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        (subjectLen, delta, crlf, headers, cut) => {
          const args = `${"s".repeat(subjectLen)} ${headers ? "0 0" : "0"}`;
          const line = `${headers ? "HMSG" : "LMSG"} ${args}`;
          const limit = Math.max(1, args.length + delta);
          const input = b(`${line}${crlf ? "\r\n" : "\n"}\r\n`);
          const at = cut % (input.length + 1);
          const outcome = (chunks: Uint8Array[]): string => {
            const p = new LeafParser(new Recorder(), { maxControlLine: limit });
            try {
              for (const c of chunks) p.parse(c);
              return "ok";
            } catch (err) {
              return (err as ProtocolError).code;
            }
          };
          const want = args.length <= limit ? "ok" : ProtocolErrorCode.MaxControlLine;
          assert.equal(outcome([input]), want);
          assert.equal(outcome([input.subarray(0, at), input.subarray(at)]), want, `split at ${at}`);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("leaf encoder", () => {
  const frames: [string, Uint8Array, string][] = [
    ["plain", encodeLeafMsg("foo", undefined, null, -1, b("hi")), "LMSG foo 2\r\nhi\r\n"],
    ["reply", encodeLeafMsg("foo", "r.1", [], -1, b("hi")), "LMSG foo r.1 2\r\nhi\r\n"],
    ["reply + queues", encodeLeafMsg("work", "_INBOX.x", ["wq", "q2"], 0, b("9")), "LMSG work + _INBOX.x wq q2 1\r\n9\r\n"],
    ["queues only", encodeLeafMsg("work", undefined, ["wq"], -1, b("job")), "LMSG work | wq 3\r\njob\r\n"],
    ["headers", encodeLeafMsg("up.h", undefined, null, 24, b(HDR + "hi")), `HMSG up.h 24 26\r\n${HDR}hi\r\n`],
    ["headers + reply + queue", encodeLeafMsg("hh", "rep.1", ["q1"], 24, b(HDR + "hi")), `HMSG hh + rep.1 q1 24 26\r\n${HDR}hi\r\n`],
    ["LS+ plain", encodeLsPlus("foo.>", undefined, 1), "LS+ foo.>\r\n"],
    ["LS+ queue", encodeLsPlus("work", "wq", 3), "LS+ work wq 3\r\n"],
    ["LS- plain", encodeLsMinus("foo.>", undefined), "LS- foo.>\r\n"],
    ["LS- queue has no weight", encodeLsMinus("work", "wq"), "LS- work wq\r\n"],
  ];
  for (const [name, frame, want] of frames) {
    test(name, () => assert.equal(Buffer.from(frame).toString("utf8"), want));
  }

  test("CONNECT carries leaf fields and never lang", () => {
    const line = Buffer.from(encodeConnect({ name: "gw1", version: "0.1.0", tls_required: true, headers: true, jwt: "a.b.c", sig: "s" })).toString();
    assert.match(line, /^CONNECT \{.*\}\r\n$/);
    const json = JSON.parse(line.slice(8)) as Record<string, unknown>;
    assert.deepEqual(json, { version: "0.1.0", tls_required: true, name: "gw1", headers: true, jwt: "a.b.c", sig: "s" });
    assert.equal("lang" in json, false);
  });

  test("encoded messages parse back to the same values", () => {
    const rec = parseAll([encodeLeafMsg("hh", "rep.1", ["q1", "q2"], 24, b(HDR + "body")), encodeLeafMsg("a.b", undefined, ["q"], -1, b(""))]);
    assert.deepEqual(rec.ops, [msg("hh", "rep.1", ["q1", "q2"], 24, HDR + "body"), msg("a.b", undefined, ["q"], -1, "")]);
  });
});

describe("leaf parser: fuzzed streams", () => {
  const enc = new TextEncoder();
  const word = fc.constantFrom("foo", "a.b", "_INBOX.x.1", "$LDS.abc", "q1", "wq", "ü");
  const payload = fc.string({ maxLength: 40 });
  const op: fc.Arbitrary<string> = fc.oneof(
    fc.tuple(word, fc.option(fc.tuple(word, fc.integer({ min: 0, max: 5 })))).map(([s, q]) => (q ? `LS+ ${s} ${q[0]} ${q[1]}\r\n` : `LS+ ${s}\r\n`)),
    fc.tuple(word, fc.option(word)).map(([s, q]) => `LS- ${s}${q ? " " + q : ""}\r\n`),
    fc.tuple(word, fc.option(word), fc.array(word, { maxLength: 3 }), payload).map(([s, r, qs, p]) => {
      const n = Buffer.byteLength(p);
      const mid = qs.length === 0 ? (r ? ` ${r}` : "") : r ? ` + ${r} ${qs.join(" ")}` : ` | ${qs.join(" ")}`;
      return `LMSG ${s}${mid} ${n}\r\n${p}\r\n`;
    }),
    fc.tuple(word, payload).map(([s, p]) => `HMSG ${s} 12 ${12 + Buffer.byteLength(p)}\r\nNATS/1.0\r\n\r\n${p}\r\n`),
    fc.constantFrom("PING\r\n", "PONG\r\n", "+OK\r\n", "-ERR 'x y'\r\n", 'INFO {"a":1} \r\n', "\r\n", "LMSG a x y 1\r\n", "HLMSG", " ", "LS+ a q 0\r\n"),
  );
  const run = (input: Uint8Array, cuts: number[]): { ops: Op[]; error: string | null } => {
    const rec = new Recorder();
    const p = new LeafParser(rec, { maxControlLine: 64, maxPayload: 32 });
    let error: string | null = null;
    let from = 0;
    try {
      for (const to of [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y).concat(input.length)) {
        if (to <= from) continue;
        p.parse(input.subarray(from, to));
        from = to;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      error = err.code;
    }
    return { ops: rec.ops, error };
  };
  test("20,000 streams: the same ops and error for every split", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 6 }), (ops, cuts) => {
        const input = enc.encode(ops.join(""));
        assert.deepEqual(run(input, cuts), run(input, []));
      }),
      { numRuns: 20_000 },
    );
  });
});
