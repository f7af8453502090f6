/**
 * Table tests for the client protocol parser: every op in its accepted
 * spellings (docs/protocol.md#framing, #messages), every error path with its exact code and
 * -ERR wire text, the CONNECT stop, the limits (including on partial lines) and
 * the zero-copy payload rule. Every error case is also run byte by byte, since
 * the state machine must reach the same verdict however the bytes arrive.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClientParser } from "../../../src/protocol/client_parser.js";
import { DEFAULT_PARSER_LIMITS, RecordingSink } from "../../../src/protocol/ops.js";
import type { ClientOpSink } from "../../../src/protocol/ops.js";
import { ProtocolErrorCode } from "../../../src/protocol/line_reader.js";
import { bytes, errorOf, feed, newParser, parseChunks, plain } from "../../helpers/parser.js";
import type { PlainOp } from "../../helpers/parser.js";
import fc from "fast-check";

const pub = (subject: string, payload: string, reply?: string, hdrLen = -1): PlainOp => ({
  op: "PUB",
  subject,
  reply,
  hdrLen,
  payload,
});

describe("ClientParser ops", () => {
  const cases: Array<[name: string, input: string, ops: PlainOp[]]> = [
    ["PUB", "PUB foo 5\r\nhello\r\n", [pub("foo", "hello")]],
    ["PUB with reply", "PUB svc.echo _INBOX.x.1 4\r\nping\r\n", [pub("svc.echo", "ping", "_INBOX.x.1")]],
    ["PUB zero-length payload", "PUB foo 0\r\n\r\n", [pub("foo", "")]],
    ["PUB payload holding CRLF", "PUB foo 4\r\n\r\n\r\n\r\n", [pub("foo", "\r\n\r\n")]],
    ["pub lower case", "pub foo 2\r\nhi\r\n", [pub("foo", "hi")]],
    ["PuB mixed case", "PuB foo 2\r\nhi\r\n", [pub("foo", "hi")]],
    ["PUB tabs and runs of blanks", "PUB\tfoo\t 1\r\nx\r\n", [pub("foo", "x")]],
    ["PUB trailing blanks", "PUB foo r 1 \t \r\nx\r\n", [pub("foo", "x", "r")]],
    ["PUB LF-only line", "PUB foo 1\nx\r\n", [pub("foo", "x")]],
    ["PUB size with leading zeros", "PUB foo 005\r\nhello\r\n", [pub("foo", "hello")]],
    ["PUB UTF-8 subject", "PUB héllo.wörld.日本 2\r\nhi\r\n", [pub("héllo.wörld.日本", "hi")]],
    ["PUB 9-digit size", "PUB foo 000000001\r\nx\r\n", [pub("foo", "x")]],
    [
      "HPUB",
      "HPUB foo 24 26\r\nNATS/1.0\r\nX-Probe: 1\r\n\r\nhi\r\n",
      [pub("foo", "NATS/1.0\r\nX-Probe: 1\r\n\r\nhi", undefined, 24)],
    ],
    ["HPUB with reply, empty body", "HPUB foo r.1 12 12\r\nNATS/1.0\r\n\r\n\r\n", [pub("foo", "NATS/1.0\r\n\r\n", "r.1", 12)]],
    ["hpub lower case, zero sizes", "hpub foo 0 0\r\n\r\n", [pub("foo", "", undefined, 0)]],
    ["SUB", "SUB foo 1\r\n", [{ op: "SUB", subject: "foo", queue: undefined, sid: "1" }]],
    ["SUB with queue", "SUB bar q1 2\r\n", [{ op: "SUB", subject: "bar", queue: "q1", sid: "2" }]],
    ["sub lower case, tabs", "sub\tfoo.>\t\tq\t77\r\n", [{ op: "SUB", subject: "foo.>", queue: "q", sid: "77" }]],
    ["SUB LF-only", "SUB * x\n", [{ op: "SUB", subject: "*", queue: undefined, sid: "x" }]],
    ["UNSUB", "UNSUB 1\r\n", [{ op: "UNSUB", sid: "1", max: undefined }]],
    ["UNSUB with max", "UNSUB 1 2\r\n", [{ op: "UNSUB", sid: "1", max: 2 }]],
    ["unsub with max 0", "unsub abc 0 \r\n", [{ op: "UNSUB", sid: "abc", max: 0 }]],
    ["PING", "PING\r\n", [{ op: "PING" }]],
    ["PiNg LF-only", "PiNg\n", [{ op: "PING" }]],
    ["PING with trailing junk", "PING  \r\npingxyz\r\n", [{ op: "PING" }, { op: "PING" }]],
    ["PONG", "PONG\r\npong\n", [{ op: "PONG" }, { op: "PONG" }]],
    ["+OK ignored", "+OK\r\n+ok\nPING\r\n", [{ op: "PING" }]],
    ["client INFO ignored", "INFO {\"server_id\":\"x\"}\r\nINFO{}\nPONG\r\n", [{ op: "PONG" }]],
    ["CONNECT", "CONNECT {\"verbose\":false}\r\n", [{ op: "CONNECT", json: "{\"verbose\":false}" }]],
    ["CONNECT without a blank", "CONNECT{}\r\n", [{ op: "CONNECT", json: "{}" }]],
    ["connect lower case, blanks kept after JSON", "connect \t {} \r\n", [{ op: "CONNECT", json: "{} " }]],
    ["CONNECT with no argument", "CONNECT\r\n", [{ op: "CONNECT", json: "" }]],
    ["CONNECT with UTF-8", "CONNECT {\"name\":\"zoë\"}\n", [{ op: "CONNECT", json: "{\"name\":\"zoë\"}" }]],
    [
      "many ops in one read",
      "SUB foo 1\r\npub foo 5\r\nhello\r\nPING\r\nUNSUB 1\r\n",
      [
        { op: "SUB", subject: "foo", queue: undefined, sid: "1" },
        pub("foo", "hello"),
        { op: "PING" },
        { op: "UNSUB", sid: "1", max: undefined },
      ],
    ],
  ];
  for (const [name, input, ops] of cases) {
    test(name, () => {
      assert.deepEqual(parseChunks([bytes(input)]), ops);
    });
    test(`${name} (byte by byte)`, () => {
      const all = bytes(input);
      const chunks = Array.from(all, (_, i) => all.subarray(i, i + 1));
      assert.deepEqual(parseChunks(chunks), ops);
    });
  }
});

describe("ClientParser errors", () => {
  // The connection turns each code into its close reason and -ERR text (test/e2e/core_wire.test.ts checks those).
  const unknown = ProtocolErrorCode.UnknownOp;
  const badArgs = ProtocolErrorCode.BadArgs;
  const foreign = ProtocolErrorCode.ForeignProtocol;
  const maxLine = ProtocolErrorCode.MaxControlLine;
  const maxPayload = ProtocolErrorCode.MaxPayload;
  const clientErr = ProtocolErrorCode.ClientErr;
  const limits = { maxPayload: 1024, maxControlLine: 64, maxConnectLine: 128 };

  const cases: Array<[name: string, input: string, expected: string, state: string]> = [
    ["leading blanks", "  PING\r\n", unknown, "OP_START"],
    ["empty line", "PING\r\n\r\nPING\r\n", unknown, "OP_START"],
    ["junk", "XYZ\r\n", unknown, "OP_START"],
    ["MSG from a client", "MSG foo 1 5\r\nhello\r\n", unknown, "OP_START"],
    ["HMSG from a client", "HMSG foo 1 2 2\r\nhi\r\n", unknown, "OP_H"],
    ["payload longer than announced", "PUB foo 1\r\nxx\r\n", unknown, "MSG_END_R"],
    ["payload ended by LF only", "PUB foo 1\r\nx\nPING\r\n", unknown, "MSG_END_R"],
    ["payload ended by CR then junk", "PUB foo 1\r\nx\rX", unknown, "MSG_END_N"],
    ["op name too long", "PUBX foo 1\r\n", unknown, "OP_PUB"],
    ["PUB without arguments", "PUB\r\n", unknown, "OP_PUB"],
    ["SUB without a blank", "SUBfoo 1\r\n", unknown, "OP_SUB"],
    ["truncated PING", "PIN\r\n", unknown, "OP_PIN"],
    ["-ERR without a blank", "-ERR\r\n", unknown, "OP_MINUS_ERR"],
    ["unknown R op", "RX\r\n", unknown, "OP_R"],
    ["unknown LS op", "LSX\r\n", unknown, "OP_LS"],
    ["RS+", "RS+ $G foo\r\n", foreign, "OP_RS"],
    ["RS-", "RS- $G foo\r\n", foreign, "OP_RS"],
    ["RMSG", "RMSG $G foo 1\r\nx\r\n", foreign, "OP_RMS"],
    ["LS+", "LS+ foo\r\n", foreign, "OP_LS"],
    ["ls- lower case", "ls- foo\r\n", foreign, "OP_LS"],
    ["LMSG", "LMSG foo 1\r\nx\r\n", foreign, "OP_LMS"],
    ["A+", "A+ acc\r\n", foreign, "OP_A"],
    ["A-", "A- acc\r\n", foreign, "OP_A"],
    ["client -ERR", "-ERR 'boom'\r\n", clientErr, "MINUS_ERR_ARG"],
    ["PUB one argument", "PUB foo\r\n", badArgs, "PUB_ARG"],
    ["PUB blank argument part", "PUB \r\n", badArgs, "PUB_ARG"],
    ["PUB four arguments", "PUB foo bar baz 1\r\n", badArgs, "PUB_ARG"],
    ["PUB non-numeric size", "PUB foo x\r\n", badArgs, "PUB_ARG"],
    ["PUB negative size", "PUB foo -1\r\n", badArgs, "PUB_ARG"],
    ["PUB 10-digit size", "PUB foo 1234567890\r\n", badArgs, "PUB_ARG"],
    ["HPUB two arguments", "HPUB foo 1\r\n", badArgs, "HPUB_ARG"],
    ["HPUB five arguments", "HPUB a b c 1 2\r\n", badArgs, "HPUB_ARG"],
    ["HPUB header larger than total", "HPUB foo 10 5\r\n", badArgs, "HPUB_ARG"],
    ["HPUB bad header size", "HPUB foo x 5\r\n", badArgs, "HPUB_ARG"],
    ["SUB one argument", "SUB foo\r\n", badArgs, "SUB_ARG"],
    ["SUB four arguments", "SUB a b c d\r\n", badArgs, "SUB_ARG"],
    ["UNSUB no argument", "UNSUB \r\n", badArgs, "UNSUB_ARG"],
    ["UNSUB three arguments", "UNSUB 1 2 3\r\n", badArgs, "UNSUB_ARG"],
    ["UNSUB non-numeric max", "UNSUB 1 x\r\n", badArgs, "UNSUB_ARG"],
    ["UNSUB negative max", "UNSUB 1 -2\r\n", badArgs, "UNSUB_ARG"],
    ["PUB over max payload", "PUB foo 1025\r\n", maxPayload, "PUB_ARG"],
    ["HPUB total over max payload", "HPUB foo 12 1025\r\n", maxPayload, "HPUB_ARG"],
    ["SUB line over the control line limit", `SUB ${"a".repeat(63)} 1\r\n`, maxLine, "SUB_ARG"],
    ["partial PUB line over the limit", `PUB ${"a".repeat(65)}`, maxLine, "PUB_ARG"],
    ["-ERR line over the limit", `-ERR '${"a".repeat(70)}'`, maxLine, "MINUS_ERR_ARG"],
    ["CONNECT over its own limit", `CONNECT {"name":"${"n".repeat(120)}"}\r\n`, maxLine, "CONNECT_ARG"],
    ["partial INFO over the CONNECT limit", `INFO ${"i".repeat(129)}`, maxLine, "INFO_ARG"],
  ];
  for (const [name, input, expected, state] of cases) {
    test(name, () => {
      const { parser } = newParser(limits);
      const err = errorOf(() => feed(parser, bytes(input)));
      assert.notEqual(err, "no error");
      if (err === "no error") return;
      assert.equal(err.code, expected);
      assert.match(err.message, new RegExp(`\\b${state}\\b`), "message names the parser state");
    });
    test(`${name} (byte by byte)`, () => {
      const { parser } = newParser(limits);
      const all = bytes(input);
      const err = errorOf(() => {
        for (let i = 0; i < all.length; i++) feed(parser, all.subarray(i, i + 1));
      });
      assert.notEqual(err, "no error");
      if (err !== "no error") assert.equal(err.code, expected);
    });
  }

  test("error message carries an escaped snippet of the bytes", () => {
    const { parser } = newParser();
    const err = errorOf(() => feed(parser, bytes("PUB foo 1\r\nx\x01yz\r\n")));
    assert.notEqual(err, "no error");
    if (err !== "no error") assert.ok(err.message.includes("\\x01yz\\r\\n"), err.message);
  });
});

describe("ClientParser: the PUB shortcut and the blanks after it", () => {
  const pub = (subject: string, payload: string): PlainOp => ({ op: "PUB", subject, reply: undefined, hdrLen: -1, payload });
  const cases: [string, string[], PlainOp[]][] = [
    ["one blank", ["PUB a 1\r\nx\r\n"], [pub("a", "x")]],
    ["two blanks", ["PUB  a 1\r\nx\r\n"], [pub("a", "x")]],
    ["a tab and a blank", ["PUB\t a 1\r\nx\r\n"], [pub("a", "x")]],
    ["mixed case", ["pUb a 1\r\nx\r\n"], [pub("a", "x")]],
    ["the read ends after 'PUB '", ["PUB ", "a 1\r\nx\r\n"], [pub("a", "x")]],
    ["the read ends after 'PUB' and a blank follows", ["PUB", " a 1\r\nx\r\n"], [pub("a", "x")]],
    ["the read ends after 'PUB  '", ["PUB  ", " a 1\r\nx\r\n"], [pub("a", "x")]],
  ];
  for (const [name, chunks, want] of cases) {
    test(name, () => assert.deepEqual(parseChunks(chunks.map(bytes)), want));
  }
  test("'PUB' with nothing after the blank but the line end: wrong argument count", () => {
    const { parser } = newParser();
    const err = errorOf(() => feed(parser, bytes("PUB \r\n")));
    assert.ok(err !== "no error" && err.code === ProtocolErrorCode.BadArgs, JSON.stringify(err));
  });
});

describe("ClientParser limits", () => {
  test("control line exactly at the limit passes, one more byte fails", () => {
    const arg = (len: number) => `${"s".repeat(len - 2)} 1`; // SUB <subject> 1, argument part of `len` bytes
    assert.deepEqual(parseChunks([bytes(`SUB ${arg(64)}\r\n`)], { maxControlLine: 64 }).length, 1);
    const { parser } = newParser({ maxControlLine: 64 });
    const err = errorOf(() => feed(parser, bytes(`SUB ${arg(65)}\r\n`)));
    assert.ok(err !== "no error" && err.code === "GW_ERR_MAX_CONTROL_LINE");
  });

  test("a partial line is refused as soon as it passes the limit, before its LF arrives", () => {
    const { parser } = newParser({ maxControlLine: 4096 });
    feed(parser, bytes(`PUB ${"a".repeat(2000)}`));
    feed(parser, bytes("a".repeat(2000)));
    const err = errorOf(() => feed(parser, bytes("a".repeat(97))));
    assert.ok(err !== "no error" && err.code === "GW_ERR_MAX_CONTROL_LINE", JSON.stringify(err));
  });

  test("a partial line at exactly the limit plus its CR is still accepted", () => {
    const { parser, sink } = newParser({ maxControlLine: 10 });
    feed(parser, bytes("SUB abcdefgh 1\r")); // argument part "abcdefgh 1" = 10 bytes
    feed(parser, bytes("\n"));
    assert.deepEqual(plain(sink.ops), [{ op: "SUB", subject: "abcdefgh", queue: undefined, sid: "1" }]);
  });

  // parse() checks a PUB/HPUB line that ends in the read itself; any other line,
  // and one gathered over reads, is checked in step(). All must draw the line at
  // the same byte, with CR LF or LF alone, however the bytes arrive.
  test("property: PUB/HPUB/SUB lines at the limit pass and one byte more fails, whole or split anywhere", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: -2, max: 2 }),
        fc.constantFrom("PUB", "HPUB", "pub", "SUB"),
        fc.boolean(),
        fc.nat(),
        (subjectLen, delta, op, crlf, cut) => {
          const args = `${"s".repeat(subjectLen)} ${op === "HPUB" ? "0 0" : op === "SUB" ? "1" : "0"}`;
          const limit = Math.max(1, args.length + delta);
          const input = bytes(`${op} ${args}${crlf ? "\r\n" : "\n"}${op === "SUB" ? "" : "\r\n"}`);
          const at = cut % (input.length + 1);
          const outcome = (chunks: Uint8Array[]): string => {
            const { parser } = newParser({ maxControlLine: limit });
            const err = errorOf(() => { for (const c of chunks) feed(parser, c); });
            return err === "no error" ? "ok" : err.code;
          };
          const want = args.length <= limit ? "ok" : "GW_ERR_MAX_CONTROL_LINE";
          assert.equal(outcome([input]), want);
          assert.equal(outcome([input.subarray(0, at), input.subarray(at)]), want, `split at ${at}`);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test("CONNECT uses maxConnectLine, not maxControlLine", () => {
    const json = `{"auth_token":"${"t".repeat(6000)}"}`;
    assert.deepEqual(parseChunks([bytes(`CONNECT ${json}\r\n`)]), [{ op: "CONNECT", json }]);
    const { parser } = newParser({ maxConnectLine: 1000 });
    const err = errorOf(() => feed(parser, bytes(`CONNECT ${json}\r\n`)));
    assert.ok(err !== "no error" && err.code === "GW_ERR_MAX_CONTROL_LINE");
  });

  test("max payload is checked on the line and compares HPUB's total; equal passes", () => {
    assert.equal(parseChunks([bytes(`PUB foo 8\r\n12345678\r\n`)], { maxPayload: 8 }).length, 1);
    assert.equal(parseChunks([bytes(`HPUB foo 4 8\r\n12345678\r\n`)], { maxPayload: 8 }).length, 1);
    const { parser } = newParser({ maxPayload: 8 });
    // No payload bytes follow: the verdict must come from the control line alone.
    const err = errorOf(() => feed(parser, bytes("HPUB foo 2 9\r\n")));
    assert.ok(err !== "no error" && err.code === "GW_ERR_MAX_PAYLOAD");
  });

  test("limits are read at each op, so a reload applies to the next line", () => {
    const { parser, sink } = newParser({ maxPayload: 100 });
    feed(parser, bytes("PUB foo 50\r\n" + "x".repeat(50) + "\r\n"));
    parser.limits = { ...parser.limits, maxPayload: 10 };
    const err = errorOf(() => feed(parser, bytes("PUB foo 50\r\n")));
    assert.equal(sink.ops.length, 1);
    assert.ok(err !== "no error" && err.code === "GW_ERR_MAX_PAYLOAD");
  });
});

describe("ClientParser CONNECT stop", () => {
  test("parse returns right after the CONNECT line and processes nothing beyond it", () => {
    const { parser, sink } = newParser();
    const head = "CONNECT {\"verbose\":false}\r\n";
    const input = bytes(head + "PING\r\nSUB foo 1\r\n");
    const used = parser.parse(input);
    assert.equal(used, Buffer.byteLength(head));
    assert.deepEqual(plain(sink.ops), [{ op: "CONNECT", json: "{\"verbose\":false}" }]);
    assert.equal(parser.parse(input.subarray(used)), input.length - used);
    assert.deepEqual(
      plain(sink.ops).map((o) => o.op),
      ["CONNECT", "PING", "SUB"],
    );
  });

  test("a CONNECT split across reads stops inside the second read", () => {
    const { parser, sink } = newParser();
    assert.equal(parser.parse(bytes("CONN")), 4);
    const second = bytes("ECT {}\r\nPING\r\n");
    assert.equal(parser.parse(second), 8);
    assert.equal(sink.ops.length, 1);
    assert.equal(parser.parse(second.subarray(8)), 6);
    assert.deepEqual(plain(sink.ops), [{ op: "CONNECT", json: "{}" }, { op: "PING" }]);
  });

  test("a CONNECT ending a read consumes the whole read", () => {
    const { parser } = newParser();
    assert.equal(parser.parse(bytes("CONNECT {}\r\n")), 12);
  });
});

describe("ClientParser payload views", () => {
  class ViewSink extends RecordingSink implements ClientOpSink {
    readonly backing: ArrayBufferLike[] = [];
    override pub(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): void {
      this.backing.push(payload.buffer);
      super.pub(subject, reply, hdrLen, payload);
    }
  }

  test("a payload complete in the read is a view into that read (zero copy)", () => {
    const sink = new ViewSink();
    const parser = new ClientParser(sink, DEFAULT_PARSER_LIMITS);
    const chunk = new Uint8Array(bytes("PUB a 3\r\nabc\r\nPUB b 2\r\nde\r\n"));
    parser.parse(chunk);
    assert.equal(sink.backing.length, 2);
    assert.ok(sink.backing.every((b) => b === chunk.buffer));
  });

  test("a payload split across reads is copied, and still correct", () => {
    const sink = new ViewSink();
    const parser = new ClientParser(sink, DEFAULT_PARSER_LIMITS);
    const first = new Uint8Array(bytes("PUB a 6\r\nabc"));
    const second = new Uint8Array(bytes("def\r\n"));
    parser.parse(first);
    parser.parse(second);
    assert.equal(sink.backing.length, 1);
    assert.ok(sink.backing[0] !== first.buffer && sink.backing[0] !== second.buffer);
    assert.deepEqual(plain(sink.ops), [pub("a", "abcdef")]);
  });

  test("a line ending a read leaves the next read's whole payload zero-copy", () => {
    const sink = new ViewSink();
    const parser = new ClientParser(sink, DEFAULT_PARSER_LIMITS);
    parser.parse(bytes("PUB a 3\r\n"));
    const second = new Uint8Array(bytes("xyz\r\n"));
    parser.parse(second);
    assert.equal(sink.backing[0], second.buffer);
  });

  test("a large payload split across reads arrives whole and parsing goes on", () => {
    const { parser, sink } = newParser();
    const size = 200_000;
    feed(parser, bytes(`PUB big ${size}\r\n` + "x".repeat(size / 2)));
    feed(parser, bytes("x".repeat(size / 2) + "\r\nPUB small 1\r\n"));
    feed(parser, bytes("y\r\n"));
    const ops = plain(sink.ops);
    assert.equal(ops.length, 2);
    assert.ok(ops[0].op === "PUB" && ops[0].payload.length === size);
    assert.deepEqual(ops[1], pub("small", "y"));
  });
});
