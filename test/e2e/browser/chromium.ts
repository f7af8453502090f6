/**
 * Headless Chromium for the browser-level tests (Debian package `chromium`, or
 * CHROMIUM_BIN): `dumpDom` loads a URL with `--dump-dom` and resolves with the
 * DOM Chromium serialises once the page has loaded, so what the tests read is
 * what the browser parsed, not the bytes a server sent. `openPage` drives a
 * page over the DevTools protocol instead, for pages that change after they
 * load (one that reloads itself).
 */
import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's SPKI pin format). */
export function spkiHash(certFile: string): string {
  const spki = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** Runs headless Chromium with --dump-dom on `url` (trusting only `spki` for TLS); resolves with the DOM it prints. */
export function dumpDom(url: string, spki: string | undefined, timeoutMs: number): Promise<{ dom: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), "aaa-chromium-"));
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", `--user-data-dir=${profile}`,
    ...(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : []),
    "--dump-dom", url,
  ];
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "pipe", "pipe"] });
  let dom = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (dom += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0) resolve({ dom, stderr });
      else reject(new Error(`chromium exited with ${code ?? signal}:\n${stderr}`));
    });
  });
}

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A page in headless Chromium driven over the DevTools protocol: read it, and count its loads. */
export interface DevtoolsPage {
  /** Page loads seen so far (the first navigation counts one; a page that reloads itself adds more). */
  readonly loads: number;
  /** Resolves once `loads` reaches n. */
  waitForLoads(n: number, timeoutMs: number): Promise<void>;
  /** Evaluate `expression` in the page; its value comes back as JSON. */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/** Starts headless Chromium with remote debugging on an ephemeral port and opens `url`. */
export async function openPage(url: string, timeoutMs: number): Promise<DevtoolsPage> {
  const profile = mkdtempSync(join(tmpdir(), "aaa-chromium-"));
  const child = spawn(CHROMIUM, [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", `--user-data-dir=${profile}`,
    "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    // Its own process group: the renderer and utility processes go too, so none still writes the profile.
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
    await exited;
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    // Chromium says where its DevTools endpoint listens on standard error.
    const port = await new Promise<number>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => reject(new Error(`no DevTools endpoint from chromium:\n${err}`)), timeoutMs);
      child.stderr.on("data", (d: Buffer) => {
        err = (err + d.toString()).slice(-8000);
        const m = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once("exit", (code) => reject(new Error(`chromium exited with ${code}:\n${err}`)));
    });
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => t.type === "page");
    if (!target) throw new Error("chromium has no page target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    let nextId = 1;
    let loads = 0;
    const pending = new Map<number, (msg: { result?: unknown; error?: { message: string } }) => void>();
    const loadWaiters: (() => void)[] = [];
    ws.on("message", (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; method?: string; result?: unknown; error?: { message: string } };
      if (msg.id !== undefined) pending.get(msg.id)?.(msg);
      if (msg.method === "Page.loadEventFired") {
        loads++;
        for (const w of loadWaiters.splice(0)) w();
      }
    });
    const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, (msg) => {
          pending.delete(id);
          if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
          else resolve(msg.result);
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call("Page.enable");
    await call("Page.navigate", { url });
    return {
      get loads() {
        return loads;
      },
      async waitForLoads(n, waitMs) {
        const deadline = Date.now() + waitMs;
        while (loads < n) {
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`page loaded ${loads} times, not ${n}, within ${waitMs} ms`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            loadWaiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      },
      async evaluate<T>(expression: string): Promise<T> {
        const r = (await call("Runtime.evaluate", { expression, returnByValue: true })) as { result: { value: T }; exceptionDetails?: unknown };
        if (r.exceptionDetails) throw new Error(`evaluating ${expression}: ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      },
      async close() {
        ws.close();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
