/**
 * Org-issuer trust chains (docs/protocol.md#issuer-chain). A `C-` token names its chain
 * issuer in `iss` (`C-<ci jti>.<ci pubkey hex>`) and carries in `tcs` the org
 * issuer's signature over `<ci jti>.<ci pubkey>` plus the chain issuer's
 * signature over `<user jti>.<ci tcs>`. Verifying both against a trusted org
 * issuer key proves the chain issuer's key, which then verifies the JWT itself.
 * Pure functions over the (still unverified) payload; the caller checks the JWT
 * signature with the key returned here.
 */
import { verify as cryptoVerify, type KeyObject } from "node:crypto";
import { AuthCode, refuse } from "./auth_error.js";
import { ksuidTimestamp } from "./ksuid.js";
import { ed25519PublicKeyFromBytes } from "./signers.js";

export const ORG_ISSUER_PREFIX = "I-";
export const CHAIN_ISSUER_PREFIX = "C-";

/** The parsed, not yet verified, chain of a `C-` token. */
export interface ChainLink {
  /** The user token's jti. */
  readonly jti: string;
  /** The chain issuer's token id (jti). */
  readonly issuerId: string;
  readonly issuerPublicHex: string;
  readonly issuerKey: KeyObject;
  /** The chain issuer's own tcs (hex of the org issuer's signature). */
  readonly issuerTcsHex: string;
  /** The chain issuer's signature over `<jti>.<issuerTcsHex>`. */
  readonly userSignature: Buffer;
  /** issexp, unix seconds. */
  readonly issuerExpiresAt: number;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

export function isChainToken(payload: Record<string, unknown>): boolean {
  return typeof payload["iss"] === "string" && payload["iss"].startsWith(CHAIN_ISSUER_PREFIX);
}

function requiredString(payload: Record<string, unknown>, name: string): string {
  const v = payload[name];
  if (typeof v !== "string" || v === "") throw refuse(AuthCode.Chain, `chain token: ${name} claim required`);
  return v;
}

function requiredNumber(payload: Record<string, unknown>, name: string): number {
  const v = payload[name];
  if (typeof v !== "number" || !Number.isFinite(v) || v === 0) throw refuse(AuthCode.Chain, `chain token: ${name} claim required`);
  return v;
}

function unhex(s: string, what: string): Buffer {
  if (!HEX.test(s)) throw refuse(AuthCode.Chain, `chain token: ${what} is not hex`);
  return Buffer.from(s, "hex");
}

/** ed25519 verify that never throws (a wrong-length signature is just "false"). */
export function ed25519Verify(key: KeyObject, data: string, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return cryptoVerify(null, Buffer.from(data, "utf8"), key, signature);
  } catch {
    return false;
  }
}

/**
 * Structural checks of a `C-` token: required claims, KSUID jti whose time is
 * `iat`, exactly two non-empty parts in the issuer data and in `tcs`.
 */
export function parseChainLink(payload: Record<string, unknown>): ChainLink {
  const iss = requiredString(payload, "iss");
  requiredString(payload, "public_key");
  const tcs = requiredString(payload, "tcs");
  const jti = requiredString(payload, "jti");
  const iat = requiredNumber(payload, "iat");
  requiredNumber(payload, "exp");
  const issexp = requiredNumber(payload, "issexp");

  let stamp: number;
  try {
    stamp = ksuidTimestamp(jti);
  } catch (err) {
    throw refuse(AuthCode.Chain, `chain token: jti is not a KSUID: ${(err as Error).message}`);
  }
  if (stamp !== iat) throw refuse(AuthCode.Chain, "chain token: jti is not based on the issued-at time");

  const issuerParts = iss.slice(CHAIN_ISSUER_PREFIX.length).split(".");
  if (issuerParts.length !== 2 || issuerParts[0] === "" || issuerParts[1] === "") {
    throw refuse(AuthCode.Chain, "chain token: invalid issuer data in iss");
  }
  const tcsParts = tcs.split(".");
  if (tcsParts.length !== 2 || tcsParts[0] === "" || tcsParts[1] === "") {
    throw refuse(AuthCode.Chain, "chain token: invalid trust chain signature");
  }
  const [issuerId, issuerHex] = issuerParts as [string, string];
  const [issuerTcsHex, userSigHex] = tcsParts as [string, string];
  const issuerRaw = unhex(issuerHex, "issuer public key");
  if (issuerRaw.length !== 32) throw refuse(AuthCode.Chain, "chain token: issuer public key is not 32 bytes");
  unhex(issuerTcsHex, "issuer trust signature");
  return {
    jti,
    issuerId,
    issuerPublicHex: issuerRaw.toString("hex"),
    issuerKey: ed25519PublicKeyFromBytes(issuerRaw),
    issuerTcsHex,
    userSignature: unhex(userSigHex, "chain signature"),
    issuerExpiresAt: issexp,
  };
}

/** Did this org issuer sign the chain issuer's credentials (`<ci jti>.<ci pubkey>`)? */
export function signedByOrgIssuer(link: ChainLink, orgIssuer: KeyObject): boolean {
  return ed25519Verify(orgIssuer, `${link.issuerId}.${link.issuerPublicHex}`, Buffer.from(link.issuerTcsHex, "hex"));
}

/**
 * Full chain check against one org issuer key; returns the chain issuer's key,
 * which must then verify the JWT signature. Throws GW_ERR_AUTH_CHAIN.
 */
export function verifyChainLink(link: ChainLink, orgIssuer: KeyObject): KeyObject {
  if (!signedByOrgIssuer(link, orgIssuer)) {
    throw refuse(AuthCode.Chain, "chain issuer credentials not signed by the org issuer");
  }
  if (!ed25519Verify(link.issuerKey, `${link.jti}.${link.issuerTcsHex}`, link.userSignature)) {
    throw refuse(AuthCode.Chain, "token not signed by its chain issuer (invalid chain signature)");
  }
  return link.issuerKey;
}
