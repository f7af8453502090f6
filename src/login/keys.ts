/**
 * The caller's ed25519 key pair and the files `aaa-leafnode login` leaves
 * behind. The seed file holds the 32-byte seed as 64 hex characters (the format
 * go-choria reads to sign the broker's nonce); the token file holds the JWT as
 * the AAA service returned it. Both are written 0600 through a temporary file
 * and a rename, so a reader never sees half a token, inside a directory created
 * 0700. The JWT payload is decoded here only for display: verification is the
 * broker's business.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { LoginError, LoginErrorCode } from "./errors.js";

/** PKCS#8 DER prefix of an ed25519 private key; the 32 seed bytes follow it. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const HEX_SEED = /^[0-9a-fA-F]{64}$/;

export interface Ed25519Identity {
  seed: Buffer;
  privateKey: KeyObject;
  /** Lower-case hex of the 32-byte public key (the token's `public_key`). */
  publicKeyHex: string;
}

export function identityFromSeed(seed: Buffer): Ed25519Identity {
  if (seed.length !== 32) throw new LoginError(LoginErrorCode.Seed, `ed25519 seed must be 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { seed, privateKey, publicKeyHex: spki.subarray(spki.length - 32).toString("hex") };
}

export function generateIdentity(): Ed25519Identity {
  return identityFromSeed(randomBytes(32));
}

/**
 * Loads the seed file if it exists; `null` when it does not. A file that exists
 * but is not a hex seed is an error rather than something to overwrite: it may
 * be a key of another kind that the user still needs.
 */
export async function loadSeedFile(path: string): Promise<Ed25519Identity | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new LoginError(LoginErrorCode.Seed, `cannot read seed file ${path}: ${(err as NodeJS.ErrnoException).code ?? "EIO"}`, { cause: err });
  }
  const trimmed = text.trim();
  if (!HEX_SEED.test(trimmed)) {
    throw new LoginError(LoginErrorCode.Seed, `seed file ${path} does not hold a 64 hex character ed25519 seed; move it away to generate a new key`);
  }
  return identityFromSeed(Buffer.from(trimmed, "hex"));
}

/** The login proof: hex(ed25519(priv, "<timestamp>:<username>:<password>")) (docs/protocol.md#aaa-login). */
export function signLogin(identity: Ed25519Identity, timestamp: string, username: string, password: string): string {
  return sign(null, Buffer.from(`${timestamp}:${username}:${password}`, "utf8"), identity.privateKey).toString("hex");
}

/** Creates the directory of `file` 0700 when missing (an existing one is left as it is). */
async function ensureDir(file: string): Promise<void> {
  const dir = dirname(file);
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; set the token directory's mode exactly.
  if (created !== undefined) await chmod(dir, 0o700);
}

/** Writes `content` to `file` with mode 0600, atomically (temp file + rename). */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  try {
    await ensureDir(file);
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(content, "utf8");
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  } catch (err) {
    if (err instanceof LoginError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new LoginError(LoginErrorCode.Files, `cannot write ${file}: ${code}`, { cause: err });
  }
}

export interface TokenSummary {
  callerId: string | null;
  /** Expiry as a Date, or null when the token has no `exp`. */
  expires: Date | null;
  purpose: string | null;
}

/** Decodes a JWT's claims without verifying it; null when it is not a JWT. */
export function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === "") return null;
  try {
    const json: unknown = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    return json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function summarizeToken(claims: Record<string, unknown>): TokenSummary {
  return {
    callerId: typeof claims.callerid === "string" ? claims.callerid : null,
    expires: typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null,
    purpose: typeof claims.purpose === "string" ? claims.purpose : null,
  };
}

/** "3h 2m", "59m 58s", "12s", "2d 3h": a duration for people (its sign is ignored). */
export function formatSpan(ms: number): string {
  let s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** How long until `to`, for people; "already expired" when it is past. */
export function formatRemaining(from: Date, to: Date): string {
  const ms = to.getTime() - from.getTime();
  return Math.round(ms / 1000) <= 0 ? "already expired" : formatSpan(ms);
}
