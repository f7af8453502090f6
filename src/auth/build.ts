/**
 * Builds the authenticator a configuration asks for: "aaa" (the default) loads
 * the signers or org issuers and the policy files and fails with ConfigError on
 * any problem, so a bad reload keeps the old authenticator; "development" must
 * be named explicitly and is announced loudly in the log.
 */
import type { GatewayConfig } from "../config/types.js";
import type { Logger } from "../obs/log.js";
import { AaaAuthenticator, DevelopmentAuthenticator } from "./authenticators.js";
import { loadPolicies } from "./policies.js";
import type { Authenticator } from "./types.js";

export async function buildAuthenticator(config: GatewayConfig, log: Logger): Promise<Authenticator> {
  if (config.authenticator === "development") {
    log.warn("DEVELOPMENT authenticator: every CONNECT is accepted with pub/sub '>' (minus lifecycle and foreign replies); never use in production");
    return new DevelopmentAuthenticator({ collective: config.mainCollective });
  }
  const policies = loadPolicies(config.policiesDir);
  const auth = new AaaAuthenticator({
    signers: config.clientSigners,
    issuers: config.issuers,
    policies,
    collective: config.mainCollective,
    clockSkew: config.clockSkew,
    maxTokenSize: config.limits.maxTokenSize,
    log: log.child({ component: "auth" }),
  });
  log.info("AAA authenticator ready", {
    signers: config.clientSigners.length,
    issuers: Object.keys(config.issuers),
    policies: policies.map((p) => p.name),
  });
  return auth;
}
