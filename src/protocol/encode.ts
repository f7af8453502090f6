/**
 * Encoders for what the gateway sends to NATS clients: INFO, PING/PONG/+OK,
 * -ERR, and the MSG/HMSG control line. The MSG/HMSG writer is on the delivery
 * hot path (one call per message per subscriber), so it writes bytes straight
 * into the caller's outbound buffer with no intermediate string: short ASCII
 * strings are copied by a JS loop, which measured ~2.5x faster than one
 * Buffer#utf8Write call per part on this workload (native calls cost more than
 * the copy), and anything else falls back to utf8Write. Byte formats follow
 * nats-server 2.9.10: docs/protocol.md#connection-lifecycle, #messages, #no-responders.
 */

import { errLine } from "./wire_text.js";

/** Buffer's unexported-but-stable writer (no encoding argument to dispatch on). */
interface Utf8WriteBuffer extends Buffer {
  utf8Write(str: string, offset: number, length?: number): number;
}

/** Shared constants: never write into them. */
export const PING: Uint8Array = Buffer.from("PING\r\n");
export const PONG: Uint8Array = Buffer.from("PONG\r\n");
export const OK: Uint8Array = Buffer.from("+OK\r\n");

/** The header block of a no-responders status message (16 bytes, docs/protocol.md#no-responders). */
export const NO_RESPONDERS_HEADER: Uint8Array = Buffer.from("NATS/1.0 503\r\n\r\n");

/**
 * `INFO {json} \r\n`, with the space before CRLF that 2.9.10 sends (docs/protocol.md#connection-lifecycle), and
 * `<`, `>`, `&`, U+2028, U+2029 escaped as Go's encoding/json does, so our INFO
 * reads byte-for-byte like nats-server's for the same values.
 */
export function encodeInfo(info: object): Uint8Array {
  const json = JSON.stringify(info).replace(/[<>&\u2028\u2029]/g, goJsonEscape);
  return Buffer.from(`INFO ${json} \r\n`, "utf8");
}

function goJsonEscape(ch: string): string {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

/** `-ERR '<text>'\r\n`; texts come from wire_text.ts. */
export function encodeErr(text: string): Uint8Array {
  return Buffer.from(errLine(text), "utf8");
}

const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;
/** Digits of any safe integer size; a generous bound, not an exact count. */
export const MAX_SIZE_DIGITS = 16;
/** Longer strings go straight to utf8Write, where the native call pays for itself. */
const JS_COPY_MAX_CHARS = 64;

/**
 * Upper bound of the bytes writeMsgHeader needs for these strings, whatever the
 * sizes: every UTF-16 unit takes at most 3 UTF-8 bytes.
 */
export function msgHeaderMaxBytes(subject: string, sid: string, reply: string | undefined): number {
  // `<subject> <sid> `: 3 bytes per unit and the 2 blanks.
  return msgLineMaxBytes(3 * (subject.length + sid.length) + 2, reply);
}

/** Upper bound of a MSG/HMSG line whose `<subject> <sid> ` takes `headBytes`, whatever the sizes. */
function msgLineMaxBytes(headBytes: number, reply: string | undefined): number {
  // "HMSG " + head + reply and its blank + 2 sizes + blank between them + CRLF
  return 5 + headBytes + (reply === undefined ? 0 : 3 * reply.length + 1) + 2 * MAX_SIZE_DIGITS + 1 + 2;
}

/**
 * Writes `MSG <subject> <sid> [reply] <total>\r\n`, or, when hdrLen >= 0,
 * `HMSG <subject> <sid> [reply] <hdrLen> <total>\r\n`, into buf at offset.
 * Returns the offset after the line, or -1 (buf untouched past offset is not
 * guaranteed) when it does not fit; the caller then grows buf by at least
 * msgHeaderMaxBytes() and calls again.
 */
export function writeMsgHeader(
  buf: Buffer,
  offset: number,
  subject: string,
  sid: string,
  reply: string | undefined,
  hdrLen: number,
  totalLen: number,
): number {
  if (offset + msgHeaderMaxBytes(subject, sid, reply) > buf.length) {
    // The cheap bound failed; only an exact count can say whether it still fits.
    if (offset + msgHeaderExactBytes(subject, sid, reply, hdrLen, totalLen) > buf.length) return -1;
  }
  const out = buf as Utf8WriteBuffer;
  let o = writeMsgOp(out, offset, hdrLen);
  o = writeString(out, o, subject);
  out[o++] = SPACE;
  o = writeString(out, o, sid);
  out[o++] = SPACE;
  return writeMsgTail(out, o, reply, hdrLen, totalLen);
}

/**
 * The same line as writeMsgHeader, with `<subject> <sid> ` taken from a
 * MsgHead's bytes. The caller has reserved msgHeadLineMaxBytes().
 */
export function writeMsgHeaderFromHead(buf: Buffer, offset: number, head: Uint8Array, reply: string | undefined, hdrLen: number, totalLen: number): number {
  const o = writeMsgOp(buf, offset, hdrLen);
  buf.set(head, o);
  return writeMsgTail(buf, o + head.length, reply, hdrLen, totalLen);
}

/** `MSG ` or, with headers (hdrLen >= 0), `HMSG `, at o; returns the offset after it. */
function writeMsgOp(out: Buffer, o: number, hdrLen: number): number {
  if (hdrLen >= 0) out[o++] = 0x48; // H
  out[o++] = 0x4d; // M
  out[o++] = 0x53; // S
  out[o++] = 0x47; // G
  out[o++] = SPACE;
  return o;
}

/** Upper bound of the bytes writeMsgHeaderFromHead needs. */
export function msgHeadLineMaxBytes(head: Uint8Array, reply: string | undefined): number {
  return msgLineMaxBytes(head.length, reply);
}

/** `[reply ][hdrLen ]<total>\r\n`, the part of a MSG/HMSG line after `<subject> <sid> `. */
function writeMsgTail(out: Buffer, o: number, reply: string | undefined, hdrLen: number, totalLen: number): number {
  if (reply !== undefined) {
    o = writeString(out, o, reply);
    out[o++] = SPACE;
  }
  if (hdrLen >= 0) {
    o = writeDecimal(out, o, hdrLen);
    out[o++] = SPACE;
  }
  o = writeDecimal(out, o, totalLen);
  out[o++] = CR;
  out[o++] = LF;
  return o;
}

/** Exact byte count of the line writeMsgHeader would write; only used near the end of a buffer. */
function msgHeaderExactBytes(subject: string, sid: string, reply: string | undefined, hdrLen: number, totalLen: number): number {
  let n = (hdrLen >= 0 ? 5 : 4) + Buffer.byteLength(subject) + 1 + Buffer.byteLength(sid) + 1;
  if (reply !== undefined) n += Buffer.byteLength(reply) + 1;
  if (hdrLen >= 0) n += decimalDigits(hdrLen) + 1;
  return n + decimalDigits(totalLen) + 2;
}

/**
 * Copies str as UTF-8 at o; returns the new offset. Caller has checked the room
 * (3 bytes per UTF-16 unit). Shared with the leafnode encoder.
 */
export function writeString(buf: Buffer, o: number, str: string): number {
  const len = str.length;
  if (len <= JS_COPY_MAX_CHARS) {
    let i = 0;
    for (; i < len; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) break;
      buf[o + i] = c;
    }
    if (i === len) return o + len;
  }
  return o + (buf as Utf8WriteBuffer).utf8Write(str, o);
}

