// A real nats-server hub with an mTLS leafnode port, from the shipped devkit (also used by the demo),
// and the hub-plus-one-client set-up the operator end-to-end tests share.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Hub, startHub } from "../../src/devkit/hub.js";
import { getPki, type Pki } from "./pki.js";

export * from "../../src/devkit/hub.js";

/** The test PKI, a hub, and one official client connected to the hub under `name`. */
export async function startHubWithClient(name: string): Promise<{ pki: Pki; hub: Hub; hubClient: NatsConnection }> {
  const pki = await getPki();
  const hub = await startHub({ pki });
  const hubClient = await connect({ servers: hub.clientUrl, name });
  return { pki, hub, hubClient };
}

/** Undoes startHubWithClient; either part may be missing when the set-up failed. */
export async function stopHubWithClient(hub: Hub | undefined, hubClient: NatsConnection | undefined): Promise<void> {
  await hubClient?.close().catch(() => {});
  await hub?.stop();
}
