/**
 * The message contract between the benchmark runner and its client workers
 * (bench/proc/worker.ts, forked child processes). The runner sends one
 * operation at a time per worker over the IPC channel and awaits its reply;
 * a worker keeps its NATS connections between operations, so a scenario can
 * connect, measure, read the leaf's memory, and only then disconnect. All
 * timestamps are epoch milliseconds with sub-millisecond resolution
 * (`performance.timeOrigin + performance.now()`), comparable across processes
 * on the same machine.
 */

/** How a worker connects one NATS client. */
export interface ClientSpec {
  /** `tls://…` for the leaves; `nats://…` (plain) for the hub. */
  url: string;
  /** Verify the server certificate with this CA; without it, TLS without verification (Choria anon-TLS clients). */
  caFile?: string;
  /** AAA JWT sent as `auth_token` (gateway targets). */
  token?: string;
  /** Hex ed25519 seed that signs the server nonce (`sig`), with `token`. */
  seedHex?: string;
  /** Request inbox prefix, e.g. `choria.reply.<md5 of caller id>`. */
  inboxPrefix?: string;
  name?: string;
}

export interface CounterResult {
  count: number;
  /** Epoch ms of the first and last counted message (0 if none). */
  firstAt: number;
  lastAt: number;
}

export interface Ops {
  /** Count messages on `subject`; answer requests on `readySubject` once subscribed. */
  count: { args: { client: ClientSpec; subject: string; readySubject: string }; result: Record<string, never> };
  /** Wait until `expect` messages were counted, or `idleMs` passed without one, or `deadlineMs`. */
  countResult: { args: { expect: number; idleMs: number; deadlineMs: number }; result: CounterResult };
  /** Publish `count` messages of `size` bytes as fast as the client allows, then flush. */
  publish: {
    args: { client: ClientSpec; subject: string; count: number; size: number; readySubjects: string[] };
    result: { startAt: number; endAt: number };
  };
  /** Simulated nodes: on each request to `subject`, publish `replies` messages of `size` bytes to its reply subject. */
  replyBurst: {
    args: { client: ClientSpec; subject: string; replies: number; size: number; readySubject: string };
    result: Record<string, never>;
  };
  /** Publish one request and count the replies on `replySubject`. */
  fanIn: {
    args: {
      client: ClientSpec;
      requestSubject: string;
      replySubject: string;
      expect: number;
      readySubjects: string[];
      idleMs: number;
      deadlineMs: number;
    };
    result: { received: number; firstMs: number; lastMs: number };
  };
  /**
   * Choria-style callers, connected before the measured phase: each connects
   * and subscribes to its own reply subjects (`<prefix>.mc.>`); returns once
   * the fleet answers on every `readySubjects`.
   */
  callersConnect: {
    args: { clients: ClientSpec[]; replyPrefixes: string[]; readySubjects: string[]; timeoutMs: number };
    result: { connected: number; firstError: string };
  };
  /**
   * The callers of callersConnect, all at once: each `broadcasts` times
   * publishes a request to `requestSubject` and waits for
   * `expectPerBroadcast` replies (or `timeoutMs`).
   */
  manyCallers: {
    args: { requestSubject: string; broadcasts: number; expectPerBroadcast: number; timeoutMs: number };
    result: { startAt: number; endAt: number; received: number; broadcastMs: number[]; timedOut: number };
  };
  /** Echo every request on `subject` back to its reply subject. */
  echo: { args: { client: ClientSpec; subject: string }; result: Record<string, never> };
  /** Sequential requests, one at a time; latencies in ms. */
  latency: {
    args: { client: ClientSpec; subject: string; count: number; size: number; timeoutMs: number };
    result: { latenciesMs: number[]; errors: number };
  };
  /** Load the callers' keys, as each client would at start-up (before a measured phase). */
  loadKeys: { args: { clients: ClientSpec[] }; result: Record<string, never> };
  /** Connect all clients at once; each does one request; the connections stay open. */
  stormConnect: {
    args: { clients: ClientSpec[]; subject: string; size: number; timeoutMs: number };
    result: { startAt: number; connectedAt: number; requestsDoneAt: number; connected: number; failed: number; requestsOk: number; firstError: string };
  };
  /** Close every connection this worker holds. */
  closeAll: { args: Record<string, never>; result: { closedAt: number } };
  /** Connect clients, each subscribed to its own subject and the shared one; the last answers `readySubject`. */
  subscribe: {
    args: { clients: ClientSpec[]; ownSubjects: string[]; sharedSubject: string; readySubject: string; concurrency: number };
    result: { connected: number };
  };
}

export type OpName = keyof Ops;

export interface WorkerRequest<K extends OpName = OpName> {
  id: number;
  op: K;
  args: Ops[K]["args"];
}

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

/** Epoch milliseconds with sub-millisecond resolution. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