function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** Writes a non-negative integer in decimal at o; returns the new offset. */
export function writeDecimal(buf: Buffer, o: number, n: number): number {
  if (n < 10) {
    buf[o] = 0x30 + n;
    return o + 1;
  }
  const digits = decimalDigits(n);
  let p = o + digits;
  while (n >= 10) {
    const q = Math.floor(n / 10);
    buf[--p] = 0x30 + (n - q * 10);
    n = q;
  }
  buf[--p] = 0x30 + n;
  return o + digits;
}

/**
 * Heads of more UTF-16 units than this are not kept, nor are subjects longer
 * than this remembered: a subscription pins at most a subject of this length
 * and 3 bytes per unit of it.
 */
export const MSG_HEAD_MAX_UNITS = 256;

/**
 * `<subject> <sid> ` of one subscription's MSG lines, kept as bytes. Most
 * subscriptions see one subject again and again (a fan-in's replies all go to
 * one reply subject, a broadcast reaches each subscriber on its subject), and
 * copying kept bytes costs a fraction of encoding the two strings and
 * mapping the subject back for the client (docs/performance.md, change 11).
 * The bytes are made on a subject's second delivery in a row, so a wildcard
 * subscription that sees a new subject each time allocates nothing for it.
 */
export class MsgHead {
  /** The subject as routed (the key), whose head is kept or which was seen last. */
  private subject: string | undefined = undefined;
  private bytes: Uint8Array | null = null;

  constructor(private readonly sid: string) {}

  /** The kept head when `subject` (as routed) is the one it was made for, else null: write the strings. */
  get(subject: string): Uint8Array | null {
    return subject === this.subject ? this.bytes : null;
  }

  /** A delivery on `subject` (as routed) was written with the strings, `shown` being the subject the client sees. */
  note(subject: string, shown: string): void {
    if (subject !== this.subject) {
      // Only a subject whose head could be kept is remembered: a long one is never pinned here.
      this.subject = subject.length <= MSG_HEAD_MAX_UNITS ? subject : undefined;
      this.bytes = null;
    } else if (shown.length + this.sid.length + 2 <= MSG_HEAD_MAX_UNITS) {
      this.bytes = Buffer.from(`${shown} ${this.sid} `, "utf8");
    }
  }
}
