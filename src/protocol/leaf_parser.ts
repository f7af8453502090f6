/**
 * The hub→leaf half of the NATS leafnode protocol as a pure byte-level state
 * machine: it turns the bytes a hub sends on a solicited leaf connection (INFO,
 * LS+, LS-, LMSG, HMSG, PING, PONG, +OK, -ERR) into calls on a LeafOpSink. Line
 * gathering, argument splitting, sizes and errors are the client parser's
 * (line_reader.ts); this file holds only the leaf op table. It
 * does no I/O and keeps state across chunks, so an op may be split at any byte;
 * a payload that arrives whole inside one chunk is handed over as a view
 * (zero-copy), otherwise it is assembled in a buffer of exactly its size.
 * Grammar: docs/protocol.md#leaf-grammar (no HLMSG; HMSG uses the leaf
 * argument layout; the 2nd token of a long LMSG/HMSG must be `+` or `|`).
 */
import type { ProtocolError } from "../errors.js";
import { argLength, asBuffer, CR, type FastSliceBuffer, isBlank, LF, LineReader, ProtocolErrorCode, type ProtocolErrorCodeValue, protocolError, text } from "./line_reader.js";

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
function leafStateName(state: number): string {
  return stateNames[state] ?? `STATE_${state}`;
}

const S = LeafState;

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

/** The most arguments an LMSG/HMSG line usually has (subject, marker, reply, a few queues, sizes); more grow the reader. */
const USUAL_ARGS = 8;

export class LeafParser {
  private state: number = S.OP_START;
  private readonly line = new LineReader(USUAL_ARGS);
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

  /**
   * Feed one chunk. Throws ProtocolError on a violation; the parser is then unusable.
   *
   * The loop itself handles only what a busy link is made of: an upper-case
   * `LMSG `/`HMSG ` at the start of an op, a control line that ends in this
   * chunk, and payload bytes. Everything else (the other ops, any op spelt
   * in lower case or split across reads, a line still being gathered, the
   * payload's CR LF after a split) goes through step(), one state at a time.
   * Why two functions: V8 compiles the loop once it is hot, and code it has
   * never seen run (a PING, an LS+ between bursts, a split control line) is
   * compiled as a bail-out; the first time such code runs, the whole compiled
   * loop is thrown away and compiled again, with the delivery path inlined
   * into it. Rare ops in a function of their own cost that function its
   * recompile, not the loop (docs/performance.md, "The fan-in's first round").
   */
  parse(input: Uint8Array): void {
    const buf = asBuffer(input);
    const n = buf.length;
    let i = 0;
    while (i < n) {
      const state = this.state;
      if (state === S.MSG_PAYLOAD) {
        const want = this.msgSize - this.msgFill;
        const take = Math.min(want, n - i);
        this.msgBuf!.set(buf.subarray(i, i + take), this.msgFill);
        this.msgFill += take;
        i += take;
        if (this.msgFill === this.msgSize) this.state = S.MSG_END_R;
        continue;
      }
      if ((state === S.LMSG_ARG || state === S.HMSG_ARG) && this.line.pending === 0) {
        const lf = buf.indexOf(LF, i);
        if (lf >= 0) {
          // The whole line is in this chunk: nothing gathered, so argLength() is lengthWith()'s answer.
          if (argLength(buf, i, lf) > this.limits.maxControlLine) throw this.fail(ProtocolErrorCode.MaxControlLine, buf, i);
          i = this.msgLine(state, buf, i, lf);
          continue;
        }
      } else if (state === S.OP_START && i + 4 < n && buf[i + 1] === 0x4d && buf[i + 2] === 0x53 && buf[i + 3] === 0x47 && isBlank(buf[i + 4]!)) {
        // `LMSG ` / `HMSG `: the op name and its first blank at once (more blanks are skipped by split()).
        const op = buf[i]!;
        if (op === 0x4c || op === 0x48) {
          this.state = op === 0x4c ? S.LMSG_ARG : S.HMSG_ARG;
          i += 5;
          continue;
        }
      }
      i = this.step(buf, i, n);
    }
  }

