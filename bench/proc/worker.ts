/**
 * A benchmark client worker: a child process (forked by bench/proc/pool.ts)
 * that plays clients or simulated Choria nodes with the official NATS JS
 * client, so that client load never shares an event loop with the gateway or
 * the runner. It executes the operations of bench/proc/protocol.ts one IPC
 * message at a time and keeps its connections between them. It exits when
 * the IPC channel closes, so a crashed runner leaves no workers behind.
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { awaitResponder, connectClient, MessageCounter } from "./client.js";
import { epochMs, type OpName, type Ops, type WorkerReply, type WorkerRequest } from "./protocol.js";

const conns: NatsConnection[] = [];
const counter = new MessageCounter();

async function open(spec: Parameters<typeof connectClient>[0], timeoutMs?: number): Promise<NatsConnection> {
  const nc = await connectClient(spec, timeoutMs);
  conns.push(nc);
  return nc;
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
    const payload = new Uint8Array(size).fill(0x61);
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
    const payload = new Uint8Array(size).fill(0x62);
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

  async manyCallers({ clients, replyPrefixes, requestSubject, broadcasts, expectPerBroadcast, readySubjects, timeoutMs }) {
    let connected = 0, received = 0, timedOut = 0;
    let firstError = "";
    const broadcastMs: number[] = [];
    const body = new TextEncoder().encode("{\"agent\":\"bench\",\"action\":\"ping\"}");
    const ncs = await Promise.all(clients.map(async (spec) => {
      try {
        const nc = await open(spec, timeoutMs);
        connected++;
        return nc;
      } catch (err) {
        if (!firstError) firstError = err instanceof Error ? err.message : String(err);
        return null;
      }
    }));
    const first = ncs.find((nc) => nc !== null);
    if (first) for (const ready of readySubjects) await awaitResponder(first, ready);
    const startAt = epochMs();
    await Promise.all(ncs.map(async (nc, i) => {
      if (nc === null) return;
      const prefix = `${replyPrefixes[i]!}.mc`;
      let got = 0;
      let wake: (() => void) | null = null;
      nc.subscribe(`${prefix}.>`, { callback: () => {
        got++;
        received++;
        wake?.();
      } });
      await nc.flush();
      for (let b = 0; b < broadcasts; b++) {
        const want = got + expectPerBroadcast;
        const t0 = performance.now();
        nc.publish(requestSubject, body, { reply: `${prefix}.${b}` });
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => { wake = null; resolve(false); }, timeoutMs);
          wake = () => { if (got >= want) { clearTimeout(timer); wake = null; resolve(true); } };
        });
        if (ok) broadcastMs.push(performance.now() - t0);
        else timedOut++;
      }
    }));
    return { startAt, endAt: epochMs(), connected, received, broadcastMs, timedOut, firstError };
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
    const payload = new Uint8Array(size).fill(0x63);
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

  async stormConnect({ clients, subject, size, timeoutMs }) {
    const payload = new Uint8Array(size).fill(0x64);
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
