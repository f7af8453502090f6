/**
 * The machinery both protocol parsers share (client port and leafnode link), as
 * nats-server shares one parser for every connection kind: gathering a control
 * line that straddles reads, splitting it into arguments, reading sizes, and the
 * one error type either parser throws. Each parser keeps only its own op table
 * (the states that spell its op names and what each op does with its line).
 * Framing rules: docs/protocol.md#framing.
 *
 * Nothing here allocates per line when the line arrives whole: the arguments
 * are offsets into the caller's bytes, and strings are made only when asked for.
 */
import { ProtocolError } from "../errors.js";

export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;

/** Stable codes of the ProtocolErrors both parsers throw; the connection maps each to its close reason. */
export const ProtocolErrorCode = {
  /** Bad or unknown op, junk, bad payload terminator (`-ERR 'Unknown Protocol Operation'`). */
  UnknownOp: "GW_ERR_UNKNOWN_OP",
  /** Wrong argument count or bad sizes: nats-server closes without -ERR. */
  BadArgs: "GW_ERR_BAD_ARGS",
  MaxControlLine: "GW_ERR_MAX_CONTROL_LINE",
  MaxPayload: "GW_ERR_MAX_PAYLOAD",
  /** A route, gateway or leafnode op (`RS+`, `LS+`, `LMSG`, `A+` ...) from a client. */
  ForeignProtocol: "GW_ERR_FOREIGN_PROTOCOL",
  /** A client sent -ERR; nats-server logs it and closes. */
  ClientErr: "GW_ERR_CLIENT_ERR",
} as const;

export type ProtocolErrorCodeValue = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** Node's unexported-but-stable slice methods: ~30% faster than toString(enc, s, e) on short strings. */
export interface FastSliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

export const EMPTY = Buffer.alloc(0) as FastSliceBuffer;

/** src[from, to) as a string: latin1 when all ASCII, UTF-8 otherwise (INFO JSON, -ERR text). */
export function text(src: FastSliceBuffer, from: number, to: number): string {
  for (let i = from; i < to; i++) if (src[i]! >= 0x80) return src.utf8Slice(from, to);
  return src.latin1Slice(from, to);
}

/** A Buffer view of any Uint8Array, without copying. */
export function asBuffer(buf: Uint8Array): FastSliceBuffer {
  return (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)) as FastSliceBuffer;
}

/**
 * Length of a line's argument part buf[from, to) when nothing of it was
 * gathered from earlier reads: a CR right before `to` belongs to the line's
 * terminator. The one rule both parsers check the control-line limit with
 * (LineReader.lengthWith for gathered lines).
 */
export function argLength(buf: Uint8Array, from: number, to: number): number {
  return to > from && buf[to - 1] === CR ? to - from - 1 : to - from;
}

export function isBlank(b: number): boolean {
  return b === SPACE || b === TAB;
}

/** Scratch buffers above this size are dropped after use rather than kept per connection. */
export const RETAINED_SCRATCH_BYTES = 16 * 1024;

/**
 * Decimal size as nats-server parseSize reads it: 1 to 9 ASCII digits, no sign.
 * Anything else is -1, which callers turn into a silent close.
 */
