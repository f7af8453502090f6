/**
 * The NATS client-protocol parser: a byte-level state machine (states named for
 * the bytes read so far, as in nats-server parser.go) that turns the bytes a
 * client sends into calls on a ClientOpSink. It carries its state across reads,
 * so ops and payloads may be split at any byte and many ops may share a read.
 * It does no I/O, starts no timers and logs nothing; every violation is a
 * ProtocolError carrying the exact nats-server 2.9.10 wire text (or null where
 * nats-server closes silently). Rules: docs/protocol.md#framing, #messages.
 *
 * Hot path: a PUB whose line and payload are both in the current read costs one
 * native LF search, one JS pass over the line, a string per subject (often from
 * a small shared cache) and reply, and a zero-copy payload view. Bytes are
 * copied only when a line or payload straddles two reads. bench/parser_bench.ts
 * measures it; each shortcut below was kept only for a measured gain.
 */

import { ARG_STATE_AFTER, BLANK, parserError, SPELL_EXPECT, SPELL_NEXT, State } from "./ops.js";
import type { ClientOpSink, ParserLimits } from "./ops.js";
import { argLength, asBuffer, EMPTY, type FastSliceBuffer, LineReader, RETAINED_SCRATCH_BYTES } from "./line_reader.js";

export type { ClientOpSink, ParserLimits } from "./ops.js";
export { DEFAULT_PARSER_LIMITS } from "./ops.js";

// Module-local on purpose: an imported binding costs a check on every use in the byte loop.
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

// The states parse() itself uses, as module constants for the same reason: a
// property load of State costs V8 a bail-out the first time a branch reads it.
const OP_START = State.OP_START;
const OP_PUB_SPC = State.OP_PUB_SPC;
const PUB_ARG = State.PUB_ARG;
const HPUB_ARG = State.HPUB_ARG;
const MSG_PAYLOAD = State.MSG_PAYLOAD;

/** HPUB has the most arguments (4); one more slot tells "too many" apart. */
const MAX_ARGS = 5;

function isLetter(b: number, lower: number): boolean {
  // (b | 0x20) equals a lower-case letter only for that letter in either case.
  return (b | 0x20) === lower;
}

export class ClientParser {
  /** Mutable: a config reload may change them between reads. */
  limits: ParserLimits;
  private readonly sink: ClientOpSink;
  private state: number = State.OP_START;

  // The control line being read (gathered across reads when it straddles them).
  private readonly line = new LineReader(MAX_ARGS);

  // The PUB/HPUB whose payload is being read.
  private pubSubject = "";
  private pubReply: string | undefined = undefined;
  private pubHdr = -1;
  private pubSize = 0;
  // A payload that straddles reads is gathered here; reused, since views die after pub().
  private payloadBuf: Buffer = EMPTY;
  private payloadHave = 0;
  /** step() read a CONNECT line: parse() returns right after it. */
  private connectRead = false;

  constructor(sink: ClientOpSink, limits: ParserLimits) {
    this.sink = sink;
    this.limits = limits;
  }

