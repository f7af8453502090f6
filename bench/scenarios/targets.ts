/**
 * The two leaves as scenario targets. Both get the same client shape, the one
 * a Choria client in anon-TLS mode has: TLS without verifying the broker, and
 * the inbox prefix `choria.reply.<md5 of callerid>`; the gateway's clients additionally carry an AAA
 * token minted for the run's ed25519 signer — one token and one key pair per
 * caller id, so each connection of a storm signs its own nonce with its own key.
 */
import { createHash, randomBytes } from "node:crypto";
import { ed25519KeyPairFromSeed, mintClientToken, type DevSigner } from "../../src/auth/mint.js";
import type { ClientSpec } from "../proc/protocol.js";
import type { Target, TargetKind } from "./types.js";

/** Grants the scenarios need beyond fleet_management (broadcast requests) and the caller's own replies. */
export const BENCH_PUB_SUBJECTS = ["bench.>"];
export const BENCH_SUB_SUBJECTS = ["bench.sub.>", "bench.shared.>", "bench.ready.>"];

export function replyPrefixOf(callerid: string): string {
  return `choria.reply.${createHash("md5").update(callerid).digest("hex")}`;
}

export interface TargetOptions {
  kind: TargetKind;
  url: string;
  pid: number;
  /** Gateway only: the AAA signer that mints client tokens. */
  signer?: DevSigner;
}

export function makeTarget(opts: TargetOptions): Target {
  const { kind, url, pid, signer } = opts;
  return {
    kind,
    url,
    pid,
    replyPrefix: replyPrefixOf,
    client(callerid: string): ClientSpec {
      const spec: ClientSpec = { url, inboxPrefix: replyPrefixOf(callerid), name: callerid };
      if (signer === undefined) return spec;
      // Keys from random seeds, not generateKeyPairSync: on Node 20 thousands of
      // generated keys exported as JWK can deadlock the process in GC (seen here).
      const user = ed25519KeyPairFromSeed(randomBytes(32));
      const token = mintClientToken(signer, {
        callerid,
        publicKey: user.publicHex,
        permissions: { fleet_management: true },
        pubSubjects: BENCH_PUB_SUBJECTS,
        subSubjects: BENCH_SUB_SUBJECTS,
        validitySeconds: 4 * 3600,
      });
      return { ...spec, token, seedHex: user.seedHex };
    },
  };
}
