/**
 * The hub→leaf half of the NATS leafnode protocol as a pure byte-level state
 * machine: it turns the bytes a hub sends on a solicited leaf connection (INFO,
 * LS+, LS-, LMSG, HMSG, PING, PONG, +OK, -ERR) into calls on a LeafOpSink. It
 * does no I/O and keeps state across chunks, so an op may be split at any byte;
 * a payload that arrives whole inside one chunk is handed over as a view
 * (zero-copy), otherwise it is assembled in a buffer of exactly its size.
 * Grammar: docs/protocol.md#leaf-grammar (no HLMSG; HMSG uses the leaf
 * argument layout; the 2nd token of a long LMSG/HMSG must be `+` or `|`).
 */
import { ProtocolError } from "../errors.js";
import { WireText } from "./wire_text.js";

/** Receives hub ops in order. No method may keep `payload` after it returns. */
export interface LeafOpSink {
  /** `json` is the INFO argument, trimmed. */
  info(json: string): void;
  /** Plain interest (weight 1) when `queue` is undefined; otherwise queue interest with its total weight. */
  lsPlus(subject: string, queue: string | undefined, weight: number): void;
  lsMinus(subject: string, queue: string | undefined): void;
  /**
   * LMSG (hdrLen = -1) or HMSG (payload = header bytes then body). `queues` lists
   * the groups named after `+ reply` or `|`, or is null.
   */
  msg(subject: string, reply: string | undefined, queues: string[] | null, hdrLen: number, payload: Uint8Array): void;
  ping(): void;
  pong(): void;
  ok(): void;
  /** The text inside `-ERR '…'`, quotes removed. */
  err(text: string): void;
}

export interface LeafParserLimits {
  /** Longest control line; a guard against unbounded buffering (the hub's INFO can be long). */
  maxControlLine: number;
  /** Largest LMSG/HMSG payload announced (nats-server caps max_payload at 64 MiB). */
  maxPayload: number;
}

export const DEFAULT_LEAF_PARSER_LIMITS: Readonly<LeafParserLimits> = Object.freeze({
  maxControlLine: 64 * 1024,
  maxPayload: 64 * 1024 * 1024,
});

/** Stable codes of the ProtocolErrors this parser throws (same values as the client parser's). */
export const LeafParserErrorCode = {
  UnknownOp: "GW_ERR_UNKNOWN_OP",
  BadArgs: "GW_ERR_BAD_ARGS",
  MaxControlLine: "GW_ERR_MAX_CONTROL_LINE",
  MaxPayload: "GW_ERR_MAX_PAYLOAD",
} as const;

/** States, named for the bytes of the current op read so far. */
export const LeafState = {
  OP_START: 0,
  OP_PLUS: 1, OP_PLUS_O: 2, OP_PLUS_OK: 3,
  OP_MINUS: 4, OP_MINUS_E: 5, OP_MINUS_ER: 6, OP_MINUS_ERR: 7, MINUS_ERR_ARG: 8,
  OP_I: 9, OP_IN: 10, OP_INF: 11, OP_INFO: 12, INFO_ARG: 13,
  OP_L: 14, OP_LS: 15, OP_LS_PLUS: 16, LS_PLUS_ARG: 17, OP_LS_MINUS: 18, LS_MINUS_ARG: 19,
  OP_LM: 20, OP_LMS: 21, OP_LMSG: 22, LMSG_ARG: 23,
  OP_H: 24, OP_HM: 25, OP_HMS: 26, OP_HMSG: 27, HMSG_ARG: 28,
  OP_P: 29, OP_PI: 30, OP_PIN: 31, OP_PING: 32, OP_PO: 33, OP_PON: 34, OP_PONG: 35,
  MSG_PAYLOAD: 36, MSG_END_R: 37, MSG_END_N: 38,
} as const;

const stateNames: string[] = [];
for (const [name, value] of Object.entries(LeafState)) stateNames[value] = name;
export function leafStateName(state: number): string {
  return stateNames[state] ?? `STATE_${state}`;
}

const S = LeafState;
const CR = 13, LF = 10, SPACE = 32, TAB = 9;

/**
 * Straight-line steps of the op grammar: state → [upper-case letter, next state].
 * Matching is case-insensitive (`b & 0xdf` folds ASCII letters to upper case).
 */