  /**
   * Parses one read. Returns the number of bytes consumed: buf.length, except
   * right after a CONNECT, where it stops so the caller can authenticate before
   * anything else is processed and later calls parse() with the rest.
   * Throws ProtocolError; the parser is unusable afterwards (the connection closes).
   *
   * The loop itself handles only what a busy connection is made of: a `PUB `
   * at the start of an op, a PUB/HPUB line that ends in this read, and a
   * payload that is all in it. Everything else (SUB, UNSUB, PING, CONNECT, any
   * op spelt out byte by byte, a line or payload that straddles reads) goes
   * through step(), one state at a time, as in the leaf parser: V8 compiles
   * the hot loop once, and code it has not seen run yet costs only step() its
   * recompile (docs/performance.md, change 10).
   */
  parse(input: Uint8Array): number {
    const buf = asBuffer(input);
    const n = buf.length;
    let i = 0;
    while (i < n) {
      const state = this.state;
      if (state === MSG_PAYLOAD) {
        const size = this.pubSize;
        if (this.payloadHave === 0 && n - i >= size + 2) {
          // Whole payload and terminator in this read: hand out a view, copy nothing.
          if (buf[i + size] !== CR) throw parserError.unknownOp(State.MSG_END_R, buf, i + size);
          if (buf[i + size + 1] !== LF) throw parserError.unknownOp(State.MSG_END_N, buf, i + size + 1);
          this.state = OP_START;
          // A plain Uint8Array view: measurably cheaper to make than Buffer#subarray.
          this.sink.pub(this.pubSubject, this.pubReply, this.pubHdr, new Uint8Array(buf.buffer, buf.byteOffset + i, size));
          i += size + 2;
          continue;
        }
      } else if ((state === PUB_ARG || state === HPUB_ARG) && this.line.pending === 0) {
        // Native memchr beats a JS byte loop by far here (bytes are ~4 ns each in JS).
        const lf = buf.indexOf(LF, i);
        if (lf >= 0) {
          // The whole line is in this read: parse it in place.
          const start = i;
          const end = this.wholeLineEnd(state, buf, start, lf, this.limits.maxControlLine);
          i = lf + 1;
          this.state = this.processPub(state, buf, start, end);
          continue;
        }
      } else if (state === OP_START && isLetter(buf[i]!, 0x70) && i + 3 < n && isLetter(buf[i + 1]!, 0x75) && isLetter(buf[i + 2]!, 0x62)) {
        // A whole "PUB " skips three spelling states, and the blank state too when one blank follows.
        const blank = buf[i + 3];
        if (blank === SPACE || blank === TAB) {
          i += 4;
          this.state = i < n && buf[i] !== SPACE && buf[i] !== TAB ? PUB_ARG : OP_PUB_SPC;
          continue;
        }
      }
      i = this.step(buf, i, n);
      if (this.connectRead) {
        this.connectRead = false;
        return i;
      }
    }
    return n;
  }

