/**
 * The runner's side of the client workers: forks compiled bench/proc/worker.js
 * processes, sends them typed operations with a time limit each, and kills
 * them all when a scenario run ends (successfully or not). A worker that dies
 * mid-operation fails that operation with its exit status and the tail of its
 * stderr, rather than leaving the runner waiting.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pin } from "./pin.js";
import type { OpName, Ops, WorkerReply, WorkerRequest } from "./protocol.js";

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.js", import.meta.url));

export class WorkerError extends Error {
  override readonly name = "WorkerError";
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = "";
  private exitInfo: string | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly label: string, private readonly child: ChildProcess) {
    child.stderr?.on("data", (b: Buffer) => { this.stderrTail = (this.stderrTail + b.toString()).slice(-4000); });
    child.on("message", (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new WorkerError(`${this.label}: ${m.error}`));
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = `exited (code ${code ?? "-"}, signal ${signal ?? "-"})`;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new WorkerError(`${this.label} ${this.exitInfo}${this.stderrTail ? `: ${this.stderrTail.trim()}` : ""}`));
          this.pending.delete(id);
        }
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<K extends OpName>(op: K, args: Ops[K]["args"], timeoutMs: number): Promise<Ops[K]["result"]> {
    if (this.exitInfo !== null) return Promise.reject(new WorkerError(`${this.label} ${this.exitInfo}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WorkerError(`${this.label}: ${op} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const req: WorkerRequest<K> = { id, op, args };
      this.child.send(req);
    });
  }

  /** Close the worker's connections politely (bounded), then kill it. */
  async stop(): Promise<void> {
    if (this.exitInfo === null) {
      await this.call("closeAll", {}, 10_000).catch(() => {});
      this.kill();
    }
    await this.exited;
  }

  kill(): void {
    if (this.exitInfo === null) this.child.kill("SIGKILL");
  }
}

/** Every worker started for one scenario run; `stopAll` ends them. */
export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private static readonly live = new Set<Worker>();
  /** CPUs every client worker is pinned to (`--pin-clients`); null: not pinned. */
  static cpus: string | null = null;

  spawn(label: string): Worker {
    const child = fork(WORKER_SCRIPT, [], { execArgv: [], stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "advanced" });
    if (WorkerPool.cpus !== null && child.pid !== undefined) pin(child.pid, WorkerPool.cpus);
    const w = new Worker(label, child);
    this.workers.add(w);
    WorkerPool.live.add(w);
    child.once("exit", () => WorkerPool.live.delete(w));
    return w;
  }

  /** Process ids of this pool's workers (for CPU readings). */
  pids(): number[] {
    return [...this.workers].map((w) => w.pid).filter((p) => p > 0);
  }

  async stopAll(): Promise<void> {
    const all = [...this.workers];
    this.workers.clear();
    await Promise.all(all.map((w) => w.stop()));
  }

  /** Synchronous last resort (process exit): kill every worker still running. */
  static killAllSync(): void {
    for (const w of WorkerPool.live) w.kill();
  }
}
