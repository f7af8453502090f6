/**
 * A small KSUID codec (segmentio/ksuid format, facts only): 20 bytes = a 4-byte
 * big-endian timestamp in seconds since 1400000000 followed by 16 random bytes,
 * written as 27 base62 characters padded with '0'. Choria chain tokens use a
 * KSUID `jti` whose timestamp must equal `iat` (docs/protocol.md#issuer-chain), so the
 * verifier needs to read the time back and the development minter to write it.
 */
import { randomBytes } from "node:crypto";

export const KSUID_EPOCH = 1_400_000_000;
const KSUID_BYTES = 20;
const KSUID_CHARS = 27;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const MAX_VALUE = (1n << 160n) - 1n;

/** A KSUID for `timeSeconds` (unix seconds) with random (or given 16-byte) payload. */
export function newKsuid(timeSeconds: number, payload?: Uint8Array): string {
  const stamp = Math.floor(timeSeconds) - KSUID_EPOCH;
  if (!Number.isFinite(stamp) || stamp < 0 || stamp > 0xffffffff) {
    throw new RangeError(`time ${timeSeconds} is outside the KSUID range`);
  }
  const body = payload ?? randomBytes(16);
  if (body.length !== 16) throw new RangeError("KSUID payload must be 16 bytes");
  let value = BigInt(stamp);
  for (const b of body) value = (value << 8n) | BigInt(b);
  let out = "";
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(KSUID_CHARS, "0");
}

/** The unix-seconds timestamp embedded in a KSUID string; throws on anything that is not one. */
export function ksuidTimestamp(ksuid: string): number {
  if (ksuid.length !== KSUID_CHARS) throw new Error(`KSUID must be ${KSUID_CHARS} characters`);
  let value = 0n;
  for (let i = 0; i < ksuid.length; i++) {
    const digit = ALPHABET.indexOf(ksuid[i]!);
    if (digit < 0) throw new Error("KSUID contains a non-base62 character");
    value = value * 62n + BigInt(digit);
  }
  if (value > MAX_VALUE) throw new Error("KSUID value exceeds 160 bits");
  const stamp = Number(value >> BigInt((KSUID_BYTES - 4) * 8));
  return stamp + KSUID_EPOCH;
}
