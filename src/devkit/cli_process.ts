/**
 * Runs the `aaa-leafnode` command line as a child process (`node
 * bin/aaa-leafnode.js …`), the way an operator runs it, for end-to-end tests
 * of the CLI and the demo. The package root is found from this module's
 * location, so it works from src/ (ts) and build/src/ (js) alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (the folder holding package.json and bin/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "bin", "aaa-leafnode.js"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot locate the aaa-leafnode package root");
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** The package to run (default: this one, packageRoot()). */
  root?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to standard input, which is then closed. */
  input?: string;
  /** Kill (SIGKILL) after this long, ms (default 60000). */
  timeoutMs?: number;
}

/** A running `aaa-leafnode` child with its output so far. */
export interface CliChild {
  readonly process: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when the process has exited and its output is complete. */
  readonly done: Promise<CliResult>;
}

export function spawnCli(args: string[], opts: CliRunOptions = {}): CliChild {
  const root = opts.root ?? packageRoot();
  const child = spawn(process.execPath, [join(root, "bin", "aaa-leafnode.js"), ...args], {
    cwd: opts.cwd ?? root,
    env: { ...process.env, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const killer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { process: child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Run `aaa-leafnode ARGS…` to completion. */
export function runCli(args: string[], opts: CliRunOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).done;
}
