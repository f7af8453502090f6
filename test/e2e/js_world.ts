/**
 * Shared set-up for the Choria Streams end-to-end tests (js_*.test.ts): a real
 * JetStream-enabled nats-server hub, the gateway leafnoded to it, and callers
 * holding tokens for the Streams permission sets (streams_user, streams_admin,
 * election_user, governor). Every caller can connect in the two shapes a NATS
 * client takes: a Choria-style client whose inbox prefix is its private reply
 * namespace (`choria.reply.<md5(callerid)>`, as go-choria sets it), and a
 * plain client using generic `_INBOX.` subjects that the gateway rewrites.
 */
import type { TestContext } from "node:test";
import type { ConnectionOptions, NatsConnection } from "@nats-io/transport-node";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import type { ClientPermissionFlags } from "../../src/auth/types.js";
import { createEd25519KeyPair, type Ed25519KeyPair } from "../helpers/tokens.js";
import { startWorld, type World, type WorldOptions } from "./gw_upstream_world.js";

export { waitFor } from "./gw_upstream_world.js";

/** The two client shapes every Streams flow runs with. */
export const CLIENT_KINDS = ["choria-inbox", "plain-inbox"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export interface Caller {
  callerId: string;
  token: string;
  key: Ed25519KeyPair;
}

export interface JsWorld extends World {
  /** A caller with a fresh key and a token granting `flags` (plus token pub/sub subjects). */
  caller(callerId: string, flags: ClientPermissionFlags, extra?: { pubSubjects?: string[]; subSubjects?: string[] }): Caller;
  /** Connect `who` through the gateway as a client of `kind`. */
  connect(who: Caller, kind: ClientKind, opts?: Partial<ConnectionOptions>): Promise<NatsConnection>;
}

/** A world whose hub runs JetStream. */
export async function startJsWorld(t: TestContext, opts: WorldOptions = {}): Promise<JsWorld> {
  const w = await startWorld(t, { ...opts, hub: { jetstream: true, ...opts.hub } });
  return {
    ...w,
    caller(callerId, flags, extra = {}) {
      const key = createEd25519KeyPair();
      return { callerId, key, token: w.tokens.mint({ callerid: callerId, publicKey: key.publicHex, permissions: flags, ...extra }) };
    },
    connect(who, kind, o = {}) {
      const inbox = kind === "choria-inbox" ? { inboxPrefix: choriaInboxPrefix(who.callerId) } : {};
      return w.client(who.token, { key: who.key, name: `${who.callerId} ${kind}`, ...inbox, ...o });
    },
  };
}

/** go-choria's client inbox prefix: the caller's private reply namespace. */
export function choriaInboxPrefix(callerId: string, collective = "choria"): string {
  return `${collective}.reply.${md5Hex(callerId)}`;
}
