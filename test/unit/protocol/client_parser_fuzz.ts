/**
 * Property-based fuzzing of the client parser with fast-check, shared by the CI
 * test (client_parser_fuzz.test.ts, 100,000 inputs) and the longer run
 * (`npm run fuzz -- <count>`, test/fuzz/client_parser.ts). Inputs mix valid
 * ops (PUB/HPUB with payloads of the announced size, SUB, UNSUB, CONNECT,
 * PING ...) with protocol fragments, blanks, line ends and random bytes, under
 * small limits so the limit paths are reached. For each input:
 *   - nothing but a ProtocolError ever escapes the parser;
 *   - the same bytes split at any offsets give the same ops and the same error;
 *   - between reads the parser never holds more than its limits allow.
 */
import fc from "fast-check";
import { ProtocolError } from "../../../src/errors.js";
import type { ParserLimits } from "../../../src/protocol/ops.js";
import { feed, newParser, plain, type PlainOp } from "../../helpers/parser.js";

export const FUZZ_LIMITS: ParserLimits = { maxControlLine: 64, maxConnectLine: 128, maxPayload: 256 };

/** The most a parser may hold between reads under FUZZ_LIMITS: a CONNECT-sized line with its CR LF, and one payload. */
export const FUZZ_MEMORY_BOUND = FUZZ_LIMITS.maxConnectLine + 2 + FUZZ_LIMITS.maxPayload;

const enc = new TextEncoder();
const subject = fc.constantFrom("foo", "foo.bar", "a.*.c", "x.>", "_INBOX.abc.1", "ü.ñ", "a..b", ">");
const payload = fc.uint8Array({ maxLength: 300 });
const blank = fc.constantFrom(" ", "\t", "  ", " \t");
const eol = fc.constantFrom("\r\n", "\n", "\r\r\n");

function pub(s: string, reply: string | null, body: Uint8Array, sep: string, end: string): Uint8Array {
  const head = enc.encode(`PUB${sep}${s}${reply === null ? "" : sep + reply}${sep}${body.length}${end}`);
  return concat([head, body, enc.encode("\r\n")]);
}

function hpub(s: string, body: Uint8Array, hdr: number, end: string): Uint8Array {
  const h = Math.min(hdr, body.length);
  return concat([enc.encode(`HPUB ${s} ${h} ${body.length}${end}`), body, enc.encode("\r\n")]);
}

const validOp: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(subject, fc.option(subject), payload, blank, eol).map(([s, r, p, b, e]) => pub(s, r, p, b, e)),
  fc.tuple(subject, payload, fc.nat(40), eol).map(([s, p, h, e]) => hpub(s, p, h, e)),
  fc.tuple(subject, fc.option(fc.constantFrom("q", "work")), fc.nat(99), eol).map(([s, q, sid, e]) => enc.encode(`SUB ${s}${q === null ? "" : " " + q} ${sid}${e}`)),
  fc.tuple(fc.nat(99), fc.option(fc.nat(5)), eol).map(([sid, max, e]) => enc.encode(`UNSUB ${sid}${max === null ? "" : " " + max}${e}`)),
  fc.constantFrom("PING\r\n", "PONG\r\n", "ping\n", "pingxyz\r\n", "+OK\r\n", 'CONNECT {"verbose":false}\r\n', "CONNECT{}\r\n", 'INFO {"x":1}\r\n').map((t) => enc.encode(t)),
);

const noise: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .constantFrom(
      "PUB ", "HPUB ", "SUB ", "UNSUB ", "PI", "NG", "PONG", "CONNECT ", "INFO ", "+OK", "-ERR ", "MSG ", "HMSG ",
      "RS+ ", "RS- ", "RMSG ", "LS+ ", "LS- ", "LMSG ", "A+ ", "A- ", "foo", " ", "\t", "\r", "\n", "\r\n",
      "0", "1", "5", "64", "999999999", "1234567890", "-1", "NATS/1.0\r\n\r\n", "{", "}", "x".repeat(70), "y".repeat(130),
      "PUB a 257\r\n", "HPUB a 1 300\r\n",
    )
    .map((t) => enc.encode(t)),
  fc.uint8Array({ maxLength: 12 }),
);

/** An input: mostly valid ops, with noise mixed in. */
export const fuzzInput: fc.Arbitrary<Uint8Array> = fc
  .array(fc.oneof({ arbitrary: validOp, weight: 3 }, { arbitrary: noise, weight: 1 }), { maxLength: 12 })
  .map(concat);

/** Offsets at which to cut an input into reads (taken modulo its length). */
export const fuzzCuts: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 8 });

export interface FuzzOutcome {
  ops: PlainOp[];
  /** The ProtocolError code, or null when the whole input was accepted. */
  error: string | null;
  /** The most the parser held between two reads. */
  maxRetained: number;
}

/** Parses `input` cut at `cuts`; rethrows anything that is not a ProtocolError. */
export function runParser(input: Uint8Array, cuts: number[]): FuzzOutcome {
  const { parser, sink } = newParser(FUZZ_LIMITS);
  const at = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % input.length)))].sort((a, b) => a - b);
  let error: string | null = null;
  let maxRetained = 0;
  let from = 0;
  try {
    for (const to of [...at, input.length]) {
      if (to <= from) continue;
      feed(parser, input.subarray(from, to));
      maxRetained = Math.max(maxRetained, parser.retainedBytes);
      from = to;
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    error = err.code;
  }
  return { ops: plain(sink.ops), error, maxRetained };
}

/** The three properties as one fast-check property. */
export const parserProperty = fc.property(fuzzInput, fuzzCuts, (input, cuts) => {
  const whole = runParser(input, []);
  const split = runParser(input, cuts);
  if (JSON.stringify(split.ops) !== JSON.stringify(whole.ops) || split.error !== whole.error) {
    throw new Error(`split changed the outcome: whole=${JSON.stringify(whole)} split=${JSON.stringify(split)}`);
  }
  for (const o of [whole, split]) {
    if (o.maxRetained > FUZZ_MEMORY_BOUND) throw new Error(`parser held ${o.maxRetained} bytes, bound ${FUZZ_MEMORY_BOUND}`);
  }
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
