/**
 * Loads the keys that may sign AAA client tokens: `clientSigners` entries
 * (`plugin.choria.network.client_signer_cert`, or the older
 * `plugin.choria.security.request_signing_certificate`) and org issuers
 * (`plugin.security.issuer.<name>.public`). An entry of exactly 64 hex chars is
 * an inline ed25519 key; anything else is a file holding a PEM certificate, a
 * PEM public key (RSA or ed25519) or hex of an ed25519 key (docs/protocol.md#token-verification).
 * Keys are imported once into node:crypto KeyObjects and cached by content, so a
 * reload re-reads files but never re-imports an unchanged key. Every failure is
 * a ConfigError naming the config key and the entry.
 */
import { X509Certificate, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";

export const CLIENT_SIGNER_KEY = "plugin.choria.network.client_signer_cert";
export const ISSUER_NAMES_KEY = "plugin.security.issuer.names";

export type SignerKeyType = "rsa" | "ed25519";

/** A verified-to-be-usable token signer key. */
export interface SignerKey {
  /** The config entry it came from (path or inline hex), for logs. */
  readonly source: string;
  readonly type: SignerKeyType;
  readonly key: KeyObject;
}

/** An org issuer: the ed25519 key that roots `I-`/`C-` token chains of one `ou`. */
export interface IssuerKey {
  readonly name: string;
  /** Lower-case hex of the 32-byte public key. */
  readonly publicHex: string;
  readonly key: KeyObject;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
// Cache of imported keys by content ("hex:<hex>" or "pem:<text>"); bounded because reloads add entries.
const importCache = new Map<string, { type: SignerKeyType; key: KeyObject }>();
const IMPORT_CACHE_MAX = 256;

/** A KeyObject for a raw 32-byte ed25519 public key; throws Error on a bad length. */
export function ed25519PublicKeyFromBytes(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`ed25519 public key must be 32 bytes, got ${raw.length}`);
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** A KeyObject for a 64-hex-char ed25519 public key (cached); throws Error when it is not one. */
export function ed25519PublicKeyFromHex(hex: string): KeyObject {
  if (!HEX64.test(hex)) throw new Error("ed25519 public key must be 64 hex characters");
  return cachedImport(`hex:${hex.toLowerCase()}`, () => ({
    type: "ed25519",
    key: ed25519PublicKeyFromBytes(Buffer.from(hex, "hex")),
  })).key;
}

function cachedImport(
  cacheKey: string,
  load: () => { type: SignerKeyType; key: KeyObject },
): { type: SignerKeyType; key: KeyObject } {
  const hit = importCache.get(cacheKey);
  if (hit) return hit;
  const loaded = load();
  if (importCache.size >= IMPORT_CACHE_MAX) importCache.clear();
  importCache.set(cacheKey, loaded);
  return loaded;
}

function keyTypeOf(key: KeyObject): SignerKeyType {
  const t = key.asymmetricKeyType;
  if (t === "rsa" || t === "ed25519") return t;
  throw new Error(`unsupported key type ${t ?? "unknown"} (need RSA or ed25519)`);
}

/** Import a PEM certificate or PEM public key. */
function importPem(text: string): { type: SignerKeyType; key: KeyObject } {
  return cachedImport(`pem:${text}`, () => {
    const key = text.includes("-----BEGIN CERTIFICATE")
      ? new X509Certificate(text).publicKey
      : createPublicKey({ key: text, format: "pem" });
    return { type: keyTypeOf(key), key };
  });
}

/**
 * Load one signer entry. Inline hex → ed25519; file → PEM cert / PEM public key /
 * trimmed hex ed25519 key. Throws ConfigError naming `configKey` and the entry.
 */
export function loadSigner(entry: string, configKey: string = CLIENT_SIGNER_KEY): SignerKey {
  const source = entry.trim();
  if (source === "") throw new ConfigError("empty signer entry", { key: configKey });
  if (HEX64.test(source)) {
    return { source, type: "ed25519", key: ed25519PublicKeyFromHex(source) };
  }
  let text: string;
  try {
    text = readFileSync(source, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read signer ${source}: ${(err as Error).message}`, { key: configKey }, { cause: err });
  }
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("-----BEGIN")) {
      const { type, key } = importPem(trimmed);
      return { source, type, key };
    }
    // Choria requires exact content; we trim so an editor's trailing newline does not break the key.
    if (!HEX64.test(trimmed)) throw new Error("content is neither PEM nor 64 hex characters of an ed25519 key");
    return { source, type: "ed25519", key: ed25519PublicKeyFromHex(trimmed) };
  } catch (err) {
    throw new ConfigError(`invalid signer ${source}: ${(err as Error).message}`, { key: configKey }, { cause: err });
  }
}

/** Load every entry in order (the order signers are tried in). */
export function loadSigners(entries: readonly string[], configKey: string = CLIENT_SIGNER_KEY): SignerKey[] {
  return entries.filter((e) => e.trim() !== "").map((e) => loadSigner(e, configKey));
}

/** Load org issuers: name → hex ed25519 public key. */
export function loadIssuers(issuers: Readonly<Record<string, string>>): Map<string, IssuerKey> {
  const out = new Map<string, IssuerKey>();
  for (const [name, hex] of Object.entries(issuers)) {
    const configKey = `plugin.security.issuer.${name}.public`;
    const value = hex.trim();
    if (!HEX64.test(value)) {
      throw new ConfigError(`issuer ${name}: public key must be 64 hex characters of an ed25519 key`, { key: configKey });
    }
    out.set(name, { name, publicHex: value.toLowerCase(), key: ed25519PublicKeyFromHex(value) });
  }
  return out;
}

/**
 * Issuers and signers are mutually exclusive, as in the Go broker, which refuses
 * to start with both: a token would otherwise have two unrelated roots of trust.
 */
export function assertSignersOrIssuers(signerCount: number, issuerCount: number): void {
  if (signerCount > 0 && issuerCount > 0) {
    throw new ConfigError(`org issuers and client signers are mutually exclusive (set ${ISSUER_NAMES_KEY} or ${CLIENT_SIGNER_KEY}, not both)`, {
      key: ISSUER_NAMES_KEY,
    });
  }
}
