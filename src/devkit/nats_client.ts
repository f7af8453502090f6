/**
 * Loads the official NATS JavaScript client on demand. It is a devDependency:
 * the gateway and the demo (lite_client.ts) never need it, only the tests and
 * the benchmarks do, so it is imported dynamically and its absence becomes one
 * clear DevkitError instead of a crash at module load.
 */
import { DevkitError, DevkitErrorCode } from "./errors.js";

export type NatsClientModule = typeof import("@nats-io/transport-node");
export type NatsJwtModule = typeof import("@nats-io/jwt");

let client: Promise<NatsClientModule> | null = null;

function missing(pkg: string, err: unknown): DevkitError {
  return new DevkitError(
    DevkitErrorCode.ClientMissing,
    `${pkg} is not installed; it is a development dependency (run \`npm ci\` in the package directory, without --omit=dev)`,
    { cause: err },
  );
}

/** `@nats-io/transport-node`, imported once. */
export function loadNatsClient(): Promise<NatsClientModule> {
  client ??= import("@nats-io/transport-node").catch((err: unknown) => {
    client = null;
    throw missing("@nats-io/transport-node", err);
  });
  return client;
}

/** `@nats-io/jwt` (operator-mode hubs only). */
export async function loadNatsJwt(): Promise<NatsJwtModule> {
  try {
    return await import("@nats-io/jwt");
  } catch (err) {
    throw missing("@nats-io/jwt", err);
  }
}