const LETTER_STEPS: ReadonlyMap<number, readonly [number, number]> = new Map<number, readonly [number, number]>([
  [S.OP_PLUS, [0x4f, S.OP_PLUS_O]], [S.OP_PLUS_O, [0x4b, S.OP_PLUS_OK]],
  [S.OP_MINUS, [0x45, S.OP_MINUS_E]], [S.OP_MINUS_E, [0x52, S.OP_MINUS_ER]], [S.OP_MINUS_ER, [0x52, S.OP_MINUS_ERR]],
  [S.OP_I, [0x4e, S.OP_IN]], [S.OP_IN, [0x46, S.OP_INF]], [S.OP_INF, [0x4f, S.OP_INFO]],
  [S.OP_LM, [0x53, S.OP_LMS]], [S.OP_LMS, [0x47, S.OP_LMSG]],
  [S.OP_H, [0x4d, S.OP_HM]], [S.OP_HM, [0x53, S.OP_HMS]], [S.OP_HMS, [0x47, S.OP_HMSG]],
  [S.OP_PI, [0x4e, S.OP_PIN]], [S.OP_PIN, [0x47, S.OP_PING]],
  [S.OP_PO, [0x4e, S.OP_PON]], [S.OP_PON, [0x47, S.OP_PONG]],
]);

/** Op name complete, at least one space/tab required: state → argument state. */
const SPACE_STEPS: ReadonlyMap<number, number> = new Map<number, number>([
  [S.OP_MINUS_ERR, S.MINUS_ERR_ARG], [S.OP_LS_PLUS, S.LS_PLUS_ARG], [S.OP_LS_MINUS, S.LS_MINUS_ARG],
  [S.OP_LMSG, S.LMSG_ARG], [S.OP_HMSG, S.HMSG_ARG],
]);


/** Bytes [start, end) as a string: latin1 for ASCII (the common case), UTF-8 otherwise. */
/** Node's stable slice methods: one flat string per call (hashing a flat string is cheap). */
interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function text(buf: Uint8Array, start: number, end: number): string {
  const b = (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)) as SliceBuffer;
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return b.utf8Slice(start, end);
  return b.latin1Slice(start, end);
}

function isSpace(b: number): boolean {
  return b === SPACE || b === TAB;
}

export class LeafParser {
  private state: number = S.OP_START;
  /** Where the current argument starts in the current chunk, or -1 when it is in argBuf. */
  private argStart = -1;
  private argBuf: Uint8Array = new Uint8Array(256);
  private argLen = 0;
  // Pending message, between its control line and the end of its payload.
  private msgSubject = "";
  private msgReply: string | undefined = undefined;
  private msgQueues: string[] | null = null;
  private msgHdr = -1;
  private msgSize = 0;
  private msgBuf: Uint8Array | null = null;
  private msgFill = 0;
  private readonly limits: LeafParserLimits;

  constructor(private readonly sink: LeafOpSink, limits: Partial<LeafParserLimits> = {}) {
    this.limits = { ...DEFAULT_LEAF_PARSER_LIMITS, ...limits };
  }

  /** The current state (tests assert on it after partial input). */
  get currentState(): number {
    return this.state;
  }

