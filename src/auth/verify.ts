/**
 * Verification of a Choria client-id JWT and of the CONNECT nonce signature
 * (docs/protocol.md#choria-connect, #token-verification, #issuer-chain). Order: size limit before any parsing, strict
 * compact-JWS decoding, an allow-listed `alg` matched to the key type (a public
 * key is never an HMAC secret: the key type must be the one the alg names), the
 * purpose, the signature (signers in order, or the org issuer picked by `ou`
 * with `C-` chains), then claims and times. Verified tokens are cached (bounded,
 * never past expiry); the nonce signature is checked on every connection.
 */
import { verify as cryptoVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { AuthCode, refuse } from "./auth_error.js";
import { ed25519Verify, isChainToken, parseChainLink, signedByOrgIssuer, verifyChainLink } from "./chain.js";
import { checkPurpose, parseClientClaims } from "./claims.js";
import { ed25519PublicKeyFromHex, type IssuerKey, type SignerKey, type SignerKeyType } from "./signers.js";
import type { ClientClaims } from "./types.js";
import { BoundedMap } from "../bounded_map.js";
import { DEFAULTS } from "../config/defaults.js";

export const DEFAULT_MAX_TOKEN_SIZE = DEFAULTS.limits.maxTokenSize;
export const DEFAULT_CLOCK_SKEW = DEFAULTS.clockSkew;
const DEFAULT_CACHE_SIZE = DEFAULTS.tokenCacheSize;
const DEFAULT_OU = "choria";

/** alg → the key type that may verify it. Anything not listed is refused. */
const ACCEPTED_ALGS: Readonly<Record<string, SignerKeyType>> = {
  RS256: "rsa",
  RS384: "rsa",
  RS512: "rsa",
  EdDSA: "ed25519",
};

const B64URL = /^[A-Za-z0-9_-]*$/;

export interface TokenVerifierOptions {
  /** Signers, tried in order (signer mode). */
  signers?: readonly SignerKey[];
  /** Org issuers by `ou` (issuer mode). Mutually exclusive with signers. */
  issuers?: ReadonlyMap<string, IssuerKey>;
  /** Tolerance for exp/nbf, ms. */
  clockSkew?: number;
  /** Largest accepted token, bytes. */
  maxTokenSize?: number;
  /** Verified-token cache entries (0 = off). */
  cacheSize?: number;
  /** Clock, ms since epoch (tests inject one). */
  now?: () => number;
}

export interface VerifiedToken {
  claims: ClientClaims;
  /** Effective expiry, ms since epoch: min(exp, issexp). */
  expiresAt: number;
  /** Which signer / issuer verified it, for the audit log. */
  verifiedBy: string;
}

/** The three parts of a compact JWS, decoded but not verified. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  if (part === "" || !B64URL.test(part)) throw refuse(AuthCode.Malformed, `${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw refuse(AuthCode.Malformed, `${what} is not JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw refuse(AuthCode.Malformed, `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Decode header and payload; refuse a disallowed alg before looking further,
 * so `none`/HS256 tokens are named as such even though they carry no usable signature.
 */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split(".");
  if (parts.length !== 3) throw refuse(AuthCode.Malformed, "token is not a compact JWS (three dot-separated parts)");
  const header = decodeJsonPart(parts[0]!, "JWT header");
  const alg = header["alg"];
  if (typeof alg !== "string") throw refuse(AuthCode.Malformed, "JWT header has no alg");
  if (!Object.hasOwn(ACCEPTED_ALGS, alg)) throw refuse(AuthCode.Alg, `alg ${JSON.stringify(alg).slice(0, 40)} is not accepted`);
  // RFC 7515 section 4.1.11: we understand no extension, so any `crit` header must be refused.
  if (header["crit"] !== undefined) throw refuse(AuthCode.Malformed, "JWT header has crit extensions");
  if (header["b64"] !== undefined) throw refuse(AuthCode.Malformed, "JWT header has the b64 extension");
  const payload = decodeJsonPart(parts[1]!, "JWT payload");
  if (parts[2] === "" || !B64URL.test(parts[2]!)) throw refuse(AuthCode.Malformed, "JWT signature is not base64url");
  return { header, payload, alg };
}

