// The test PKI is the shipped devkit's (openssl at test time, one per process, removed at exit),
// plus certificates a test needs beyond it: other host names, or validity dates in the past.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CertFiles, Pki } from "../../src/devkit/pki.js";

export * from "../../src/devkit/pki.js";

const run = promisify(execFile);

export interface ExtraCertOptions {
  /** subjectAltName, e.g. "DNS:elsewhere.test". */
  san: string;
  usage: "server" | "client";
  /** Validity as openssl's YYYYMMDDHHMMSSZ (default: from now for two days). */
  startDate?: string;
  endDate?: string;
}

/**
 * A certificate signed by the PKI's CA (its key is `ca.key` beside `ca.pem`), made with
 * `openssl ca`, which, unlike `openssl x509` in OpenSSL 3.0, takes explicit start and end dates.
 */
export async function issueCert(pki: Pki, name: string, opts: ExtraCertOptions): Promise<CertFiles> {
  const dir = mkdtempSync(join(pki.dir, `${name}-`));
  const cert = join(dir, `${name}.pem`), key = join(dir, `${name}.key`), csr = join(dir, `${name}.csr`);
  const cnf = join(dir, "ca.cnf"), ext = join(dir, "ext.cnf");
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(cnf, [
    "[ca]", "default_ca = test_ca", "[test_ca]", `database = ${join(dir, "index.txt")}`, `new_certs_dir = ${dir}`,
    `serial = ${join(dir, "serial")}`, "default_md = sha256", "policy = any", "unique_subject = no", "default_days = 2",
    "[any]", "commonName = supplied", "",
  ].join("\n"));
  writeFileSync(join(dir, "serial"), `${Date.now().toString(16).padStart(16, "0")}\n`);
  writeFileSync(ext, [
    "basicConstraints = critical,CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage = ${opts.usage === "server" ? "serverAuth,clientAuth" : "clientAuth"}`, `subjectAltName = ${opts.san}`, "",
  ].join("\n"));
  await run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  await run("openssl", [
    "ca", "-batch", "-notext", "-config", cnf, "-cert", pki.ca, "-keyfile", join(pki.dir, "ca.key"), "-in", csr, "-out", cert, "-extfile", ext,
    ...(opts.startDate ? ["-startdate", opts.startDate] : []), ...(opts.endDate ? ["-enddate", opts.endDate] : []),
  ]);
  return { cert, key };
}
