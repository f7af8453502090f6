/**
 * The vocabulary of the client protocol parser: the sink interface it pushes
 * ops into, its limits, the stable error codes it throws, and the names of its
 * states. Kept apart from the state machine so that the connection layer and the
 * tests can speak about ops (and record them) without importing the parser.
 * The ProtocolError factories live here too, so every code and message shape
 * the parser can produce is in one place (the codes are shared with the leaf
 * parser: line_reader.ts).
 * Wire rules: docs/protocol.md#framing, #messages and #error-catalogue.
 */

import type { ProtocolError } from "../errors.js";
import { ProtocolErrorCode, protocolError } from "./line_reader.js";

/** Receives the ops a client sends, in order. No method may keep `payload` after it returns. */
export interface ClientOpSink {
  connect(json: string): void;
  /** hdrLen = -1 for PUB; for HPUB, payload holds header bytes then body. payload is a view valid only during the call. */
  pub(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): void;
  sub(subject: string, queue: string | undefined, sid: string): void;
  unsub(sid: string, max: number | undefined): void;
  ping(): void;
  pong(): void;
}

/**
 * Limits the parser enforces itself, so that a hostile client cannot make us
 * buffer unbounded control lines or announce payloads we would never accept.
 */
export interface ParserLimits {
  /** Longest argument part of a PUB/HPUB/SUB/UNSUB/-ERR line (nats-server max_control_line). */
  maxControlLine: number;
  /** Longest argument part of a CONNECT (or client INFO) line; JWTs make these long. */
  maxConnectLine: number;
  /** Largest PUB payload or HPUB total (headers + body) announced on a control line. */
  maxPayload: number;
}

/** nats-server 2.9.10 defaults: 4096 control line, 1 MiB payload; 32 KiB for CONNECT. */
export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxControlLine: 4096,
  maxConnectLine: 32 * 1024,
  maxPayload: 1024 * 1024,
});

/**
 * The errors the parser throws. Every one closes the connection; the connection
 * maps the code to its close reason (and so to the -ERR text, or none).
 * Messages name the parser state and show the offending bytes, for the log line.
 */
export const parserError = {
  /** Bad op, junk, bad payload terminator, MSG/HMSG from a client. */
  unknownOp(state: number, src: Uint8Array, at: number): ProtocolError {
    return protocolError(ProtocolErrorCode.UnknownOp, "unknown protocol operation", stateName(state), src, at);
  },
  /** Route/gateway/leafnode op; `at` is the byte that made it unambiguous. */
  foreignOp(state: number, src: Uint8Array, at: number): ProtocolError {
    return protocolError(ProtocolErrorCode.ForeignProtocol, "route/gateway/leafnode op from a client", stateName(state), src, Math.max(0, at - 3));
  },
  /** Wrong argument count or sizes: nats-server closes without -ERR (docs/protocol.md#framing). */
  badArgs(state: number, src: Uint8Array, start: number, end: number, why: string): ProtocolError {
    return protocolError(ProtocolErrorCode.BadArgs, why, stateName(state), src, start, end);
  },
  maxControlLine(state: number, length: number, limit: number, src: Uint8Array, start: number, end: number): ProtocolError {
    return protocolError(ProtocolErrorCode.MaxControlLine, `control line of ${length} bytes exceeds ${limit}`, stateName(state), src, start, end);
  },
  maxPayload(state: number, size: number, limit: number, src: Uint8Array, start: number, end: number): ProtocolError {
    return protocolError(ProtocolErrorCode.MaxPayload, `payload of ${size} bytes exceeds ${limit}`, stateName(state), src, start, end);
  },
  /** nats-server logs a client's -ERR and closes the connection without answering. */
  clientErr(state: number, src: Uint8Array, start: number, end: number): ProtocolError {
    return protocolError(ProtocolErrorCode.ClientErr, "client sent -ERR", stateName(state), src, start, end);
  },
};

/** One op as a plain value: what a recording sink stores (tests, debugging). */
export type ClientOp =
  | { op: "CONNECT"; json: string }
  | { op: "PUB"; subject: string; reply: string | undefined; hdrLen: number; payload: Uint8Array }
  | { op: "SUB"; subject: string; queue: string | undefined; sid: string }
  | { op: "UNSUB"; sid: string; max: number | undefined }
  | { op: "PING" }
  | { op: "PONG" };

/** A sink that copies every op into `ops` (payloads copied, since views die after the call). */
export class RecordingSink implements ClientOpSink {
  readonly ops: ClientOp[] = [];
  connect(json: string): void {
    this.ops.push({ op: "CONNECT", json });
  }
  pub(subject: string, reply: string | undefined, hdrLen: number, payload: Uint8Array): void {
    // new Uint8Array(view) copies; Buffer#slice would not.
    this.ops.push({ op: "PUB", subject, reply, hdrLen, payload: new Uint8Array(payload) });
  }
  sub(subject: string, queue: string | undefined, sid: string): void {
    this.ops.push({ op: "SUB", subject, queue, sid });
  }
  unsub(sid: string, max: number | undefined): void {
    this.ops.push({ op: "UNSUB", sid, max });
  }
  ping(): void {
    this.ops.push({ op: "PING" });
  }
  pong(): void {
    this.ops.push({ op: "PONG" });
  }
}

/**
 * Parser states, named (as in nats-server parser.go) for the bytes read so far
 * in the current op. Numbers so the hot `switch` compares small integers.
 */
