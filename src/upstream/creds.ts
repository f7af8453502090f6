/**
 * NATS `.creds` files for operator-mode hubs: a user JWT and an nkey seed, each
 * in an armoured block (`-----BEGIN NATS USER JWT-----` … `------END …------`);
 * the prose around them is ignored. The leaf signs the hub's INFO nonce string
 * with the seed and sends JWT + signature in its CONNECT (docs/protocol.md#handshake).
 */
import { readFileSync } from "node:fs";
import { fromSeed } from "nkeys.js";
import { UpstreamError } from "../errors.js";

export const CredsErrorCode = {
  Read: "GW_ERR_CREDS_READ",
  Malformed: "GW_ERR_CREDS_MALFORMED",
} as const;

export interface Creds {
  jwt: string;
  /** The `SU…` user seed. */
  seed: string;
}

// A block opens with ≥3 dashes, a label, ≥3 dashes on one line, and closes the same way.
const BLOCK = /-{3,}[^\n]*?-{3,}[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*-{3,}[^\n]*?-{3,}/g;

export function parseCreds(text: string): Creds {
  const blocks = [...text.matchAll(BLOCK)].map((m) => m[1]!.trim()).filter((b) => b.length > 0);
  if (blocks.length < 2) throw new UpstreamError(CredsErrorCode.Malformed, "creds file: expected a JWT block and a seed block");
  const [jwt, seed] = blocks as [string, string];
  if (jwt.split(".").length !== 3) throw new UpstreamError(CredsErrorCode.Malformed, "creds file: first block is not a JWT");
  if (!seed.startsWith("SU")) throw new UpstreamError(CredsErrorCode.Malformed, "creds file: second block is not a user nkey seed (SU…)");
  return { jwt, seed };
}

export function readCreds(path: string): Creds {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UpstreamError(CredsErrorCode.Read, `creds file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseCreds(text);
}

/** base64url (no padding) ed25519 signature of the nonce string, as nats-server expects. */
export function signNonce(seed: string, nonce: string): string {
  let kp;
  try {
    kp = fromSeed(new TextEncoder().encode(seed));
  } catch (err) {
    throw new UpstreamError(CredsErrorCode.Malformed, `creds file: invalid seed: ${(err as Error).message}`, { cause: err });
  }
  const sig = kp.sign(new TextEncoder().encode(nonce));
  return Buffer.from(sig).toString("base64url");
}
