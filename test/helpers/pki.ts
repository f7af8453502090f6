/**
 * Test PKI made with openssl at test time (EC P-256, so it takes well under a
 * second): a CA, the hub's server certificate, the leaf's client certificate,
 * a server certificate for the gateway's own listeners, and an untrusted CA
 * with a client certificate of its own for refusal tests. Generated once per
 * process into a temp dir that is removed at exit; no key material is ever
 * committed or trusted outside these tests.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  /** The trusted test CA. */
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

let cached: Promise<Pki> | null = null;

/** The process-wide test PKI (generated on first use). */
export function getPki(): Promise<Pki> {
  cached ??= generate();
  return cached;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`), key = join(dir, `${name}.key`);
  await run("openssl", [
    "req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return { cert, key };
}

async function makeLeafCert(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  usage: "server" | "client",
): Promise<CertFiles> {
  const cert = join(dir, `${name}.pem`), key = join(dir, `${name}.key`), csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
  if (usage === "server") {
    lines.push("extendedKeyUsage=serverAuth,clientAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost");
  } else {
    lines.push("extendedKeyUsage=clientAuth", `subjectAltName=DNS:${name}.test`);
  }
  writeFileSync(ext, lines.join("\n") + "\n");
  await run("openssl", ["req", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  await run("openssl", [
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", cert, "-days", "2", "-extfile", ext,
  ]);
  return { cert, key };
}

async function generate(): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), "aaa-leaf-pki-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const [ca, untrusted] = await Promise.all([makeCa(dir, "ca"), makeCa(dir, "untrusted-ca")]);
  // Sequential per CA: concurrent -CAcreateserial runs would race on the serial file.
  const hub = await makeLeafCert(dir, "hub", ca, "server");
  const [leaf, untrustedClient] = await Promise.all([
    makeLeafCert(dir, "leaf", ca, "client"),
    makeLeafCert(dir, "untrusted-client", untrusted, "client"),
  ]);
  const gateway = await makeLeafCert(dir, "gateway", ca, "server");
  return { dir, ca: ca.cert, hub, leaf, gateway, untrustedCa: untrusted.cert, untrustedClient };
}