  /** One step of the op grammar at buf[i] (parse() has the common cases); returns where parsing goes on. */
  private step(buf: FastSliceBuffer, i: number, n: number): number {
    const b = buf[i];
    const sink = this.sink;
    let state = this.state;
    switch (state) {
      case State.OP_START:
        if (isLetter(b, 0x70)) state = State.OP_P;
        else if (isLetter(b, 0x73)) state = State.OP_S;
        else if (isLetter(b, 0x75)) state = State.OP_U;
        else if (isLetter(b, 0x68)) state = State.OP_H;
        else if (isLetter(b, 0x63)) state = State.OP_C;
        else if (isLetter(b, 0x69)) state = State.OP_I;
        else if (b === 0x2b) state = State.OP_PLUS;
        else if (b === 0x2d) state = State.OP_MINUS;
        else if (isLetter(b, 0x72)) state = State.OP_R;
        else if (isLetter(b, 0x6c)) state = State.OP_L;
        else if (isLetter(b, 0x61)) state = State.OP_A;
        // Anything else, including MSG/HMSG, leading whitespace and empty lines (docs/protocol.md#framing).
        else throw parserError.unknownOp(state, buf, i);
        i++;
        break;

      // PUB, PING, PONG branch here; the rest of every op name is spelled by SPELL_NEXT below.
      case State.OP_P:
        if (isLetter(b, 0x75)) state = State.OP_PU;
        else if (isLetter(b, 0x69)) state = State.OP_PI;
        else if (isLetter(b, 0x6f)) state = State.OP_PO;
        else throw parserError.unknownOp(state, buf, i);
        i++;
        break;
      case State.OP_PING:
      case State.OP_PONG:
      case State.OP_PLUS_OK: {
        // Everything after the op name up to LF is ignored (docs/protocol.md#framing: `pingxyz` is a PING).
        const lf = buf.indexOf(LF, i);
        if (lf < 0) {
          i = n;
          break;
        }
        i = lf + 1;
        if (state === State.OP_PING) sink.ping();
        else if (state === State.OP_PONG) sink.pong();
        state = State.OP_START;
        break;
      }

      // Blanks between an op and its arguments; the argument part starts at the first other byte.
      case State.OP_PUB_SPC:
      case State.OP_HPUB_SPC:
      case State.OP_SUB_SPC:
      case State.OP_UNSUB_SPC:
      case State.OP_MINUS_ERR_SPC:
      case State.OP_CONNECT:
      case State.OP_INFO:
        if (b === SPACE || b === TAB) i++;
        else state = ARG_STATE_AFTER[state];
        break;

      case State.PUB_ARG:
      case State.HPUB_ARG:
      case State.SUB_ARG:
      case State.UNSUB_ARG:
      case State.CONNECT_ARG:
      case State.INFO_ARG:
      case State.MINUS_ERR_ARG: {
        // Native memchr beats a JS byte loop by far here (bytes are ~4 ns each in JS).
        const lf = buf.indexOf(LF, i);
        const line = this.line;
        const limit = this.lineLimit(state);
        // The limit is on the argument part and holds for lines still being received (docs/protocol.md#framing).
        if (lf >= 0 && line.pending === 0) {
          // The whole line is in this read: parse it in place.
          const start = i;
          const end = this.wholeLineEnd(state, buf, start, lf, limit);
          i = lf + 1;
          state = this.processLine(state, buf, start, end);
        } else {
          const len = line.lengthWith(buf, i, lf < 0 ? n : lf);
          if (len > limit) throw parserError.maxControlLine(state, len, limit, buf, i, lf < 0 ? n : lf);
          if (lf < 0) {
            line.gather(buf, i, n, limit);
            i = n;
            break;
          }
          line.take(buf, i, lf, limit);
          i = lf + 1;
          state = this.processLine(state, line.src, line.start, line.end);
        }
        if (state === State.CONNECT_ARG) {
          // Stop after CONNECT so the caller authenticates before anything else runs.
          state = State.OP_START;
          this.connectRead = true;
        }
        break;
      }

      case State.MSG_PAYLOAD: {
        // A payload that straddles reads (parse() hands out whole ones): gathered here.
        const size = this.pubSize;
        if (this.payloadHave === 0 && this.payloadBuf.length < size) {
          // Doubling saves reallocations, but never past the payload limit: one connection pins at most that.
          this.payloadBuf = Buffer.allocUnsafe(Math.max(size, Math.min(this.payloadBuf.length * 2, this.limits.maxPayload)));
        }
        const take = Math.min(size - this.payloadHave, n - i);
        this.payloadBuf.set(buf.subarray(i, i + take), this.payloadHave);
        this.payloadHave += take;
        i += take;
        if (this.payloadHave === size) state = State.MSG_END_R;
        break;
      }
      case State.MSG_END_R:
        // docs/protocol.md#framing: after exactly <size> bytes the next two must be CRLF.
        if (b !== CR) throw parserError.unknownOp(state, buf, i);
        state = State.MSG_END_N;
        i++;
        break;
      case State.MSG_END_N:
        if (b !== LF) throw parserError.unknownOp(state, buf, i);
        i++;
        state = State.OP_START;
        this.payloadHave = 0;
        sink.pub(this.pubSubject, this.pubReply, this.pubHdr, new Uint8Array(this.payloadBuf.buffer, this.payloadBuf.byteOffset, this.pubSize));
        // Do not pin a large scratch buffer to an idle connection.
        if (this.payloadBuf.length > RETAINED_SCRATCH_BYTES) this.payloadBuf = EMPTY;
        break;

      // Route (RS+ RS- RMSG), leafnode (LS+ LS- LMSG) and gateway (A+ A-) ops: refused by name.
      case State.OP_R:
      case State.OP_L:
        if (isLetter(b, 0x73)) state = state === State.OP_R ? State.OP_RS : State.OP_LS;
        else if (isLetter(b, 0x6d)) state = state === State.OP_R ? State.OP_RM : State.OP_LM;
        else throw parserError.unknownOp(state, buf, i);
        i++;
        break;
      case State.OP_RM:
      case State.OP_LM:
        if (isLetter(b, 0x73)) state = state === State.OP_RM ? State.OP_RMS : State.OP_LMS;
        else throw parserError.unknownOp(state, buf, i);
        i++;
        break;
      case State.OP_RMS:
      case State.OP_LMS:
        if (isLetter(b, 0x67)) throw parserError.foreignOp(state, buf, i);
        throw parserError.unknownOp(state, buf, i);
      case State.OP_RS:
      case State.OP_LS:
      case State.OP_A:
        if (b === 0x2b || b === 0x2d) throw parserError.foreignOp(state, buf, i);
        throw parserError.unknownOp(state, buf, i);

      default: {
        // Spelling of op names (HMSG from a client fails here, at the M). PUB, HPUB,
        // SUB, UNSUB and -ERR need a blank after the name; CONNECT and INFO do not (docs/protocol.md#framing).
        const next = SPELL_NEXT[state];
        const expect = SPELL_EXPECT[state];
        if (next < 0 || (expect === BLANK ? b !== SPACE && b !== TAB : (b | 0x20) !== expect)) {
          throw parserError.unknownOp(state, buf, i);
        }
        state = next;
        i++;
      }
    }
    this.state = state;
    return i;
  }

