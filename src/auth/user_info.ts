/**
 * The answer to `$SYS.REQ.USER.INFO`, given by the gateway itself: every
 * caller may ask it (go-choria grants it to every client), and only the
 * gateway knows who the caller is and what it may do; the hub knows nothing
 * of either (nats-server answers it from 2.10 on, a 2.9 hub not at all). The
 * shape is nats-server's ServerAPIResponse with a UserInfo in `data`: `user`,
 * `account`, `permissions` ({publish, subscribe} × {allow, deny}) and
 * `expires` (a Go duration: nanoseconds until the token expires, omitted when
 * it never does), and the answering server in `server`.
 */
import type { Identity } from "./types.js";

export const USER_INFO_SUBJECT = "$SYS.REQ.USER.INFO";

/** The gateway's single account: the one every Choria client permission set names. */
const GATEWAY_ACCOUNT = "choria";

export interface AnsweringServer {
  name: string;
  host: string;
  id: string;
  /** The NATS version clients are told (src/nats_version.ts). */
  version: string;
}

let seq = 0;

/** Only subjects belong in the lists: drop the explanations describe() adds for people. */
function subjectsOnly(list: readonly string[]): string[] {
  return list.map((s) => s.split(" ")[0]!).filter((s) => s !== "");
}

export function userInfoResponse(identity: Identity, server: AnsweringServer, now = Date.now()): Uint8Array {
  const p = identity.permissions.describe();
  const data: Record<string, unknown> = {
    user: identity.callerId,
    account: GATEWAY_ACCOUNT,
    permissions: {
      publish: { allow: subjectsOnly(p.publish.allow), deny: subjectsOnly(p.publish.deny) },
      subscribe: { allow: subjectsOnly(p.subscribe.allow), deny: subjectsOnly(p.subscribe.deny) },
    },
  };
  if (Number.isFinite(identity.expiresAt)) data.expires = Math.max(0, identity.expiresAt - now) * 1_000_000;
  const response = {
    server: { name: server.name, host: server.host, id: server.id, ver: server.version, seq: ++seq, jetstream: false, time: new Date(now).toISOString() },
    data,
  };
  return Buffer.from(JSON.stringify(response), "utf8");
}
