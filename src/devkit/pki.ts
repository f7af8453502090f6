/**
 * A throwaway PKI made with openssl (EC P-256, well under a second): a CA, the
 * hub's server certificate, the leaf's client certificate, a server
 * certificate for the gateway's own listeners, and an untrusted CA with a
 * client certificate of its own for refusal tests. Written into a folder the
 * caller chooses (`generatePki`) or a per-process temp folder removed at exit
 * (`getPki`). For demos, tests and benchmarks only: keys are unencrypted and
 * valid for two days. `generateTrialPki` makes the same without the untrusted
 * pair, valid longer and for more host names, for `aaa-leafnode devkit pki`.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { DevkitError, DevkitErrorCode } from "./errors.js";

const execFileAsync = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  /** The trusted CA (PEM path). */
  ca: string;
  /** Hub server certificate (SAN 127.0.0.1, localhost). */
  hub: CertFiles;
  /** Leaf client certificate (clientAuth), signed by the CA. */
  leaf: CertFiles;
  /** Server certificate for the gateway's client/WebSocket listeners (SAN 127.0.0.1, localhost). */
  gateway: CertFiles;
  /** A CA nobody trusts, and a client certificate it signed. */
  untrustedCa: string;
  untrustedClient: CertFiles;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Key types a server certificate can have (`serverCertificate`); the rest of the PKI is EC P-256. */
export type ServerKeyType = "ec-p256" | "rsa-2048" | "rsa-4096";

const NEW_KEY: Record<ServerKeyType, string[]> = {
  "ec-p256": EC,
  "rsa-2048": ["-newkey", "rsa:2048", "-nodes"],
  "rsa-4096": ["-newkey", "rsa:4096", "-nodes"],
};

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? "openssl is not installed" : `openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`;
    throw new DevkitError(DevkitErrorCode.Openssl, why, { cause: err });
  }
}

/** How long the certificates are valid and which names the server certificates carry. */
export interface PkiOptions {
  /** Days of validity (default 2). */
  days?: number;
  /** Host names and IP addresses of the server certificates (default 127.0.0.1, localhost). */
  hosts?: string[];
}

const DEFAULT_HOSTS = ["127.0.0.1", "localhost"];

async function makeCa(dir: string, name: string, days: number): Promise<CertFiles> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await openssl([
    "req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", String(days), "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

async function makeLeafCert(dir: string, name: string, ca: CertFiles, usage: "server" | "client", opts: Required<PkiOptions>, newKey = EC): Promise<CertFiles> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
  if (usage === "server") {
    const sans = opts.hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`));
    lines.push("extendedKeyUsage=serverAuth,clientAuth", `subjectAltName=${sans.join(",")}`);
  } else {
    lines.push("extendedKeyUsage=clientAuth", `subjectAltName=DNS:${name}.test`);
  }
  writeFileSync(ext, lines.join("\n") + "\n");
  await openssl(["req", ...newKey, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  await openssl([
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", cert, "-days", String(opts.days), "-extfile", ext,
  ]);
  rmSync(csr);
  rmSync(ext);
  return { cert, key };
}

export type TrialPki = Omit<Pki, "untrustedCa" | "untrustedClient">;

/** The CA, hub, leaf and gateway certificates into `dir` (created 0700 if missing). */
export async function generateTrialPki(dir: string, options: PkiOptions = {}): Promise<TrialPki> {
  const opts = { days: options.days ?? 2, hosts: options.hosts ?? DEFAULT_HOSTS };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await makeCa(dir, "ca", opts.days);
  // One certificate at a time per CA: concurrent -CAcreateserial runs race on the serial file.
  const hub = await makeLeafCert(dir, "hub", ca, "server", opts);
  const leaf = await makeLeafCert(dir, "leaf", ca, "client", opts);
  const gateway = await makeLeafCert(dir, "gateway", ca, "server", opts);
  return { dir, ca: ca.cert, hub, leaf, gateway };
}

/** Generate the whole PKI, with the untrusted pair, into `dir` (created 0700 if missing). */
export async function generatePki(dir: string): Promise<Pki> {
  const [trial, untrusted] = await Promise.all([generateTrialPki(dir), makeCa(dir, "untrusted-ca", 2)]);
  const untrustedClient = await makeLeafCert(dir, "untrusted-client", untrusted, "client", { days: 2, hosts: DEFAULT_HOSTS });
  return { ...trial, untrustedCa: untrusted.cert, untrustedClient };
}

/**
 * One more server certificate like `pki.gateway` (SAN 127.0.0.1, localhost,
 * signed by the PKI's CA) with a key of `type`, written into the PKI's folder
 * as `<name>.pem` / `<name>.key` (the benchmark's storms with RSA keys).
 * Call one at a time per PKI: the CA's serial file is shared.
 */
export function serverCertificate(pki: Pki, name: string, type: ServerKeyType): Promise<CertFiles> {
  const ca = { cert: pki.ca, key: join(pki.dir, "ca.key") };
  return makeLeafCert(pki.dir, name, ca, "server", { days: 2, hosts: DEFAULT_HOSTS }, NEW_KEY[type]);
}

let cached: Promise<Pki> | null = null;

/** The process-wide PKI in a temp folder removed at exit (generated on first use). */
export function getPki(): Promise<Pki> {
  if (cached === null) {
    const dir = mkdtempSync(join(tmpdir(), "aaa-leaf-pki-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    cached = generatePki(dir);
  }
  return cached;
}
