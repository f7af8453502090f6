/**
 * Builds the authenticator a configuration asks for: "aaa" (the default) loads
 * the signers or org issuers and the policy files and fails with ConfigError on
 * any problem, so a bad reload keeps the old authenticator; "development" must
 * be named explicitly and is announced loudly in the log. What it is built from
 * comes from the configuration's one function for it (config/parts.ts).
 */
import { authOptions } from "../config/parts.js";
import type { GatewayConfig } from "../config/types.js";
import type { Logger } from "../obs/log.js";
import { AaaAuthenticator, DevelopmentAuthenticator } from "./authenticators.js";
import { loadPolicies } from "./policies.js";
import type { Authenticator } from "./types.js";

export async function buildAuthenticator(config: GatewayConfig, log: Logger): Promise<Authenticator> {
  const a = authOptions(config);
  if (a.kind === "development") {
    log.warn("DEVELOPMENT authenticator: every CONNECT is accepted with pub/sub '>' (minus lifecycle and foreign replies); never use in production");
    return new DevelopmentAuthenticator({ collective: a.collective });
  }
  const policies = loadPolicies(a.policiesDir);
  const auth = new AaaAuthenticator({
    signers: a.signers,
    issuers: a.issuers,
    policies,
    collective: a.collective,
    clockSkew: a.clockSkew,
    maxTokenSize: a.maxTokenSize,
    log: log.child({ component: "auth" }),
  });
  log.info("AAA authenticator ready", {
    signers: a.signers.length,
    issuers: Object.keys(a.issuers),
    policies: policies.map((p) => p.name),
  });
  return auth;
}
