/**
 * The external login helper. Like `choria login`, `aaa-leafnode login` hands
 * the whole login to a `choria-login` program when one is on the PATH (sites
 * use it for single sign-on and other flows the built-in user name and
 * password login does not cover). The helper gets the same arguments Choria
 * gives it (`login` and everything after it), the environment, and the
 * terminal; its exit status becomes ours.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { LoginError, LoginErrorCode } from "./errors.js";
import type { PromptInput } from "./prompt.js";

export const EXTERNAL_LOGIN_HELPER = "choria-login";

/** The first executable `name` in the PATH's directories (absolute ones only), or null. */
export function findOnPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "" || !isAbsolute(dir)) continue; // "" and relative entries would mean the working directory
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there or not executable: keep looking
    }
  }
  return null;
}

export interface HelperIo {
  stdin: PromptInput;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
}

/**
 * Runs `helper login <argv...>` and resolves to its exit status (1 if a
 * signal ended it). With the process's own streams the helper gets the
 * terminal itself, so it can prompt; otherwise its output is copied to `io`.
 */
export function runExternalLogin(helper: string, argv: string[], io: HelperIo): Promise<number> {
  const own = io.stdin === process.stdin && io.stdout === process.stdout && io.stderr === process.stderr;
  const child = spawn(helper, ["login", ...argv], {
    env: io.env as NodeJS.ProcessEnv,
    stdio: own ? "inherit" : ["pipe", "pipe", "pipe"],
  });
  if (!own) {
    const input = io.stdin as unknown as NodeJS.ReadableStream;
    if (typeof input.pipe === "function") input.pipe(child.stdin!).on("error", () => {});
    else child.stdin!.end();
    child.stdin!.on("error", () => {}); // the helper may exit without reading
    child.stdout!.on("data", (d: Buffer) => io.stdout.write(d.toString()));
    child.stderr!.on("data", (d: Buffer) => io.stderr.write(d.toString()));
  }
  return new Promise((resolve, reject) => {
    child.once("error", (err) => reject(new LoginError(LoginErrorCode.Config, `cannot run ${helper}: ${err.message}`, { cause: err })));
    child.once("close", (code) => resolve(code ?? 1));
  });
}
