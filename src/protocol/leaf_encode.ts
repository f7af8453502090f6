/**
 * Encoders for the leaf→hub half of the NATS leafnode protocol: CONNECT (the
 * leaf fields only; never `lang`, which makes the hub refuse us as a client on
 * the wrong port), LS+/LS- interest with byte-identical keys, LMSG/HMSG with the
 * queue groups the hub must serve, and PING/PONG. Pure functions returning bytes;
 * the message encoder writes control line, payload and CRLF into one buffer so
 * that a frame is a single write. Grammar: docs/protocol.md#handshake, #leaf-grammar.
 */
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
 * to a WriteBuffer (the hot path: no allocation per message). Forms:
 * `subj [reply] size`, `subj + reply q… size`, `subj | q… size`; HMSG puts
 * `hdr total` where LMSG has `size`.
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
  wb.writeString(headers ? "HMSG " : "LMSG ");
  wb.writeString(subject);
  if (queues !== null && queues.length > 0) {
    if (reply !== undefined) {
      wb.writeString(" + ");
      wb.writeString(reply);
    } else {
      wb.writeString(" |");
    }
    for (let i = 0; i < queues.length; i++) {
      wb.writeString(" ");
      wb.writeString(queues[i]!);
    }
  } else if (reply !== undefined) {
    wb.writeString(" ");
    wb.writeString(reply);
  }
  wb.writeString(headers ? ` ${hdrLen} ${payload.length}` : ` ${payload.length}`);
  wb.writeCrlf();
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
