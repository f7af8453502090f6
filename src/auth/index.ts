/**
 * The public surface of auth/: authenticators, token verification, signer and
 * policy loading, permissions and reply namespaces. Other folders import from
 * here (or from types.ts for the contracts) rather than from individual files.
 * Only what other folders use is re-exported (knip reports the rest).
 */
export * from "./types.js";
export { TokenVerifier } from "./verify.js";
export { loadSigners, loadIssuers, assertSignersOrIssuers } from "./signers.js";
export { loadPolicies } from "./policies.js";
export type { Policy, PolicyCondition } from "./policies.js";
export { compilePermissions, evaluatePolicies } from "./permissions.js";