export function parseSize(src: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > 9) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = src[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Up to 32 bytes of src[at, limit), printable ASCII kept, the rest escaped: for messages and logs. */
export function snippet(src: Uint8Array, at: number, limit: number = src.length): string {
  const end = Math.min(limit, at + 32);
  let out = "";
  for (let i = Math.max(0, at); i < end; i++) {
    const b = src[i]!;
    if (b === CR) out += "\\r";
    else if (b === LF) out += "\\n";
    else if (b === TAB) out += "\\t";
    else if (b === 0x5c) out += "\\\\";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return end < limit ? out + "…" : out;
}

/** A ProtocolError naming the parser state and showing the offending bytes, for the log line. */
export function protocolError(code: ProtocolErrorCodeValue, what: string, state: string, src: Uint8Array, at: number, end?: number): ProtocolError {
  return new ProtocolError(code, `${what} in ${state}: ${snippet(src, at, end)}`);
}

/**
 * Subjects repeat a lot (across messages and across connections: a publish
 * subject, the reply subject of a fan-in), so one small cache, shared by both
 * parsers, maps recent ASCII subject bytes to their string. A hit saves a
 * native slice call and a string, and the same string object keeps its hash,
 * so the sublist's match cache does not hash it again. Direct-mapped on a
 * cheap hash; a hit is confirmed byte by byte, so it is never wrong.
 */
const SUBJECT_CACHE_SLOTS = 64;
/** Long enough for a Choria reply subject (`<collective>.reply.<32 hex>.<id>`). */
const SUBJECT_CACHE_MAX = 128;
const subjectCacheBytes = new Uint8Array(SUBJECT_CACHE_SLOTS * SUBJECT_CACHE_MAX);
const subjectCacheLen = new Int32Array(SUBJECT_CACHE_SLOTS);
const subjectCacheStr: string[] = new Array<string>(SUBJECT_CACHE_SLOTS).fill("");

function cachedAsciiString(src: FastSliceBuffer, start: number, end: number): string {
  const len = end - start;
  if (len === 0 || len > SUBJECT_CACHE_MAX) return src.latin1Slice(start, end);
  const slot = (len * 31 + src[start]! * 7 + src[end - 1]! * 13 + src[start + (len >> 1)]!) & (SUBJECT_CACHE_SLOTS - 1);
  const base = slot * SUBJECT_CACHE_MAX;
  if (subjectCacheLen[slot] === len) {
    // From the end: V8 compiles this loop to half the time of the forward one,
    // and subjects that share a slot mostly differ in their last tokens.
    let k = len - 1;
    while (k >= 0 && subjectCacheBytes[base + k] === src[start + k]) k--;
    if (k < 0) return subjectCacheStr[slot]!;
  }
  const str = src.latin1Slice(start, end);
  for (let k = 0; k < len; k++) subjectCacheBytes[base + k] = src[start + k]!;
  subjectCacheLen[slot] = len;
  subjectCacheStr[slot] = str;
  return str;
}

/**
 * One control line at a time. A line that arrives whole is read in place; one
 * that straddles reads is gathered (never beyond the limit the caller checks)
 * and read from the gathered copy. After `take()`, `src[start, end)` is the
 * line without its CRLF; after `split()`, argStart/argEnd hold the arguments.
 */
export class LineReader {
  /** The current line: valid from take() until the next call that changes the reader. */
  src: FastSliceBuffer = EMPTY;
  start = 0;
  end = 0;
  /** Argument offsets from the last split(); only the first `capacity` are kept. */
  argStart: Int32Array;
  argEnd: Int32Array;
  /** Whether every byte of the last split line was ASCII (latin1 slicing is then exact). */
  argsAscii = true;
  /** Bytes of the current line kept from earlier reads (read it, do not set it). */
  pending = 0;
  private gathered: FastSliceBuffer = EMPTY;

  /** `capacity` arguments are kept, more are only counted (see reserve()). */
  constructor(private capacity: number) {
    this.argStart = new Int32Array(capacity);
    this.argEnd = new Int32Array(capacity);
  }

  /** Bytes this reader holds on to (for memory bounds). */
  get retainedBytes(): number {
    return this.gathered.length;
  }

  /**
   * Length of the line's argument part if it ends at `lf` (or, with lf = -1,
   * if it continues past `to`): the bytes gathered so far plus buf[from, to),
   * not counting a CR at the end (it may be the line's own terminator).
   */
  lengthWith(buf: Uint8Array, from: number, to: number): number {
    if (this.pending === 0) return argLength(buf, from, to);
    const len = this.pending + (to - from);
    const last = to > from ? buf[to - 1] : this.gathered[this.pending - 1];
    return last === CR ? len - 1 : len;
  }

  /**
   * Keep buf[from, to) of a line that continues in the next read. The caller
   * has checked lengthWith() against `limit`; the copy never grows past the
   * limit plus its CR LF, so a partial line pins at most that much.
   */
  gather(buf: Uint8Array, from: number, to: number, limit: number): void {
    const need = this.pending + (to - from);
    if (need > this.gathered.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(Math.max(256, this.gathered.length * 2), limit + 2))) as FastSliceBuffer;
      grown.set(this.gathered.subarray(0, this.pending));
      this.gathered = grown;
    }
    this.gathered.set(buf.subarray(from, to), this.pending);
    this.pending = need;
  }

  /** The line ends at buf[lf]: make src/start/end the line without its CR LF. The caller has checked the limit. */
  take(buf: FastSliceBuffer, from: number, lf: number, limit: number): void {
    let src = buf;
    let start = from;
    let end = lf;
    if (this.pending > 0) {
      // The line began in an earlier read: finish it in the gathered copy and read it there.
      this.gather(buf, from, lf, limit);
      src = this.gathered;
      start = 0;
      end = this.pending;
      this.pending = 0;
      if (this.gathered.length > RETAINED_SCRATCH_BYTES) {
        // Read from this copy and let the large buffer go (long CONNECT or INFO lines).
        src = this.gathered.subarray(0, end) as FastSliceBuffer;
        this.gathered = EMPTY;
      }
    }
    if (end > start && src[end - 1] === CR) end--;
    this.src = src;
    this.start = start;
    this.end = end;
  }

  /**
   * Splits the current line on runs of blanks (space, tab, CR, as nats-server
   * splitArg); returns the count. One pass, which also notes whether any byte
   * needs UTF-8 decoding, so ASCII arguments skip a second scan.
   */
  split(src: Uint8Array, start: number, end: number): number {
    // Kept as plain as this: a growth check inside the loop cost a quarter of
    // the parser's throughput. A token's bytes are read by an inner loop with
    // one compare for a byte above the blanks: three times as fast as testing
    // every byte for all three blanks (docs/performance.md, change 12).
    const cap = this.capacity;
    const as = this.argStart;
    const ae = this.argEnd;
    let count = 0;
    let high = 0;
    let i = start;
    while (i < end) {
      let b = src[i]!;
      if (b === SPACE || b === TAB || b === CR) {
        i++;
        continue;
      }
      const tokenStart = i;
      for (;;) {
        high |= b;
        if (++i === end) break;
        b = src[i]!;
        if (b <= SPACE && (b === SPACE || b === TAB || b === CR)) break;
      }
      if (count < cap) {
        as[count] = tokenStart;
        ae[count] = i;
      }
      count++;
    }
    this.argsAscii = high < 0x80;
    return count;
  }

  /** Makes room for `count` arguments (a leaf LMSG may list any number of queues); split() again after. */
  reserve(count: number): void {
    if (count <= this.capacity) return;
    this.argStart = new Int32Array(count);
    this.argEnd = new Int32Array(count);
    this.capacity = count;
  }

  /** Argument `index` of the last split() of `src` as a string. */
  arg(src: FastSliceBuffer, index: number): string {
    const start = this.argStart[index]!;
    const end = this.argEnd[index]!;
    return this.argsAscii ? src.latin1Slice(start, end) : src.utf8Slice(start, end);
  }

  /** Argument `index` as a subject: like arg(), through the shared subject cache when the line is ASCII. */
  subject(src: FastSliceBuffer, index: number): string {
    return this.argsAscii ? cachedAsciiString(src, this.argStart[index]!, this.argEnd[index]!) : this.arg(src, index);
  }

  /** Argument `index` as a size (parseSize), -1 when it is not one. */
  size(src: Uint8Array, index: number): number {
    return parseSize(src, this.argStart[index]!, this.argEnd[index]!);
  }

  /** Whether argument `index` is exactly the one byte `b`. */
  argIs(src: Uint8Array, index: number, b: number): boolean {
    return this.argEnd[index]! - this.argStart[index]! === 1 && src[this.argStart[index]!] === b;
  }
}
