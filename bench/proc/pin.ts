/**
 * CPU pinning for the benchmark (`--pin-leaf`, `--pin-clients`): every
 * thread of a process goes onto a CPU list with `taskset`, so the leaf under
 * test owns its cores and the hub and the clients stay off them
 * (docs/workers.md, the worker curve). Threads and processes started later
 * by a pinned process (Go threads, gateway workers) inherit its affinity.
 */
import { execFileSync } from "node:child_process";

/** Pin every thread of `pid` to `cpus` (a taskset list: "1", "0,2", "4-7"). Throws if taskset fails. */
export function pin(pid: number, cpus: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
}
