/**
 * Typed failures of the development kit (certificates, the nats-server hub,
 * the simulated fleet, the demo world), so the demo and the tests can tell a
 * missing tool from a broken gateway by `code` instead of by message text.
 */
import { GatewayError } from "../errors.js";

export const DevkitErrorCode = {
  /** The optional devDependency @nats-io/transport-node (or @nats-io/jwt) is not installed. */
  ClientMissing: "GW_ERR_DEVKIT_CLIENT_MISSING",
  /** openssl failed or is not installed. */
  Openssl: "GW_ERR_DEVKIT_OPENSSL",
  /** nats-server did not start (missing binary, bad config, no ports). */
  HubStart: "GW_ERR_DEVKIT_HUB_START",
  /** A condition polled for did not hold before its deadline. */
  Timeout: "GW_ERR_DEVKIT_TIMEOUT",
} as const;

export type DevkitErrorCodeValue = (typeof DevkitErrorCode)[keyof typeof DevkitErrorCode];

export class DevkitError extends GatewayError<DevkitErrorCodeValue> {}
