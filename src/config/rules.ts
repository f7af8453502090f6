/**
 * Rules of the configuration that more than one module must apply, written
 * once: the loader applies them to report the file and line, and the parts
 * built without the loader (an authenticator constructed directly) apply the
 * same function, so the rule cannot behave differently in two places.
 */
import { KEY } from "./keys.js";

export interface RuleProblem {
  /** The key to name in the error. */
  key: string;
  message: string;
}

/**
 * Client tokens need exactly one kind of root of trust: AAA signers or org
 * issuers. Both at once are refused, as the Go broker refuses them (a token
 * would otherwise have two unrelated roots of trust); neither leaves the AAA
 * authenticator nothing to verify with. The development authenticator needs none.
 */
export function trustRootProblem(authenticator: "aaa" | "development", signers: number, issuers: number): RuleProblem | undefined {
  if (signers > 0 && issuers > 0) {
    return { key: KEY.issuerNames, message: `org issuers and client signers are mutually exclusive: set ${KEY.issuerNames} or ${KEY.clientSigners}, not both` };
  }
  if (authenticator === "aaa" && signers === 0 && issuers === 0) {
    return { key: KEY.clientSigners, message: `no AAA signer configured: set ${KEY.clientSigners} (or ${KEY.issuerNames})` };
  }
  return undefined;
}
