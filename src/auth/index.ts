/**
 * The public surface of auth/: authenticators, token verification, signer and
 * policy loading, and the caller policy that answers every question about a caller. Other folders import from
 * here (or from types.ts for the contracts) rather than from individual files.
 */
export * from "./types.js";
export { AuthCode, type AuthCodeValue } from "./auth_error.js";
export { AaaAuthenticator, DenyAllAuthenticator, DevelopmentAuthenticator } from "./authenticators.js";
export type { AaaAuthenticatorOptions, DevelopmentAuthenticatorOptions } from "./authenticators.js";
export { TokenVerifier, decodeJwt, verifyNonceSignature, DEFAULT_CLOCK_SKEW, DEFAULT_MAX_TOKEN_SIZE } from "./verify.js";
export type { TokenVerifierOptions, VerifiedToken } from "./verify.js";
export { loadSigner, loadSigners, loadIssuers, assertSignersOrIssuers, CLIENT_SIGNER_KEY } from "./signers.js";
export type { SignerKey, IssuerKey } from "./signers.js";
export { loadPolicies, parsePolicy, defaultPoliciesDir } from "./policies.js";
export type { Policy, PolicyCondition } from "./policies.js";
export { compileCallerPolicy, compileCallerPolicyOrDenyAll, evaluatePolicies } from "./permissions.js";
export type { PermissionOptions } from "./permissions.js";
export { CallerPolicy, Delivery, LIFECYCLE_PATTERN, denyAllPolicy, developmentPolicy } from "./caller_policy.js";
export type { PermissionGrants, PolicyDescription } from "./caller_policy.js";
export { md5Hex, sha256Hex, replyHashes } from "./reply_namespace.js";
