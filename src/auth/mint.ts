/**
 * The development signer behind `token mint`, the demo and the tests: makes
 * ed25519 / RSA signer key pairs, mints Choria client-id tokens with chosen
 * claims, builds org issuer → chain issuer → user chains exactly as
 * docs/protocol.md#issuer-chain describes, and signs connection nonces. Signing uses
 * node:crypto directly (synchronous, and able to produce the deliberately bad
 * tokens the tests need). Never a production signer: it keeps keys in memory
 * and in plain files.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHAIN_ISSUER_PREFIX, ORG_ISSUER_PREFIX } from "./chain.js";
import { newKsuid } from "./ksuid.js";
import type { ClientPermissionFlags } from "./types.js";

export type TokenAlg = "EdDSA" | "RS256" | "RS384" | "RS512";

export interface DevSigner {
  readonly alg: TokenAlg;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Hex public key (ed25519 signers only). */
  readonly publicHex?: string;
}

export interface Ed25519KeyPair {
  /** Hex of the 32-byte seed (Choria's seed file format). */
  readonly seedHex: string;
  readonly publicHex: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

// PKCS#8 DER header of an ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const HEX64 = /^[0-9a-fA-F]{64}$/;

function publicHexOf(key: KeyObject): string {
  const jwk = key.export({ format: "jwk" });
  return Buffer.from(String(jwk.x), "base64url").toString("hex");
}

export function ed25519KeyPairFromSeed(seed: string | Uint8Array): Ed25519KeyPair {
  const raw = typeof seed === "string" ? Buffer.from(seed.trim(), "hex") : Buffer.from(seed);
  if (raw.length !== 32) throw new Error("ed25519 seed must be 32 bytes (64 hex characters)");
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  return { seedHex: raw.toString("hex"), publicHex: publicHexOf(publicKey), privateKey, publicKey };
}

export function createEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return ed25519KeyPairFromSeed(Buffer.from(String(jwk.d), "base64url"));
}

/** A new signer: ed25519 (EdDSA) or RSA (RS256 unless `alg` says RS384/RS512). */
export function createSigner(kind: "ed25519" | "rsa", opts: { alg?: TokenAlg; rsaBits?: number } = {}): DevSigner {
  if (kind === "ed25519") {
    const pair = createEd25519KeyPair();
    return { alg: "EdDSA", privateKey: pair.privateKey, publicKey: pair.publicKey, publicHex: pair.publicHex };
  }
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: opts.rsaBits ?? 2048 });
  return { alg: opts.alg ?? "RS256", privateKey, publicKey };
}

/** A signer from a private key: a KeyObject, a PEM text, or a 64-hex ed25519 seed. */
export function signerFromPrivateKey(key: KeyObject | string, alg?: TokenAlg): DevSigner {
  let privateKey: KeyObject;
  if (typeof key !== "string") privateKey = key;
  else if (HEX64.test(key.trim())) privateKey = ed25519KeyPairFromSeed(key).privateKey;
  else privateKey = createPrivateKey({ key, format: "pem" });
  const publicKey = createPublicKey(privateKey);
  if (privateKey.asymmetricKeyType === "ed25519") return { alg: "EdDSA", privateKey, publicKey, publicHex: publicHexOf(publicKey) };
  if (privateKey.asymmetricKeyType === "rsa") return { alg: alg ?? "RS256", privateKey, publicKey };
  throw new Error(`unsupported signer key type ${privateKey.asymmetricKeyType}`);
}

export function loadSignerPrivateKey(path: string, alg?: TokenAlg): DevSigner {
  return signerFromPrivateKey(readFileSync(path, "utf8"), alg);
}

/**
 * Write a signer's files into `dir`: ed25519 → `<base>.seed` + `<base>.public`
 * (hex, Choria style); RSA → `<base>-key.pem` (PKCS#8) + `<base>-public.pem` (SPKI).
 */
