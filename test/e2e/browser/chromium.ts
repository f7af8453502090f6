/**
 * Headless Chromium for the browser-level tests (Debian package `chromium`, or
 * CHROMIUM_BIN): `dumpDom` loads a URL with `--dump-dom` and resolves with the
 * DOM Chromium serialises once the page has loaded, so what the tests read is
 * what the browser parsed, not the bytes a server sent.
 */
import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