  /** Bytes this parser holds on to between reads (a partial line, a payload buffer): bounded by the limits. */
  get retainedBytes(): number {
    return this.line.retainedBytes + this.payloadBuf.length;
  }

  private lineLimit(state: number): number {
    return state === State.CONNECT_ARG || state === State.INFO_ARG ? this.limits.maxConnectLine : this.limits.maxControlLine;
  }

  /**
   * A control line whole in this read, buf[start, lf): the end of its argument
   * part (the limit is on that part, docs/protocol.md#framing), refused past `limit`.
   */
  private wholeLineEnd(state: number, buf: FastSliceBuffer, start: number, lf: number, limit: number): number {
    const end = start + argLength(buf, start, lf);
    if (end - start > limit) throw parserError.maxControlLine(state, end - start, limit, buf, start, end);
    return end;
  }

  /** Acts on one complete control line; returns the next state. */
  private processLine(state: number, src: FastSliceBuffer, start: number, end: number): number {
    const line = this.line;
    switch (state) {
      case State.PUB_ARG:
      case State.HPUB_ARG:
        return this.processPub(state, src, start, end);
      case State.SUB_ARG: {
        const count = line.split(src, start, end);
        if (count !== 2 && count !== 3) throw parserError.badArgs(state, src, start, end, `SUB needs 2 or 3 arguments, got ${count}`);
        const subject = line.arg(src, 0);
        const queue = count === 3 ? line.arg(src, 1) : undefined;
        this.sink.sub(subject, queue, line.arg(src, count - 1));
        return State.OP_START;
      }
      case State.UNSUB_ARG: {
        const count = line.split(src, start, end);
        if (count !== 1 && count !== 2) throw parserError.badArgs(state, src, start, end, `UNSUB needs 1 or 2 arguments, got ${count}`);
        let max: number | undefined;
        if (count === 2) {
          max = line.size(src, 1);
          if (max < 0) throw parserError.badArgs(state, src, start, end, "bad UNSUB max");
        }
        this.sink.unsub(line.arg(src, 0), max);
        return State.OP_START;
      }
      case State.CONNECT_ARG:
        // The JSON is judged by the connection layer (bad JSON closes silently there).
        this.sink.connect(src.utf8Slice(start, end));
        return State.CONNECT_ARG;
      case State.INFO_ARG:
        return State.OP_START; // A client's INFO is ignored, as nats-server does.
      case State.MINUS_ERR_ARG:
        throw parserError.clientErr(state, src, start, end);
      default:
        throw parserError.unknownOp(state, src, start);
    }
  }

  /** PUB <subject> [reply] <size> / HPUB <subject> [reply] <hdr> <total> (docs/protocol.md#messages). */
  private processPub(state: number, src: FastSliceBuffer, start: number, end: number): number {
    const line = this.line;
    const count = line.split(src, start, end);
    let hdr = -1;
    let size: number;
    let hasReply: boolean;
    if (state === State.PUB_ARG) {
      if (count < 2 || count > 3) throw parserError.badArgs(state, src, start, end, `PUB needs 2 or 3 arguments, got ${count}`);
      hasReply = count === 3;
      size = line.size(src, count - 1);
      if (size < 0) throw parserError.badArgs(state, src, start, end, "bad PUB size");
    } else {
      if (count < 3 || count > 4) throw parserError.badArgs(state, src, start, end, `HPUB needs 3 or 4 arguments, got ${count}`);
      hasReply = count === 4;
      hdr = line.size(src, count - 2);
      size = line.size(src, count - 1);
      if (hdr < 0 || size < 0) throw parserError.badArgs(state, src, start, end, "bad HPUB sizes");
      if (hdr > size) throw parserError.badArgs(state, src, start, end, "HPUB header size exceeds total size");
    }
    // Checked on the line, before any payload byte is read (docs/protocol.md#framing); HPUB compares the total.
    if (size > this.limits.maxPayload) {
      throw parserError.maxPayload(state, size, this.limits.maxPayload, src, start, end);
    }
    this.pubSubject = line.subject(src, 0);
    this.pubReply = hasReply ? line.arg(src, 1) : undefined;
    this.pubHdr = hdr;
    this.pubSize = size;
    this.payloadHave = 0;
    return State.MSG_PAYLOAD;
  }
}
