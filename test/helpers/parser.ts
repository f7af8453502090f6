/**
 * Shared helpers for the protocol parser tests: feed bytes through a
 * ClientParser the way the connection layer does (resuming after the CONNECT
 * stop), and turn recorded ops into plain values that deepEqual can compare.
 */

import { ClientParser } from "../../src/protocol/client_parser.js";
import { DEFAULT_PARSER_LIMITS, RecordingSink } from "../../src/protocol/ops.js";
import type { ClientOp, ParserLimits } from "../../src/protocol/ops.js";

/** A ClientOp with the payload as a latin1 string (byte-exact and readable). */
export type PlainOp =
  | Exclude<ClientOp, { op: "PUB" }>
  | { op: "PUB"; subject: string; reply: string | undefined; hdrLen: number; payload: string };

export function plain(ops: ClientOp[]): PlainOp[] {
  return ops.map((o) => (o.op === "PUB" ? { ...o, payload: Buffer.from(o.payload).toString("latin1") } : o));
}

export function newParser(limits: Partial<ParserLimits> = {}): { parser: ClientParser; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { parser: new ClientParser(sink, { ...DEFAULT_PARSER_LIMITS, ...limits }), sink };
}

/** Feeds one chunk completely, calling parse() again after each CONNECT stop. */
export function feed(parser: ClientParser, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.length) {
    const used = parser.parse(chunk.subarray(offset));
    if (used <= 0) throw new Error(`parse consumed ${used} bytes`);
    offset += used;
  }
}

/** Parses chunks in order and returns the ops as plain values. */
export function parseChunks(chunks: Uint8Array[], limits: Partial<ParserLimits> = {}): PlainOp[] {
  const { parser, sink } = newParser(limits);
  for (const chunk of chunks) feed(parser, chunk);
  return plain(sink.ops);
}

export function bytes(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

/** The thrown error as { code, message } (or "no error"). */
export function errorOf(fn: () => void): { code: string; message: string } | "no error" {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  return "no error";
}
