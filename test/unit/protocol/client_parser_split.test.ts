/**
 * Split-read tests for the client parser (in the spirit of nats-server's
 * split_test.go): TCP reads and WebSocket frames may cut ops and payloads at
 * any byte (docs/protocol.md#framing), so one long stream of mixed ops must give the
 * same op list whole, split into two reads at every offset, byte by byte, and
 * in random-sized reads; and a faulty stream must fail with the same code and
 * after the same ops however it is cut.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytes, errorOf, feed, newParser, parseChunks, plain } from "../../helpers/parser.js";
import type { PlainOp } from "../../helpers/parser.js";

const STREAM = [
  'CONNECT {"verbose":false,"headers":true,"name":"zoë"}\r\n',
  "PING\r\n",
  "PUB foo 5\r\nhello\r\n",
  "PUB svc.echo _INBOX.abc.1 4\r\nping\r\n",
  "HPUB foo 24 26\r\nNATS/1.0\r\nX-Probe: 1\r\n\r\nhi\r\n",
  "HPUB foo reply.x 12 14\r\nNATS/1.0\r\n\r\nok\r\n",
  "SUB bar q1 2\r\n",
  "sub\tfoo.>\t 3\n",
  "UNSUB 2 10\r\n",
  "unsub 3\r\n",
  "pub lower 0\r\n\r\n",
  "PUB crlf.inside 6\r\na\r\n\r\nb\r\n",
  "PUB héllo.wörld.日本 r.ü 3\r\nxyz\r\n",
  "PUB\t tabs \t 2 \t\r\nhi\r\n",
  "+OK\r\n",
  "INFO {}\r\n",
  "pong\r\n",
  "PiNg xyz\r\n",
  "CONNECT{}\n",
  "PUB last 1\r\n!\r\n",
].join("");

const EXPECTED: PlainOp[] = [
  { op: "CONNECT", json: '{"verbose":false,"headers":true,"name":"zoë"}' },
  { op: "PING" },
  { op: "PUB", subject: "foo", reply: undefined, hdrLen: -1, payload: "hello" },
  { op: "PUB", subject: "svc.echo", reply: "_INBOX.abc.1", hdrLen: -1, payload: "ping" },
  { op: "PUB", subject: "foo", reply: undefined, hdrLen: 24, payload: "NATS/1.0\r\nX-Probe: 1\r\n\r\nhi" },
  { op: "PUB", subject: "foo", reply: "reply.x", hdrLen: 12, payload: "NATS/1.0\r\n\r\nok" },
  { op: "SUB", subject: "bar", queue: "q1", sid: "2" },
  { op: "SUB", subject: "foo.>", queue: undefined, sid: "3" },
  { op: "UNSUB", sid: "2", max: 10 },
  { op: "UNSUB", sid: "3", max: undefined },
  { op: "PUB", subject: "lower", reply: undefined, hdrLen: -1, payload: "" },
  { op: "PUB", subject: "crlf.inside", reply: undefined, hdrLen: -1, payload: "a\r\n\r\nb" },
  { op: "PUB", subject: "héllo.wörld.日本", reply: "r.ü", hdrLen: -1, payload: "xyz" },
  { op: "PUB", subject: "tabs", reply: undefined, hdrLen: -1, payload: "hi" },
  { op: "PONG" },
  { op: "PING" },
  { op: "CONNECT", json: "{}" },
  { op: "PUB", subject: "last", reply: undefined, hdrLen: -1, payload: "!" },
];

/** Deterministic PRNG (mulberry32) so a failing split can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("ClientParser split reads", () => {
  const all = bytes(STREAM);

  test("whole stream in one read", () => {
    assert.deepEqual(parseChunks([all]), EXPECTED);
  });

  test("split into two reads at every offset", () => {
    for (let cut = 0; cut <= all.length; cut++) {
      const ops = parseChunks([all.subarray(0, cut), all.subarray(cut)]);
      assert.deepEqual(ops, EXPECTED, `cut at ${cut}`);
    }
  });

  test("split into three reads at every pair of offsets in the HPUB region", () => {
    const from = STREAM.indexOf("HPUB");
    const to = Buffer.byteLength(STREAM.slice(0, STREAM.indexOf("SUB bar")));
    const startByte = Buffer.byteLength(STREAM.slice(0, from));
    for (let a = startByte; a < to; a++) {
      for (let b = a; b < to; b += 3) {
        const ops = parseChunks([all.subarray(0, a), all.subarray(a, b), all.subarray(b)]);
        assert.deepEqual(ops, EXPECTED, `cuts at ${a}, ${b}`);
      }
    }
  });

  test("byte by byte", () => {
    const chunks = Array.from(all, (_, i) => all.subarray(i, i + 1));
    assert.deepEqual(parseChunks(chunks), EXPECTED);
  });

  test("random read sizes (seeded)", () => {
    const random = prng(0x5eed);
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < all.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(all.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(parseChunks(chunks), EXPECTED, `round ${round}`);
    }
  });

  test("reads handed over as plain Uint8Arrays (not Buffers) parse the same", () => {
    const cut = Math.floor(all.length / 2);
    const chunks = [new Uint8Array(all.subarray(0, cut)), new Uint8Array(all.subarray(cut))];
    assert.deepEqual(parseChunks(chunks), EXPECTED);
  });
});

describe("ClientParser split reads, faulty streams", () => {
  const prefix = "SUB foo 1\r\nPUB foo 2\r\nhi\r\n";
  const prefixOps = 2;
  const cases: Array<[name: string, tail: string, code: string]> = [
    ["payload longer than announced", "PUB foo 1\r\nxx\r\n", "GW_ERR_UNKNOWN_OP"],
    ["empty line", "\r\nPING\r\n", "GW_ERR_UNKNOWN_OP"],
    ["bad argument count", "PUB foo\r\nPING\r\n", "GW_ERR_BAD_ARGS"],
    ["leafnode op", "LS+ foo\r\n", "GW_ERR_FOREIGN_PROTOCOL"],
    ["payload over the limit", "PUB foo 99\r\n", "GW_ERR_MAX_PAYLOAD"],
    ["line over the limit", `SUB ${"x".repeat(40)} 9\r\n`, "GW_ERR_MAX_CONTROL_LINE"],
  ];
  for (const [name, tail, code] of cases) {
    test(`${name}: same code and same ops before it at every cut`, () => {
      const all = bytes(prefix + tail);
      for (let cut = 0; cut <= all.length; cut++) {
        const { parser, sink } = newParser({ maxPayload: 64, maxControlLine: 32 });
        const err = errorOf(() => {
          feed(parser, all.subarray(0, cut));
          feed(parser, all.subarray(cut));
        });
        assert.ok(err !== "no error" && err.code === code, `cut at ${cut}: ${JSON.stringify(err)}`);
        assert.equal(plain(sink.ops).length, prefixOps, `cut at ${cut}`);
      }
    });
  }
});
