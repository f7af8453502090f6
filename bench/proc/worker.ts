/**
 * A benchmark client worker: a child process (forked by bench/proc/pool.ts)
 * that plays clients or simulated Choria nodes with the official NATS JS
 * client, so that client load never shares an event loop with the gateway or
 * the runner. It executes the operations of bench/proc/protocol.ts one IPC
 * message at a time and keeps its connections between them. It exits when
 * the IPC channel closes, so a crashed runner leaves no workers behind.
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { awaitResponder, connectClient, loadClientKeys, MessageCounter } from "./client.js";
import { epochMs, type OpName, type Ops, type WorkerReply, type WorkerRequest } from "./protocol.js";

const conns: NatsConnection[] = [];
const counter = new MessageCounter();
/** callersConnect's callers, with their reply prefix and replies so far, for manyCallers. */
interface Caller {
  nc: NatsConnection;
  prefix: string;
  got: number;
  wake: (() => void) | null;
}
let callers: Caller[] = [];

async function open(spec: Parameters<typeof connectClient>[0], timeoutMs?: number): Promise<NatsConnection> {
  const nc = await connectClient(spec, timeoutMs);
  conns.push(nc);
  return nc;
}

/**
 * A payload of `size` bytes shaped like a Choria message: a JSON transport
 * envelope whose data field is padded with `fill`, as Choria requests and
 * replies are JSON. What a leaf does per message may depend on the first bytes
 * (the gateway looks for a JetStream message-get answer in JSON bodies), so
 * the bench sends what a fleet sends. Shorter sizes are plain fill.
 */
function choriaPayload(size: number, fill: number): Uint8Array {
  const head = Buffer.from('{"protocol":"choria:transport:1","data":"');
  const tail = Buffer.from('"}');
  const out = new Uint8Array(size).fill(fill);
  if (size >= head.length + tail.length) {
    out.set(head, 0);
    out.set(tail, size - tail.length);
  }
  return out;
}

function answerReady(nc: NatsConnection, subject: string): void {
  nc.subscribe(subject, { callback: (err, m) => { if (!err) m.respond(); } });
}

type Handler<K extends OpName> = (args: Ops[K]["args"]) => Promise<Ops[K]["result"]>;