export const State = {
  OP_START: 0,
  OP_PLUS: 1, OP_PLUS_O: 2, OP_PLUS_OK: 3,
  OP_MINUS: 4, OP_MINUS_E: 5, OP_MINUS_ER: 6, OP_MINUS_ERR: 7, OP_MINUS_ERR_SPC: 8, MINUS_ERR_ARG: 9,
  OP_C: 10, OP_CO: 11, OP_CON: 12, OP_CONN: 13, OP_CONNE: 14, OP_CONNEC: 15, OP_CONNECT: 16, CONNECT_ARG: 17,
  OP_P: 18, OP_PU: 19, OP_PUB: 20, OP_PUB_SPC: 21, PUB_ARG: 22,
  OP_PI: 23, OP_PIN: 24, OP_PING: 25,
  OP_PO: 26, OP_PON: 27, OP_PONG: 28,
  OP_H: 29, OP_HP: 30, OP_HPU: 31, OP_HPUB: 32, OP_HPUB_SPC: 33, HPUB_ARG: 34,
  OP_S: 35, OP_SU: 36, OP_SUB: 37, OP_SUB_SPC: 38, SUB_ARG: 39,
  OP_U: 40, OP_UN: 41, OP_UNS: 42, OP_UNSU: 43, OP_UNSUB: 44, OP_UNSUB_SPC: 45, UNSUB_ARG: 46,
  OP_I: 47, OP_IN: 48, OP_INF: 49, OP_INFO: 50, INFO_ARG: 51,
  MSG_PAYLOAD: 52, MSG_END_R: 53, MSG_END_N: 54,
  // Prefixes of route/gateway/leafnode ops, recognised only to refuse them by name.
  OP_R: 55, OP_RS: 56, OP_RM: 57, OP_RMS: 58,
  OP_L: 59, OP_LS: 60, OP_LM: 61, OP_LMS: 62,
  OP_A: 63,
} as const;

const stateNames: string[] = [];
for (const [name, value] of Object.entries(State)) stateNames[value] = name;

/** "PUB_ARG" for State.PUB_ARG; for error messages and logs. */
export function stateName(state: number): string {
  return stateNames[state] ?? `STATE_${state}`;
}

/** Marks a grammar step that needs a space or tab rather than a letter. */
export const BLANK = -2;

/**
 * The fixed spelling of op names, one step per state: in `state`, the byte
 * `expect` (a lower-case letter matched in either case, or BLANK) leads to
 * `next`. The parser handles the branching and argument states itself.
 */
const opSpelling: ReadonlyArray<readonly [state: number, expect: number | string, next: number]> = [
  [State.OP_PU, "b", State.OP_PUB], [State.OP_PUB, BLANK, State.OP_PUB_SPC],
  [State.OP_PI, "n", State.OP_PIN], [State.OP_PIN, "g", State.OP_PING],
  [State.OP_PO, "n", State.OP_PON], [State.OP_PON, "g", State.OP_PONG],
  [State.OP_H, "p", State.OP_HP], [State.OP_HP, "u", State.OP_HPU], [State.OP_HPU, "b", State.OP_HPUB],
  [State.OP_HPUB, BLANK, State.OP_HPUB_SPC],
  [State.OP_S, "u", State.OP_SU], [State.OP_SU, "b", State.OP_SUB], [State.OP_SUB, BLANK, State.OP_SUB_SPC],
  [State.OP_U, "n", State.OP_UN], [State.OP_UN, "s", State.OP_UNS], [State.OP_UNS, "u", State.OP_UNSU],
  [State.OP_UNSU, "b", State.OP_UNSUB], [State.OP_UNSUB, BLANK, State.OP_UNSUB_SPC],
  [State.OP_C, "o", State.OP_CO], [State.OP_CO, "n", State.OP_CON], [State.OP_CON, "n", State.OP_CONN],
  [State.OP_CONN, "e", State.OP_CONNE], [State.OP_CONNE, "c", State.OP_CONNEC], [State.OP_CONNEC, "t", State.OP_CONNECT],
  [State.OP_I, "n", State.OP_IN], [State.OP_IN, "f", State.OP_INF], [State.OP_INF, "o", State.OP_INFO],
  [State.OP_PLUS, "o", State.OP_PLUS_O], [State.OP_PLUS_O, "k", State.OP_PLUS_OK],
  [State.OP_MINUS, "e", State.OP_MINUS_E], [State.OP_MINUS_E, "r", State.OP_MINUS_ER],
  [State.OP_MINUS_ER, "r", State.OP_MINUS_ERR], [State.OP_MINUS_ERR, BLANK, State.OP_MINUS_ERR_SPC],
];

const STATE_COUNT = Object.keys(State).length;
/** Byte expected in a spelling state (lower-case code or BLANK); 0 where the state is not a spelling step. */
export const SPELL_EXPECT = new Int16Array(STATE_COUNT);
/** State reached by the expected byte; -1 where the state is not a spelling step. */
export const SPELL_NEXT = new Int16Array(STATE_COUNT).fill(-1);
for (const [state, expect, next] of opSpelling) {
  SPELL_EXPECT[state] = typeof expect === "string" ? expect.charCodeAt(0) : expect;
  SPELL_NEXT[state] = next;
}

/** The argument-reading state entered at the first non-blank byte after an op (and its blanks). */
export const ARG_STATE_AFTER = new Int16Array(STATE_COUNT).fill(-1);
ARG_STATE_AFTER[State.OP_PUB_SPC] = State.PUB_ARG;
ARG_STATE_AFTER[State.OP_HPUB_SPC] = State.HPUB_ARG;
ARG_STATE_AFTER[State.OP_SUB_SPC] = State.SUB_ARG;
ARG_STATE_AFTER[State.OP_UNSUB_SPC] = State.UNSUB_ARG;
ARG_STATE_AFTER[State.OP_MINUS_ERR_SPC] = State.MINUS_ERR_ARG;
ARG_STATE_AFTER[State.OP_CONNECT] = State.CONNECT_ARG;
ARG_STATE_AFTER[State.OP_INFO] = State.INFO_ARG;
