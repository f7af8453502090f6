/**
 * Encoders for the leaf→hub half of the NATS leafnode protocol: CONNECT (the
 * leaf fields only; never `lang`, which makes the hub refuse us as a client on
 * the wrong port), LS+/LS- interest with byte-identical keys, LMSG/HMSG with the
 * queue groups the hub must serve, and PING/PONG. Pure functions returning bytes;
 * the message encoder writes control line, payload and CRLF into one buffer so
 * that a frame is a single write. Grammar: docs/protocol.md#handshake, #leaf-grammar.
 */
import { MAX_SIZE_DIGITS, writeDecimal, writeString } from "./encode.js";
import { WriteBuffer } from "./write_buffer.js";

export { PING, PONG } from "./encode.js";

/** The CONNECT fields a soliciting leaf sends to a 2.9.10 hub (docs/protocol.md#handshake). */
export interface LeafConnectFields {
  /** Stable, unique server name: the hub evicts an older leaf with the same name. */
  name: string;
  version: string;
  tls_required: boolean;
  headers: boolean;
  /** User JWT and nonce signature (operator mode, from a .creds file). */
  jwt?: string;
  sig?: string;
  user?: string;
  pass?: string;
  /** Compression mode (hubs 2.10+ read `compress_mode`); "off" declines compression. */
  compress_mode?: string;
}

export function encodeConnect(fields: LeafConnectFields): Uint8Array {
  // Explicit key list: nothing a client CONNECT would carry (lang, account, …) slips in.
  const obj: Record<string, unknown> = {
    version: fields.version,
    tls_required: fields.tls_required,
    name: fields.name,
    headers: fields.headers,
  };
  if (fields.jwt !== undefined) obj.jwt = fields.jwt;
  if (fields.sig !== undefined) obj.sig = fields.sig;
  if (fields.user !== undefined) obj.user = fields.user;
  if (fields.pass !== undefined) obj.pass = fields.pass;
  if (fields.compress_mode !== undefined) obj.compress_mode = fields.compress_mode;
  return Buffer.from(`CONNECT ${JSON.stringify(obj)}\r\n`, "utf8");
}

/**
 * The interest key exactly as the hub stores it: `subject` or `subject queue`
 * with one space. LS- must repeat it byte for byte (docs/protocol.md#leaf-grammar).
 */
export function interestKey(subject: string, queue: string | undefined): string {
  return queue === undefined ? subject : `${subject} ${queue}`;
}

/** `LS+ subject` or `LS+ subject queue weight`. */
export function encodeLsPlus(subject: string, queue: string | undefined, weight: number): Uint8Array {
  const line = queue === undefined ? `LS+ ${subject}\r\n` : `LS+ ${subject} ${queue} ${weight}\r\n`;
  return Buffer.from(line, "utf8");
}

/** `LS- subject` or `LS- subject queue` (no weight). */
export function encodeLsMinus(subject: string, queue: string | undefined): Uint8Array {
  return Buffer.from(`LS- ${interestKey(subject, queue)}\r\n`, "utf8");
}

/**
 * Append one LMSG (hdrLen <= 0) or HMSG frame, control line + payload + CRLF,
 * to a WriteBuffer (the hot path: no allocation and no string built per
 * message; the control line is copied byte by byte like the client MSG line).
 * Forms: `subj [reply] size`, `subj + reply q… size`, `subj | q… size`; HMSG
 * puts `hdr total` where LMSG has `size`.
 */
export function writeLeafMsg(
  wb: WriteBuffer,
  subject: string,
  reply: string | undefined,
  queues: readonly string[] | null,
  hdrLen: number,
  payload: Uint8Array,
): void {
  const headers = hdrLen > 0;
  const hasQueues = queues !== null && queues.length > 0;
  // Room for the whole line: 3 bytes per UTF-16 unit of every string, blanks, markers, two sizes, CRLF.
  let chars = subject.length + (reply === undefined ? 0 : reply.length);
  let parts = 2;
  if (hasQueues) for (let i = 0; i < queues.length; i++) { chars += queues[i]!.length; parts++; }
  const o0 = wb.reserve(5 + 3 * chars + 2 * parts + 4 + 2 * MAX_SIZE_DIGITS + 2);
  const buf = wb.current;
  let o = o0;
  buf[o++] = headers ? 0x48 : 0x4c; // H | L
  buf[o++] = 0x4d; // M
  buf[o++] = 0x53; // S
  buf[o++] = 0x47; // G
  buf[o++] = 0x20;
  o = writeString(buf, o, subject);
  if (hasQueues) {
    if (reply !== undefined) {
      buf[o++] = 0x20;
      buf[o++] = 0x2b; // +
      buf[o++] = 0x20;
      o = writeString(buf, o, reply);
    } else {
      buf[o++] = 0x20;
      buf[o++] = 0x7c; // |
    }
    for (let i = 0; i < queues.length; i++) {
      buf[o++] = 0x20;
      o = writeString(buf, o, queues[i]!);
    }
  } else if (reply !== undefined) {
    buf[o++] = 0x20;
    o = writeString(buf, o, reply);
  }
  buf[o++] = 0x20;
  if (headers) {
    o = writeDecimal(buf, o, hdrLen);
    buf[o++] = 0x20;
  }
  o = writeDecimal(buf, o, payload.length);
  buf[o++] = 0x0d;
  buf[o++] = 0x0a;
  wb.advance(o - o0);
  wb.writeBytes(payload);
  wb.writeCrlf();
}

/** The same frame as one buffer (tests, rare paths). */
export function encodeLeafMsg(
  subject: string,
  reply: string | undefined,
  queues: readonly string[] | null,
  hdrLen: number,
  payload: Uint8Array,
): Uint8Array {
  const wb = new WriteBuffer();
  writeLeafMsg(wb, subject, reply, queues, hdrLen, payload);
  return Buffer.concat(wb.take());
}