const handlers: { [K in OpName]: Handler<K> } = {
  async count({ client, subject, readySubject }) {
    const nc = await open(client);
    nc.subscribe(subject, { callback: counter.onMessage });
    answerReady(nc, readySubject);
    await nc.flush();
    return {};
  },

  countResult: ({ expect, idleMs, deadlineMs }) => counter.wait(expect, idleMs, deadlineMs),

  async publish({ client, subject, count, size, readySubjects }) {
    const nc = await open(client);
    for (const ready of readySubjects) await awaitResponder(nc, ready);
    const payload = choriaPayload(size, 0x61);
    const startAt = epochMs();
    for (let i = 0; i < count; i++) {
      nc.publish(subject, payload);
      // Let the client's writer run now and then instead of buffering everything first.
      if ((i & 1023) === 1023) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await nc.flush();
    return { startAt, endAt: epochMs() };
  },

  async replyBurst({ client, subject, replies, size, readySubject }) {
    const nc = await open(client);
    const payload = choriaPayload(size, 0x62);
    nc.subscribe(subject, {
      callback: (err, m: Msg) => {
        if (err || !m.reply) return;
        const to = m.reply;
        void (async () => {
          for (let i = 0; i < replies; i++) {
            nc.publish(to, payload);
            if ((i & 511) === 511) await new Promise<void>((resolve) => setImmediate(resolve));
          }
          await nc.flush();
        })();
      },
    });
    answerReady(nc, readySubject);
    await nc.flush();
    return {};
  },

  async fanIn({ client, requestSubject, replySubject, expect, readySubjects, idleMs, deadlineMs }) {
    const nc = await open(client);
    const replies = new MessageCounter();
    nc.subscribe(replySubject, { callback: replies.onMessage });
    await nc.flush();
    for (const ready of readySubjects) await awaitResponder(nc, ready);
    const t0 = epochMs();
    nc.publish(requestSubject, new TextEncoder().encode("{\"agent\":\"bench\"}"), { reply: replySubject });
    await nc.flush();
    const r = await replies.wait(expect, idleMs, deadlineMs);
    return { received: r.count, firstMs: r.count ? r.firstAt - t0 : 0, lastMs: r.count ? r.lastAt - t0 : 0 };
  },

  async callersConnect({ clients, replyPrefixes, readySubjects, timeoutMs }) {
    let firstError = "";
    const opened = await Promise.all(clients.map(async (spec, i): Promise<Caller | null> => {
      try {
        const nc = await open(spec, timeoutMs);
        const caller: Caller = { nc, prefix: `${replyPrefixes[i]!}.mc`, got: 0, wake: null };
        nc.subscribe(`${caller.prefix}.>`, { callback: () => {
          caller.got++;
          caller.wake?.();
        } });
        await nc.flush();
        return caller;
      } catch (err) {
        if (!firstError) firstError = err instanceof Error ? err.message : String(err);
        return null;
      }
    }));
    callers = opened.filter((c) => c !== null);
    if (callers[0]) for (const ready of readySubjects) await awaitResponder(callers[0].nc, ready);
    return { connected: callers.length, firstError };
  },

  async manyCallers({ requestSubject, broadcasts, expectPerBroadcast, timeoutMs }) {
    let timedOut = 0;
    const broadcastMs: number[] = [];
    const body = new TextEncoder().encode("{\"agent\":\"bench\",\"action\":\"ping\"}");
    const before = callers.reduce((n, c) => n + c.got, 0);
    const startAt = epochMs();
    await Promise.all(callers.map(async (c) => {
      for (let b = 0; b < broadcasts; b++) {
        const want = c.got + expectPerBroadcast;
        const t0 = performance.now();
        c.nc.publish(requestSubject, body, { reply: `${c.prefix}.${b}` });
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => { c.wake = null; resolve(false); }, timeoutMs);
          c.wake = () => { if (c.got >= want) { clearTimeout(timer); c.wake = null; resolve(true); } };
        });
        if (ok) broadcastMs.push(performance.now() - t0);
        else timedOut++;
      }
    }));
    const received = callers.reduce((n, c) => n + c.got, 0) - before;
    return { startAt, endAt: epochMs(), received, broadcastMs, timedOut };
  },

  async echo({ client, subject }) {
    const nc = await open(client);
    nc.subscribe(subject, { callback: (err, m) => { if (!err) m.respond(m.data); } });
    await nc.flush();
    return {};
  },

  async latency({ client, subject, count, size, timeoutMs }) {
    const nc = await open(client);
    await awaitResponder(nc, subject);
    const payload = choriaPayload(size, 0x63);
    for (let i = 0; i < Math.min(100, count); i++) await nc.request(subject, payload, { timeout: timeoutMs });
    const latenciesMs: number[] = [];
    let errors = 0;
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      try {
        await nc.request(subject, payload, { timeout: timeoutMs });
        latenciesMs.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
    return { latenciesMs, errors };
  },

  async loadKeys({ clients }) {
    loadClientKeys(clients);
    return {};
  },

  async stormConnect({ clients, subject, size, timeoutMs }) {
    const payload = choriaPayload(size, 0x64);
    const startAt = epochMs();
    let connectedAt = startAt, requestsDoneAt = startAt, connected = 0, failed = 0, requestsOk = 0;
    let firstError = "";
    const fail = (err: unknown): void => {
      failed++;
      if (!firstError) firstError = err instanceof Error ? err.message : String(err);
    };
    const connections = await Promise.all(clients.map(async (spec) => {
      try {
        const nc = await open(spec, timeoutMs);
        connected++;
        connectedAt = Math.max(connectedAt, epochMs());
        return nc;
      } catch (err) {
        fail(err);
        return null;
      }
    }));
    await Promise.all(connections.map(async (nc) => {
      if (nc === null) return;
      try {
        await nc.request(subject, payload, { timeout: timeoutMs });
        requestsOk++;
        requestsDoneAt = Math.max(requestsDoneAt, epochMs());
      } catch (err) {
        fail(err);
      }
    }));
    return { startAt, connectedAt, requestsDoneAt, connected, failed, requestsOk, firstError };
  },

  async closeAll() {
    const all = conns.splice(0);
    await Promise.allSettled(all.map((nc) => nc.close()));
    return { closedAt: epochMs() };
  },

  async subscribe({ clients, ownSubjects, sharedSubject, readySubject, concurrency }) {
    let next = 0;
    const ready: NatsConnection[] = [];
    const lane = async (): Promise<void> => {
      while (next < clients.length) {
        const i = next++;
        const nc = await open(clients[i]!);
        nc.subscribe(ownSubjects[i]!, { callback: counter.onMessage });
        nc.subscribe(sharedSubject, { callback: counter.onMessage });
        await nc.flush();
        ready.push(nc);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
    // The last client to finish answers the readiness probe: every shared-subject SUB was flushed before it.
    const last = ready[ready.length - 1];
    if (last !== undefined && readySubject) {
      answerReady(last, readySubject);
      await last.flush();
    }
    return { connected: clients.length };
  },
};

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  try {
    const handler = handlers[req.op] as Handler<OpName>;
    return { id: req.id, ok: true, result: await handler(req.args) };
  } catch (err) {
    return { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

if (!process.send) {
  process.stderr.write("bench worker: must be started by the benchmark runner (IPC channel missing)\n");
  process.exit(2);
}
process.on("message", (req: WorkerRequest) => {
  void handle(req).then((reply) => process.send?.(reply));
});
process.on("disconnect", () => {
  // The runner is gone: close politely, then leave whatever happens.
  setTimeout(() => process.exit(0), 2000).unref();
  void Promise.allSettled(conns.map((nc) => nc.close())).then(() => process.exit(0));
});