  /** Feed one chunk. Throws ProtocolError on a violation; the parser is then unusable. */
  parse(buf: Uint8Array): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      const b = buf[i]!;
      const state = this.state;
      switch (state) {
        case S.OP_START:
          switch (b & 0xdf) {
            case 0x49: this.state = S.OP_I; break; // I
            case 0x4c: this.state = S.OP_L; break; // L
            case 0x48: this.state = S.OP_H; break; // H
            case 0x50: this.state = S.OP_P; break; // P
            default:
              if (b === 0x2b) this.state = S.OP_PLUS;
              else if (b === 0x2d) this.state = S.OP_MINUS;
              else this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          }
          break;
        case S.OP_L:
          if ((b & 0xdf) === 0x53) this.state = S.OP_LS;
          else if ((b & 0xdf) === 0x4d) this.state = S.OP_LM;
          else this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          break;
        case S.OP_LS:
          if (b === 0x2b) this.state = S.OP_LS_PLUS;
          else if (b === 0x2d) this.state = S.OP_LS_MINUS;
          else this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          break;
        case S.OP_P:
          if ((b & 0xdf) === 0x49) this.state = S.OP_PI;
          else if ((b & 0xdf) === 0x4f) this.state = S.OP_PO;
          else this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          break;
        case S.OP_PING:
        case S.OP_PONG:
        case S.OP_PLUS_OK:
          // Anything up to LF is ignored after the op name (docs/protocol.md#framing).
          if (b === LF) {
            this.state = S.OP_START;
            if (state === S.OP_PING) this.sink.ping();
            else if (state === S.OP_PONG) this.sink.pong();
            else this.sink.ok();
          }
          break;
        case S.OP_INFO:
          // INFO needs no separator before its JSON.
          if (!isSpace(b)) {
            this.state = S.INFO_ARG;
            this.argStart = i;
            this.argLen = 0;
            continue;
          }
          break;
        case S.INFO_ARG:
        case S.MINUS_ERR_ARG:
        case S.LS_PLUS_ARG:
        case S.LS_MINUS_ARG:
        case S.LMSG_ARG:
        case S.HMSG_ARG: {
          if (this.argStart < 0 && this.argLen === 0 && isSpace(b)) break; // separator run
          if (this.argStart < 0 && this.argLen === 0) this.argStart = i;
          const lf = buf.indexOf(LF, i);
          if (lf < 0) {
            // The line continues in the next chunk: keep its bytes.
            const from = this.argStart >= 0 ? this.argStart : i;
            this.checkLine(this.argLen + (n - from), buf, from);
            this.appendArg(buf, from, n);
            this.argStart = -1;
            i = n;
            continue;
          }
          this.checkLine(this.argLen + (lf - (this.argStart < 0 ? i : this.argStart)), buf, i);
          let line: Uint8Array, start: number, end: number;
          if (this.argStart >= 0) {
            line = buf; start = this.argStart; end = lf;
          } else {
            this.appendArg(buf, i, lf);
            line = this.argBuf; start = 0; end = this.argLen;
          }
          if (end > start && line[end - 1] === CR) end--;
          this.argStart = -1;
          this.argLen = 0;
          this.state = S.OP_START;
          i = lf + 1;
          if (state === S.LMSG_ARG || state === S.HMSG_ARG) {
            this.processMsgArgs(line, start, end, state === S.HMSG_ARG, buf, i);
            if (this.state === S.OP_START) {
              // Whole payload and its CRLF in this chunk: hand over a view.
              const size = this.msgSize;
              if (buf[i + size] !== CR || buf[i + size + 1] !== LF) this.fail(LeafParserErrorCode.UnknownOp, buf, i + size);
              this.emitMsg(buf.subarray(i, i + size));
              i += size + 2;
            }
          } else {
            this.processLine(state, line, start, end, buf, i);
          }
          continue;
        }
        case S.MSG_PAYLOAD: {
          const want = this.msgSize - this.msgFill;
          const take = Math.min(want, n - i);
          this.msgBuf!.set(buf.subarray(i, i + take), this.msgFill);
          this.msgFill += take;
          i += take;
          if (this.msgFill === this.msgSize) this.state = S.MSG_END_R;
          continue;
        }
        case S.MSG_END_R:
          if (b !== CR) this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          this.state = S.MSG_END_N;
          break;
        case S.MSG_END_N: {
          if (b !== LF) this.fail(LeafParserErrorCode.UnknownOp, buf, i);
          this.state = S.OP_START;
          const payload = this.msgBuf!;
          this.msgBuf = null;
          this.emitMsg(payload);
          break;
        }
        default: {
          const letter = LETTER_STEPS.get(state);
          if (letter !== undefined) {
            if ((b & 0xdf) === letter[0]) this.state = letter[1];
            else this.fail(LeafParserErrorCode.UnknownOp, buf, i);
            break;
          }
          const argState = SPACE_STEPS.get(state);
          if (argState !== undefined && isSpace(b)) {
            this.state = argState;
            this.argStart = -1;
            this.argLen = 0;
            break;
          }
          this.fail(LeafParserErrorCode.UnknownOp, buf, i);
        }
      }
      i++;
    }
  }

  private appendArg(buf: Uint8Array, start: number, end: number): void {
    const need = this.argLen + (end - start);
    if (need > this.argBuf.length) {
      const grown = new Uint8Array(Math.max(need, this.argBuf.length * 2));
      grown.set(this.argBuf.subarray(0, this.argLen));
      this.argBuf = grown;
    }
    this.argBuf.set(buf.subarray(start, end), this.argLen);
    this.argLen = need;
  }

  /** Guard against a hub (or something posing as one) making us buffer an endless line. */
  private checkLine(len: number, buf: Uint8Array, at: number): void {
    if (len > this.limits.maxControlLine) this.fail(LeafParserErrorCode.MaxControlLine, buf, at);
  }

  private processLine(state: number, line: Uint8Array, start: number, end: number, buf: Uint8Array, at: number): void {
    if (state === S.INFO_ARG) {
      while (end > start && isSpace(line[end - 1]!)) end--;
      this.sink.info(text(line, start, end));
      return;
    }
    if (state === S.MINUS_ERR_ARG) {
      while (end > start && isSpace(line[end - 1]!)) end--;
      if (end - start >= 2 && line[start] === 0x27 && line[end - 1] === 0x27) { start++; end--; }
      this.sink.err(text(line, start, end));
      return;
    }
    const args = splitArgs(line, start, end);
    if (state === S.LS_PLUS_ARG) {
      if (args.length === 1) return this.sink.lsPlus(args[0]!, undefined, 1);
      if (args.length === 3) {
        const weight = parseSize(args[2]!);
        if (weight < 1) this.fail(LeafParserErrorCode.BadArgs, buf, at);
        return this.sink.lsPlus(args[0]!, args[1]!, weight);
      }
      this.fail(LeafParserErrorCode.BadArgs, buf, at);
    }
    // LS- carries no weight, but tolerate one (it is ignored, as by nats-server).
    if (args.length >= 1 && args.length <= 3) return this.sink.lsMinus(args[0]!, args[1]);
    this.fail(LeafParserErrorCode.BadArgs, buf, at);
  }

  /**
   * LMSG/HMSG argument forms (docs/protocol.md#leaf-grammar): the argument count decides,
   * and with more than 3 (LMSG) / 4 (HMSG) arguments the 2nd must be `+` or `|`.
   */
  private processMsgArgs(line: Uint8Array, start: number, end: number, headers: boolean, buf: Uint8Array, at: number): void {
    const args = splitArgs(line, start, end);
    const sizes = headers ? 2 : 1;
    const n = args.length;
    if (n < 1 + sizes) this.fail(LeafParserErrorCode.BadArgs, buf, at);
    const total = parseSize(args[n - 1]!);
    const hdr = headers ? parseSize(args[n - 2]!) : -1;
    if (total < 0 || (headers && (hdr < 0 || hdr > total))) this.fail(LeafParserErrorCode.BadArgs, buf, at);
    if (total > this.limits.maxPayload) this.fail(LeafParserErrorCode.MaxPayload, buf, at);
    let reply: string | undefined;
    let queues: string[] | null = null;
    const rest = n - sizes; // subject + middle tokens
    if (rest === 2) {
      reply = args[1];
    } else if (rest > 2) {
      const marker = args[1]!;
      if (marker === "+" && rest >= 3) {
        reply = args[2];
        queues = args.slice(3, rest);
      } else if (marker === "|") {
        queues = args.slice(2, rest);
      } else {
        this.fail(LeafParserErrorCode.BadArgs, buf, at);
      }
    }
    this.msgSubject = args[0]!;
    this.msgReply = reply;
    this.msgQueues = queues;
    this.msgHdr = hdr;
    this.msgSize = total;
    if (buf.length - at >= total + 2) return; // whole: the caller takes a view
    this.msgBuf = new Uint8Array(total);
    this.msgFill = 0;
    this.state = total === 0 ? S.MSG_END_R : S.MSG_PAYLOAD;
  }

  private emitMsg(payload: Uint8Array): void {
    const subject = this.msgSubject, reply = this.msgReply, queues = this.msgQueues;
    this.msgReply = undefined;
    this.msgQueues = null;
    this.sink.msg(subject, reply, queues, this.msgHdr, payload);
  }

  private fail(code: string, buf: Uint8Array, at: number): never {
    const snippet = JSON.stringify(text(buf, Math.max(0, at - 16), Math.min(buf.length, at + 16)));
    const name = leafStateName(this.state);
    // Unknown ops get nats-server's -ERR text; argument errors close silently (docs/protocol.md#leaf-errors).
    const wire = code === LeafParserErrorCode.BadArgs ? null : WireText.UnknownOp;
    throw new ProtocolError(code, `leaf parser: ${code} in state ${name} near ${snippet}`, wire, true);
  }
}

/** Split a control line on runs of spaces/tabs. */
function splitArgs(line: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < end) {
    while (i < end && isSpace(line[i]!)) i++;
    if (i >= end) break;
    const s = i;
    while (i < end && !isSpace(line[i]!)) i++;
    out.push(text(line, s, i));
  }
  return out;
}

/** A non-negative decimal, or -1 when not one. */
function parseSize(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