/** RFC 7518 section 3.3 (RS*: RSASSA-PKCS1-v1_5 with SHA-2) and RFC 8037 (EdDSA: Ed25519, no digest). */
const JWS_DIGEST: Readonly<Record<string, string | null>> = { RS256: "sha256", RS384: "sha384", RS512: "sha512", EdDSA: null };
/** RFC 7518 section 3.3: RSA keys of 2048 bits or more. */
const MIN_RSA_BITS = 2048;

/**
 * Does `key` verify the JWS signature of `token` for exactly `alg`? The key type
 * must be the one the alg names (never an HMAC secret, never a key of another
 * kind). node:crypto's one-shot verify is synchronous: about 3x cheaper per
 * CONNECT than a WebCrypto round trip (measured in the connection storm bench).
 */
function jwsVerifies(token: string, key: KeyObject, alg: string): boolean {
  const digest = JWS_DIGEST[alg];
  if (digest === undefined || key.asymmetricKeyType !== ACCEPTED_ALGS[alg]) return false;
  if (digest !== null && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return false;
  const dot = token.lastIndexOf(".");
  const signature = Buffer.from(token.slice(dot + 1), "base64url");
  try {
    return cryptoVerify(digest, Buffer.from(token.slice(0, dot), "ascii"), key, signature);
  } catch {
    return false;
  }
}

export class TokenVerifier {
  private readonly signers: readonly SignerKey[];
  private readonly issuers: ReadonlyMap<string, IssuerKey>;
  private readonly clockSkew: number;
  readonly maxTokenSize: number;
  private readonly now: () => number;
  /** token → verified result; the oldest goes first when full. */
  private readonly cache: BoundedMap<VerifiedToken>;

  constructor(opts: TokenVerifierOptions) {
    this.signers = opts.signers ?? [];
    this.issuers = opts.issuers ?? new Map();
    this.clockSkew = opts.clockSkew ?? DEFAULT_CLOCK_SKEW;
    this.maxTokenSize = opts.maxTokenSize ?? DEFAULT_MAX_TOKEN_SIZE;
    this.cache = new BoundedMap<VerifiedToken>({ entries: opts.cacheSize ?? DEFAULT_CACHE_SIZE });
    this.now = opts.now ?? Date.now;
  }

  /** Number of cached verified tokens (for tests and /connz). */
  get cachedTokens(): number {
    return this.cache.size;
  }

  /** Verify a token; resolves the claims or rejects with AuthError. */
  async verify(token: string): Promise<VerifiedToken> {
    // A limit before parsing: an attacker must not make us base64/JSON-decode megabytes.
    if (token.length > this.maxTokenSize || Buffer.byteLength(token, "utf8") > this.maxTokenSize) {
      throw refuse(AuthCode.TooLarge, `token too large (limit ${this.maxTokenSize} bytes)`);
    }
    const now = this.now();
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      if (now < hit.expiresAt) return hit;
      this.cache.delete(token);
    }

    const { payload, alg } = decodeJwt(token);
    checkPurpose(payload);
    const verifiedBy = this.issuers.size > 0 ? await this.verifyWithIssuer(token, payload, alg) : await this.verifyWithSigners(token, payload, alg);

    const claims = parseClientClaims(payload);
    const expiresAt = this.checkTimes(claims, now);
    const result: VerifiedToken = { claims, expiresAt, verifiedBy };
    this.cache.set(token, result);
    return result;
  }

  /** Issuer mode: the unverified `ou` picks the org issuer; `C-` tokens prove their chain to it. */
  private async verifyWithIssuer(token: string, payload: Record<string, unknown>, alg: string): Promise<string> {
    const ouClaim = payload["ou"];
    if (ouClaim !== undefined && typeof ouClaim !== "string") throw refuse(AuthCode.Claims, "ou: must be a string");
    const ou = ouClaim === undefined || ouClaim === "" ? DEFAULT_OU : ouClaim;
    const issuer = this.issuers.get(ou);
    if (!issuer) throw refuse(AuthCode.Chain, `no org issuer configured for ou ${JSON.stringify(ou).slice(0, 80)}`);
    if (alg !== "EdDSA") throw refuse(AuthCode.Alg, `alg ${alg} cannot be verified by the ed25519 org issuer ${issuer.name}`);
    let key = issuer.key;
    let by = `issuer ${issuer.name}`;
    if (isChainToken(payload)) {
      key = verifyChainLink(parseChainLink(payload), issuer.key);
      by = `chain issuer of ${issuer.name}`;
    }
    if (!jwsVerifies(token, key, alg)) throw refuse(AuthCode.BadSignature, `signature does not verify with ${by}`);
    return by;
  }

  /** Signer mode: each signer of the right key type, in configured order; `C-` chains root at an ed25519 signer. */
  private async verifyWithSigners(token: string, payload: Record<string, unknown>, alg: string): Promise<string> {
    const keyType = ACCEPTED_ALGS[alg]!;
    const candidates = this.signers.filter((s) => s.type === keyType);
    if (candidates.length === 0) {
      throw refuse(AuthCode.BadSignature, `no ${keyType} signer configured for a ${alg} token`);
    }
    if (alg === "EdDSA" && isChainToken(payload)) {
      const link = parseChainLink(payload);
      const root = candidates.find((s) => signedByOrgIssuer(link, s.key));
      if (!root) throw refuse(AuthCode.Chain, "chain issuer credentials not signed by any configured signer");
      const issuerKey = verifyChainLink(link, root.key);
      if (!jwsVerifies(token, issuerKey, alg)) throw refuse(AuthCode.BadSignature, "signature does not verify with the chain issuer key");
      return `chain issuer of ${root.source}`;
    }
    for (const signer of candidates) {
      if (jwsVerifies(token, signer.key, alg)) return signer.source;
    }
    throw refuse(AuthCode.BadSignature, `signature does not verify with any of ${candidates.length} ${keyType} signer(s)`);
  }

  /** exp required and in the future, nbf respected, both with skew; returns the effective expiry in ms. */
  private checkTimes(claims: ClientClaims, now: number): number {
    const expMs = claims.exp * 1000;
    const issexpMs = claims.issexp !== undefined ? claims.issexp * 1000 : Infinity;
    const effective = Math.min(expMs, issexpMs);
    if (now >= effective + this.clockSkew) {
      const which = issexpMs < expMs ? "chain issuer expired" : "token expired";
      throw refuse(AuthCode.Expired, `${which} at ${new Date(effective).toISOString()}`);
    }
    if (claims.nbf !== undefined && claims.nbf * 1000 > now + this.clockSkew) {
      throw refuse(AuthCode.NotYetValid, `token not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
    }
    return effective;
  }
}

/**
 * The CONNECT `sig`: ed25519 over the ASCII nonce with the token's public_key,
 * base64 raw-URL only (Choria rejects standard base64, unlike nats-server).
 */
export function verifyNonceSignature(publicKeyHex: string, nonce: string, sig: string | undefined): void {
  if (!sig) throw refuse(AuthCode.Nonce, "connection nonce was not signed");
  if (!nonce) throw refuse(AuthCode.Nonce, "no nonce was issued to verify");
  if (!B64URL.test(sig)) throw refuse(AuthCode.Nonce, "nonce signature is not base64 raw-URL");
  const signature = Buffer.from(sig, "base64url");
  if (signature.length !== 64) throw refuse(AuthCode.Nonce, "nonce signature is not 64 bytes");
  let key: KeyObject;
  try {
    key = ed25519PublicKeyFromHex(publicKeyHex);
  } catch (err) {
    throw refuse(AuthCode.Claims, "public_key is not an ed25519 public key", err);
  }
  if (!ed25519Verify(key, nonce, signature)) {
    throw refuse(AuthCode.Nonce, "nonce signature did not verify with the token's public_key");
  }
}