  /**
   * A control line of LMSG/HMSG ended at buf[lf] (gathered from earlier reads
   * or not): read its arguments, and hand over the payload as a view when it
   * is all in this chunk. Returns where parsing goes on.
   */
  private msgLine(state: number, buf: FastSliceBuffer, from: number, lf: number): number {
    this.line.take(buf, from, lf, this.limits.maxControlLine);
    this.state = S.OP_START;
    let i = lf + 1;
    this.processMsgArgs(state === S.HMSG_ARG, buf, i);
    if (this.state === S.OP_START) {
      // Whole payload and its CRLF in this chunk: hand over a view. A plain
      // Uint8Array view, not Buffer#subarray: one per hub message, and the
      // Buffer species path costs about three times as much to make.
      const size = this.msgSize;
      if (buf[i + size] !== CR || buf[i + size + 1] !== LF) throw this.fail(ProtocolErrorCode.UnknownOp, buf, i + size);
      this.emitMsg(new Uint8Array(buf.buffer, buf.byteOffset + i, size));
      i += size + 2;
    }
    return i;
  }

  /** One step of the op grammar at buf[i] (parse() has the common cases and all of MSG_PAYLOAD); returns where parsing goes on. */
  private step(buf: FastSliceBuffer, i: number, n: number): number {
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
            else throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        }
        return i + 1;
      case S.OP_L:
        if ((b & 0xdf) === 0x53) this.state = S.OP_LS;
        else if ((b & 0xdf) === 0x4d) this.state = S.OP_LM;
        else throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        return i + 1;
      case S.OP_LS:
        if (b === 0x2b) this.state = S.OP_LS_PLUS;
        else if (b === 0x2d) this.state = S.OP_LS_MINUS;
        else throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        return i + 1;
      case S.OP_P:
        if ((b & 0xdf) === 0x49) this.state = S.OP_PI;
        else if ((b & 0xdf) === 0x4f) this.state = S.OP_PO;
        else throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        return i + 1;
      case S.OP_PING:
      case S.OP_PONG:
      case S.OP_PLUS_OK: {
        // Anything up to LF is ignored after the op name (docs/protocol.md#framing).
        const lf = buf.indexOf(LF, i);
        if (lf < 0) return n;
        this.state = S.OP_START;
        if (state === S.OP_PING) this.sink.ping();
        else if (state === S.OP_PONG) this.sink.pong();
        else this.sink.ok();
        return lf + 1;
      }
      case S.OP_INFO:
        // INFO needs no separator before its JSON; blanks are trimmed with the line.
        this.state = S.INFO_ARG;
        return i;
      case S.INFO_ARG:
      case S.MINUS_ERR_ARG:
      case S.LS_PLUS_ARG:
      case S.LS_MINUS_ARG:
      case S.LMSG_ARG:
      case S.HMSG_ARG: {
        const lf = buf.indexOf(LF, i);
        const to = lf < 0 ? n : lf;
        const line = this.line;
        // Guard against a hub (or something posing as one) making us buffer an endless line.
        const limit = this.limits.maxControlLine;
        if (line.lengthWith(buf, i, to) > limit) throw this.fail(ProtocolErrorCode.MaxControlLine, buf, i);
        if (lf < 0) {
          line.gather(buf, i, n, limit);
          return n;
        }
        if (state === S.LMSG_ARG || state === S.HMSG_ARG) return this.msgLine(state, buf, i, lf);
        line.take(buf, i, lf, limit);
        this.state = S.OP_START;
        this.processLine(state, buf, lf + 1);
        return lf + 1;
      }
      case S.MSG_END_R:
        if (b !== CR) throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        this.state = S.MSG_END_N;
        return i + 1;
      case S.MSG_END_N: {
        if (b !== LF) throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
        this.state = S.OP_START;
        const payload = this.msgBuf!;
        this.msgBuf = null;
        this.emitMsg(payload);
        return i + 1;
      }
      default: {
        const letter = LETTER_STEPS.get(state);
        if (letter !== undefined) {
          if ((b & 0xdf) === letter[0]) this.state = letter[1];
          else throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
          return i + 1;
        }
        const argState = SPACE_STEPS.get(state);
        if (argState !== undefined && isBlank(b)) {
          this.state = argState;
          return i + 1;
        }
        throw this.fail(ProtocolErrorCode.UnknownOp, buf, i);
      }
    }
  }

  /** INFO, -ERR, LS+ and LS- lines. */
  private processLine(state: number, buf: Uint8Array, at: number): void {
    const line = this.line;
    if (state === S.INFO_ARG || state === S.MINUS_ERR_ARG) {
      let start = line.start;
      let end = line.end;
      while (start < end && isBlank(line.src[start]!)) start++;
      while (end > start && isBlank(line.src[end - 1]!)) end--;
      if (state === S.MINUS_ERR_ARG && end - start >= 2 && line.src[start] === 0x27 && line.src[end - 1] === 0x27) {
        start++;
        end--;
      }
      if (state === S.INFO_ARG) this.sink.info(text(line.src, start, end));
      else this.sink.err(text(line.src, start, end));
      return;
    }
    const src = line.src;
    const count = line.split(src, line.start, line.end);
    if (state === S.LS_PLUS_ARG) {
      if (count === 1) return this.sink.lsPlus(line.arg(src, 0), undefined, 1);
      if (count === 3) {
        const weight = line.size(src, 2);
        if (weight < 1) throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
        return this.sink.lsPlus(line.arg(src, 0), line.arg(src, 1), weight);
      }
      throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
    }
    // LS- carries no weight, but tolerate one (it is ignored, as by nats-server).
    if (count >= 1 && count <= 3) return this.sink.lsMinus(line.arg(src, 0), count > 1 ? line.arg(src, 1) : undefined);
    throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
  }

  /**
   * LMSG/HMSG argument forms (docs/protocol.md#leaf-grammar): the argument count decides,
   * and with more than 3 (LMSG) / 4 (HMSG) arguments the 2nd must be `+` or `|`.
   */
  private processMsgArgs(headers: boolean, buf: Uint8Array, at: number): void {
    const line = this.line;
    const src = line.src;
    let n = line.split(src, line.start, line.end);
    if (n > USUAL_ARGS) {
      line.reserve(n);
      n = line.split(src, line.start, line.end);
    }
    const sizes = headers ? 2 : 1;
    if (n < 1 + sizes) throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
    const total = line.size(src, n - 1);
    const hdr = headers ? line.size(src, n - 2) : -1;
    if (total < 0 || (headers && (hdr < 0 || hdr > total))) throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
    if (total > this.limits.maxPayload) throw this.fail(ProtocolErrorCode.MaxPayload, buf, at);
    let reply: string | undefined;
    let queues: string[] | null = null;
    const rest = n - sizes; // subject + middle tokens
    if (rest === 2) {
      reply = line.arg(src, 1);
    } else if (rest > 2) {
      if (line.argIs(src, 1, 0x2b) && rest >= 3) {
        reply = line.arg(src, 2);
        queues = this.args(3, rest);
      } else if (line.argIs(src, 1, 0x7c)) {
        queues = this.args(2, rest);
      } else {
        throw this.fail(ProtocolErrorCode.BadArgs, buf, at);
      }
    }
    this.msgSubject = line.subject(src, 0);
    this.msgReply = reply;
    this.msgQueues = queues;
    this.msgHdr = hdr;
    this.msgSize = total;
    if (buf.length - at >= total + 2) return; // whole: the caller takes a view
    this.msgBuf = new Uint8Array(total);
    this.msgFill = 0;
    this.state = total === 0 ? S.MSG_END_R : S.MSG_PAYLOAD;
  }

  private args(from: number, to: number): string[] {
    const out: string[] = [];
    for (let k = from; k < to; k++) out.push(this.line.arg(this.line.src, k));
    return out;
  }

  private emitMsg(payload: Uint8Array): void {
    const subject = this.msgSubject;
    const reply = this.msgReply;
    const queues = this.msgQueues;
    this.msgReply = undefined;
    this.msgQueues = null;
    this.sink.msg(subject, reply, queues, this.msgHdr, payload);
  }

  /** The error for a violation at buf[at]; the link closes (unknown ops with -ERR, the rest silently: docs/protocol.md#leaf-errors). */
  private fail(code: ProtocolErrorCodeValue, buf: FastSliceBuffer | Uint8Array, at: number): ProtocolError {
    return protocolError(code, "leaf parser", leafStateName(this.state), buf, Math.max(0, at - 16));
  }
}