export function writeSignerFiles(signer: DevSigner, dir: string, base: string): { privateKeyPath: string; publicKeyPath: string } {
  if (signer.publicHex !== undefined) {
    const privateKeyPath = join(dir, `${base}.seed`);
    const publicKeyPath = join(dir, `${base}.public`);
    const jwk = signer.privateKey.export({ format: "jwk" });
    writeFileSync(privateKeyPath, Buffer.from(String(jwk.d), "base64url").toString("hex"), { mode: 0o600 });
    writeFileSync(publicKeyPath, signer.publicHex + "\n");
    return { privateKeyPath, publicKeyPath };
  }
  const privateKeyPath = join(dir, `${base}-key.pem`);
  const publicKeyPath = join(dir, `${base}-public.pem`);
  writeFileSync(privateKeyPath, signer.privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  writeFileSync(publicKeyPath, signer.publicKey.export({ format: "pem", type: "spki" }));
  return { privateKeyPath, publicKeyPath };
}

const B64 = (o: unknown): string => Buffer.from(JSON.stringify(o), "utf8").toString("base64url");
const HASH_OF: Record<string, string> = { RS256: "sha256", RS384: "sha384", RS512: "sha512" };

/** Sign header+payload as a compact JWS with `alg` (EdDSA or RS*). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const alg = String(header["alg"]);
  const input = `${B64(header)}.${B64(payload)}`;
  const hash = alg === "EdDSA" ? null : HASH_OF[alg];
  if (hash === undefined) throw new Error(`mint cannot sign alg ${alg}`);
  return `${input}.${cryptoSign(hash, Buffer.from(input), privateKey).toString("base64url")}`;
}

/** An HMAC-signed JWT (only for tests proving such tokens are refused). */
export function signJwtHmac(payload: Record<string, unknown>, secret: string | Uint8Array): string {
  const input = `${B64({ alg: "HS256", typ: "JWT" })}.${B64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** An unsigned `alg: none` JWT (only for tests). */
export function unsignedJwt(payload: Record<string, unknown>): string {
  return `${B64({ alg: "none", typ: "JWT" })}.${B64(payload)}.`;
}

export interface ClientTokenSpec {
  callerid?: string;
  /** Hex ed25519 public key of the holder. */
  publicKey?: string;
  permissions?: ClientPermissionFlags;
  pubSubjects?: string[];
  subSubjects?: string[];
  ou?: string;
  agents?: string[];
  /** Default "choria_client_id"; null omits the claim. */
  purpose?: string | null;
  /** Unix seconds; default now. */
  iat?: number;
  /** Unix seconds; default iat. */
  nbf?: number;
  /** Unix seconds; default iat + validitySeconds. */
  exp?: number;
  /** Default 3600. */
  validitySeconds?: number;
  iss?: string;
  jti?: string;
  /** Claims merged last (may overwrite anything). */
  extra?: Record<string, unknown>;
  /** Claims removed at the very end (e.g. ["callerid"]). */
  omit?: string[];
}

/** Build client-id claims per choria-io/tokens conventions (jti = KSUID of iat). */
export function clientClaims(spec: ClientTokenSpec): Record<string, unknown> {
  const iat = spec.iat ?? Math.floor(Date.now() / 1000);
  const c: Record<string, unknown> = {};
  if (spec.purpose !== null) c["purpose"] = spec.purpose ?? "choria_client_id";
  if (spec.publicKey !== undefined) c["public_key"] = spec.publicKey;
  c["callerid"] = spec.callerid ?? "up=dev";
  c["iss"] = spec.iss ?? "Choria Tokens Package";
  c["iat"] = iat;
  c["nbf"] = spec.nbf ?? iat;
  c["exp"] = spec.exp ?? iat + (spec.validitySeconds ?? 3600);
  c["jti"] = spec.jti ?? newKsuid(iat);
  c["ou"] = spec.ou ?? "choria";
  if (spec.agents) c["agents"] = spec.agents;
  if (spec.permissions) c["permissions"] = spec.permissions;
  if (spec.pubSubjects) c["pub_subjects"] = spec.pubSubjects;
  if (spec.subSubjects) c["sub_subjects"] = spec.subSubjects;
  Object.assign(c, spec.extra ?? {});
  for (const k of spec.omit ?? []) delete c[k];
  return c;
}

export function mintClientToken(signer: DevSigner, spec: ClientTokenSpec): string {
  return signJwt({ alg: signer.alg, typ: "JWT" }, clientClaims(spec), signer.privateKey);
}

/** A chain issuer: its I- token (issued by the org issuer) and its key pair. */
export interface ChainIssuer {
  readonly token: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly keys: Ed25519KeyPair;
}

const hexSign = (key: KeyObject, data: string): string => cryptoSign(null, Buffer.from(data, "utf8"), key).toString("hex");

/** The org issuer signs a chain issuer's token: iss "I-<org pub>", tcs = sig(jti.public_key). */
export function mintChainIssuer(org: Ed25519KeyPair, spec: ClientTokenSpec = {}, keys: Ed25519KeyPair = createEd25519KeyPair()): ChainIssuer {
  const claims = clientClaims({ callerid: "aaasvc", ...spec, publicKey: keys.publicHex, iss: `${ORG_ISSUER_PREFIX}${org.publicHex}` });
  claims["tcs"] = hexSign(org.privateKey, `${String(claims["jti"])}.${keys.publicHex}`);
  Object.assign(claims, spec.extra ?? {});
  return { token: signJwt({ alg: "EdDSA", typ: "JWT" }, claims, org.privateKey), claims, keys };
}

/**
 * The chain issuer signs a user token: iss "C-<ci jti>.<ci pub>", issexp = ci exp,
 * exp = min(requested, ci exp), tcs = "<ci tcs>.<sig(jti.<ci tcs>)>". `spec.extra`
 * is applied after the chain fields, so tests can break any one of them.
 */
export function mintChainedUserToken(ci: ChainIssuer, spec: ClientTokenSpec, opts: { signWith?: KeyObject } = {}): string {
  const ciExp = Number(ci.claims["exp"]);
  const ciTcs = String(ci.claims["tcs"]);
  const base = clientClaims({ ...spec, extra: {}, omit: [] });
  base["iss"] = `${CHAIN_ISSUER_PREFIX}${String(ci.claims["jti"])}.${ci.keys.publicHex}`;
  base["issexp"] = ciExp;
  base["exp"] = Math.min(Number(base["exp"]), ciExp);
  base["tcs"] = `${ciTcs}.${hexSign(ci.keys.privateKey, `${String(base["jti"])}.${ciTcs}`)}`;
  Object.assign(base, spec.extra ?? {});
  for (const k of spec.omit ?? []) delete base[k];
  return signJwt({ alg: "EdDSA", typ: "JWT" }, base, opts.signWith ?? ci.keys.privateKey);
}

/** Sign a connection nonce: ed25519 over its ASCII bytes, base64 raw-URL (as CONNECT `sig`). */
export function signNonce(seedOrPrivateKey: string | Uint8Array | KeyObject, nonce: string): string {
  const key =
    typeof seedOrPrivateKey === "string" || seedOrPrivateKey instanceof Uint8Array
      ? ed25519KeyPairFromSeed(seedOrPrivateKey).privateKey
      : seedOrPrivateKey;
  return cryptoSign(null, Buffer.from(nonce, "utf8"), key).toString("base64url");
}
