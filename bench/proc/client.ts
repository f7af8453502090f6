/**
 * Connecting one official NATS JS client for the benchmark workers, the same
 * way for both targets: TLS verified with the test CA when a CA is given, else
 * anonymous TLS without verification as a Choria client in anon-TLS mode does
 * (one shared SecureContext, so a storm measures the servers rather than
 * per-connection context building in the clients), and for the gateway the Choria AAA way, a custom authenticator that sends the
 * JWT as `auth_token` and signs the server's INFO nonce with the caller's
 * ed25519 key (nats-core calls the authenticator with that nonce at CONNECT).
 * Reconnects are off: a benchmark client that loses its connection is a
 * failure to report, not something to hide. Also the small shared helpers:
 * a message counter with a completion wait, and a request retried until the
 * other side's interest has arrived.
 */
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContext } from "node:tls";
import { connect, type Auth, type NatsConnection } from "@nats-io/transport-node";
import { ed25519KeyPairFromSeed, signNonce } from "../../src/auth/mint.js";
import { epochMs, type ClientSpec, type CounterResult } from "./protocol.js";

const caCache = new Map<string, string>();

function caPem(path: string): string {
  let pem = caCache.get(path);
  if (pem === undefined) {
    pem = readFileSync(path, "utf8");
    caCache.set(path, pem);
  }
  return pem;
}

let insecureContext: SecureContext | null = null;

function tlsOptions(caFile: string | undefined): Record<string, unknown> {
  if (caFile) return { ca: caPem(caFile) };
  insecureContext ??= createSecureContext({});
  return { rejectUnauthorized: false, secureContext: insecureContext };
}

/**
 * Callers' private keys by seed. A Choria client loads its key once, when it
 * starts; deriving it from the seed (about 0.4 ms of CPU here) is not part of
 * connecting, and in a storm it would be client work on the cores the leaf
 * under test shares. `loadClientKeys` does it before a measurement starts.
 */
const keys = new Map<string, KeyObject>();

function clientKey(seedHex: string): KeyObject {
  let key = keys.get(seedHex);
  if (key === undefined) {
    key = ed25519KeyPairFromSeed(seedHex).privateKey;
    keys.set(seedHex, key);
  }
  return key;
}

/** Load the keys of `specs` now (see `keys`). */
export function loadClientKeys(specs: readonly ClientSpec[]): void {
  for (const spec of specs) if (spec.seedHex) clientKey(spec.seedHex);
}

export async function connectClient(spec: ClientSpec, timeoutMs = 30_000): Promise<NatsConnection> {
  let authenticator: ((nonce?: string) => Auth) | undefined;
  if (spec.token !== undefined) {
    const token = spec.token;
    const key = spec.seedHex ? clientKey(spec.seedHex) : undefined;
    authenticator = (nonce?: string): Auth => {
      const auth: Record<string, string> = { auth_token: token };
      if (key !== undefined && nonce) auth["sig"] = signNonce(key, nonce);
      return auth as unknown as Auth;
    };
  }
  return connect({
    servers: spec.url,
    name: spec.name,
    // null, not undefined: a nats:// client stays plain even where the server offers TLS (the bench hub's allow_non_tls port).
    tls: spec.url.startsWith("tls://") ? tlsOptions(spec.caFile) : null,
    authenticator,
    inboxPrefix: spec.inboxPrefix,
    timeout: timeoutMs,
    reconnect: false,
    noAsyncTraces: true,
    pingInterval: 5 * 60_000,
  });
}

/** Counts messages and resolves waits when a target count is reached or traffic stops. */
export class MessageCounter {
  count = 0;
  firstAt = 0;
  lastAt = 0;

  readonly onMessage = (): void => {
    const now = epochMs();
    if (this.count === 0) this.firstAt = now;
    this.lastAt = now;
    this.count++;
  };

  /** Resolve once `expect` were counted, or nothing came for `idleMs` (after the first, or from now), or at `deadlineMs`. */
  async wait(expect: number, idleMs: number, deadlineMs: number): Promise<CounterResult> {
    const start = epochMs();
    for (;;) {
      const now = epochMs();
      if (this.count >= expect) break;
      if (now - Math.max(this.lastAt, start) > idleMs) break;
      if (now - start > deadlineMs) break;
      await sleep(5);
    }
    return { count: this.count, firstAt: this.firstAt, lastAt: this.lastAt };
  }
}

/**
 * Request `subject` until someone answers: proof that the interest created on
 * the other side of the leaf link has crossed it (interest for subjects
 * subscribed earlier on the same connection crossed before it, in order).
 */
export async function awaitResponder(nc: NatsConnection, subject: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await nc.request(subject, undefined, { timeout: 1000 });
      return;
    } catch (err) {
      last = err;
      await sleep(50);
    }
  }
  throw new Error(`no responder on ${subject} within ${deadlineMs} ms: ${String(last)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
