/**
 * The three Authenticator implementations the connection layer can be given.
 * AaaAuthenticator is production: transport must be TLS, the JWT (auth_token,
 * else jwt) must verify (verify.ts), then the nonce signature with the token's
 * public_key, and the caller gets compiled permissions and a private reply
 * namespace. DevelopmentAuthenticator admits anyone with `>` minus the hard
 * restrictions and is only used when the configuration names it.
 * DenyAllAuthenticator is what runs before configuration says anything.
 */
import type { Logger } from "../obs/log.js";
import { nullLogger } from "../obs/log.js";
import { ConfigError } from "../errors.js";
import { AuthCode, refuse } from "./auth_error.js";
import { compilePermissionsOrDenyAll, developmentPermissions } from "./permissions.js";
import type { Policy } from "./policies.js";
import { createReplyNamespace } from "./reply_namespace.js";
import {
  CLIENT_SIGNER_KEY,
  ISSUER_NAMES_KEY,
  assertSignersOrIssuers,
  loadIssuers,
  loadSigner,
  type IssuerKey,
  type SignerKey,
} from "./signers.js";
import type { AuthInput, Authenticator, Identity } from "./types.js";
import { TokenVerifier, verifyNonceSignature } from "./verify.js";

export interface AaaAuthenticatorOptions {
  /** Signer entries (paths / inline hex) or already loaded keys, tried in order. */
  signers?: readonly (string | SignerKey)[];
  /** Org issuers: name → hex public key, or already loaded. */
  issuers?: Readonly<Record<string, string>> | ReadonlyMap<string, IssuerKey>;
  policies: readonly Policy[];
  /** Main collective: reply namespace prefix and {{collective}}. */
  collective: string;
  /** ms; default 5000. */
  clockSkew?: number;
  /** bytes; default 16 KiB. */
  maxTokenSize?: number;
  /** Verified-token cache entries; default 1000, 0 = off. */
  tokenCacheSize?: number;
  /** Where permission-compile failures are logged (the caller then runs deny-all). */
  log?: Logger;
  /** Clock, ms since epoch (tests). */
  now?: () => number;
}

export class AaaAuthenticator implements Authenticator {
  private readonly verifier: TokenVerifier;
  private readonly policies: readonly Policy[];
  private readonly collective: string;
  private readonly log: Logger;

  /** Loads and checks signer/issuer keys now; throws ConfigError on any problem. */
  constructor(opts: AaaAuthenticatorOptions) {
    const signers = (opts.signers ?? []).map((s) => (typeof s === "string" ? loadSigner(s) : s));
    const issuers = opts.issuers instanceof Map ? (opts.issuers as ReadonlyMap<string, IssuerKey>) : loadIssuers((opts.issuers ?? {}) as Record<string, string>);
    assertSignersOrIssuers(signers.length, issuers.size);
    if (signers.length === 0 && issuers.size === 0) {
      throw new ConfigError(`no client signers or org issuers configured (set ${CLIENT_SIGNER_KEY} or ${ISSUER_NAMES_KEY})`, { key: CLIENT_SIGNER_KEY });
    }
    if (!opts.collective) throw new ConfigError("main collective is empty", { key: "main_collective" });
    const verifierOpts: ConstructorParameters<typeof TokenVerifier>[0] = { signers, issuers };
    if (opts.clockSkew !== undefined) verifierOpts.clockSkew = opts.clockSkew;
    if (opts.maxTokenSize !== undefined) verifierOpts.maxTokenSize = opts.maxTokenSize;
    if (opts.tokenCacheSize !== undefined) verifierOpts.cacheSize = opts.tokenCacheSize;
    if (opts.now !== undefined) verifierOpts.now = opts.now;
    this.verifier = new TokenVerifier(verifierOpts);
    this.policies = opts.policies;
    this.collective = opts.collective;
    this.log = opts.log ?? nullLogger;
  }

  /** The underlying token verifier (token inspect uses it without a nonce). */
  get tokens(): TokenVerifier {
    return this.verifier;
  }

  async authenticate(input: AuthInput): Promise<Identity> {
    // go-choria only attempts JWT auth on TLS connections; a token sent in clear may already be stolen.
    if (!input.secure) throw refuse(AuthCode.Insecure, "JWT authentication refused on a connection without TLS");
    const token = input.authToken || input.jwt;
    if (!token) throw refuse(AuthCode.NoToken, "no JWT in CONNECT (auth_token or jwt)");
    const { claims, expiresAt } = await this.verifier.verify(token);
    // Always per connection, never cached: the nonce is fresh for every connection.
    verifyNonceSignature(claims.public_key, input.nonce, input.sig);
    const permissions = compilePermissionsOrDenyAll(claims, this.policies, { collective: this.collective }, (err) =>
      this.log.error("permissions could not be compiled, caller gets deny-all", { callerid: claims.callerid, remote: input.remote, err }),
    );
    return {
      callerId: claims.callerid,
      publicKey: claims.public_key,
      expiresAt,
      claims,
      permissions,
      replies: createReplyNamespace(this.collective, claims.callerid),
      method: "aaa-jwt",
    };
  }
}

export interface DevelopmentAuthenticatorOptions {
  collective: string;
}

/** Accepts any CONNECT. For local development only; config must name it explicitly. */
export class DevelopmentAuthenticator implements Authenticator {
  private readonly collective: string;

  constructor(opts: DevelopmentAuthenticatorOptions) {
    this.collective = opts.collective;
  }

  async authenticate(input: AuthInput): Promise<Identity> {
    const callerId = input.user || `dev-${input.remote}`;
    return {
      callerId,
      publicKey: "",
      expiresAt: Infinity,
      permissions: developmentPermissions(callerId, this.collective),
      replies: createReplyNamespace(this.collective, callerId),
      method: "development",
    };
  }
}

/** Refuses everyone: the authenticator in force until configuration provides one. */
export class DenyAllAuthenticator implements Authenticator {

  async authenticate(_input: AuthInput): Promise<Identity> {
    throw refuse(AuthCode.NotConfigured, "no authenticator configured");
  }
}
