/**
 * `aaa-leafnode devkit pki --out DIR`: trial certificates and an AAA signer
 * for a first gateway, made with the devkit that the demo and the tests use
 * (openssl, EC P-256), and the next steps printed with the real paths: the
 * broker.conf lines, the hub's leafnode block, a client token, the Kubernetes
 * Secret. For trials only: keys are unencrypted and the CA is a throwaway.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createSigner, writeSignerFiles } from "../auth/mint.js";
import { GatewayError } from "../errors.js";
import { generateTrialPki, type TrialPki } from "../devkit/pki.js";
import type { CliIo } from "./io.js";
import { flagValue } from "./io.js";

export const devkitHelp = `Usage: aaa-leafnode devkit pki --out DIR [--days 30] [--host NAME]... [--force]

pki   Write trial certificates for a first gateway into DIR (created 0700):
        ca.pem, ca.key           a throwaway CA
        gateway.pem, .key        the gateway's client listener certificate
        hub.pem, hub.key         the hub's leafnode port certificate
        leaf.pem, leaf.key       the gateway's client certificate for the hub (mTLS)
        signer.seed, .public     a development AAA signer (ed25519)
      The server certificates name 127.0.0.1 and localhost, plus each --host
      (a DNS name or an IP address). Valid for --days (default 30, at most 825).
      Then prints the next steps with these paths. Refuses a DIR that already
      holds a CA unless --force. Needs openssl. For trials only: the keys are
      not encrypted and the CA is nobody's; use your own PKI in production.`;

const MAX_DAYS = 825;

class UsageError extends GatewayError {
  constructor(message: string) {
    super("GW_ERR_USAGE", message);
  }
}

/** Every value of a repeatable flag (`--host a --host=b`). */
function flagValues(argv: string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === name && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
    else if (a.startsWith(name + "=")) out.push(a.slice(name.length + 1));
  });
  return out;
}

export async function devkitCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] !== "pki") {
    io.stderr.write(`devkit: ${argv[0] === undefined ? "a subcommand is required" : `unknown subcommand "${argv[0]}"`}\n\n${devkitHelp}\n`);
    return 2;
  }
  let out: string;
  let days: number;
  let hosts: string[];
  try {
    const dir = flagValue(argv, "--out");
    if (!dir) throw new UsageError("--out DIR is required");
    out = resolve(dir);
    const daysText = flagValue(argv, "--days") ?? "30";
    days = Number(daysText);
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_DAYS}, not ${JSON.stringify(daysText)}`);
    hosts = ["127.0.0.1", "localhost", ...flagValues(argv, "--host")];
    const bad = hosts.find((h) => !/^[A-Za-z0-9.:*-]+$/.test(h));
    if (bad !== undefined) throw new UsageError(`--host must be a DNS name or an IP address, not ${JSON.stringify(bad)}`);
  } catch (err) {
    io.stderr.write(`devkit pki: ${(err as Error).message}\n\n${devkitHelp}\n`);
    return 2;
  }
  if (existsSync(join(out, "ca.pem")) && !argv.includes("--force")) {
    io.stderr.write(`devkit pki: ${out} already holds a CA (ca.pem); choose another folder or add --force to replace it\n`);
    return 1;
  }
  try {
    const pki = await generateTrialPki(out, { days, hosts: [...new Set(hosts)] });
    const signer = writeSignerFiles(createSigner("ed25519"), out, "signer").publicKeyPath;
    io.stdout.write(nextSteps(pki, signer, days, [...new Set(hosts)]));
    return 0;
  } catch (err) {
    io.stderr.write(`devkit pki: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function nextSteps(pki: TrialPki, signer: string, days: number, hosts: string[]): string {
  const r = "plugin.choria.network.leafnode_remote.hub.";
  return `trial PKI in ${pki.dir} (valid ${days} days; server names ${hosts.join(", ")}):
  ${pki.ca}  the CA: clients verify the gateway with it, the gateway the hub
  ${pki.gateway.cert}, ${pki.gateway.key}  the gateway's listener
  ${pki.hub.cert}, ${pki.hub.key}  the hub's leafnode port
  ${pki.leaf.cert}, ${pki.leaf.key}  the gateway's client certificate for the hub
  ${signer}  a development AAA signer's public key
For trials only: the keys are not encrypted and the CA is nobody's.

Next steps:
1. The gateway's broker.conf (then: aaa-leafnode check --config broker.conf):
plugin.security.file.certificate = ${pki.gateway.cert}
plugin.security.file.key = ${pki.gateway.key}
plugin.security.file.ca = ${pki.ca}
plugin.choria.network.client_signer_cert = ${signer}
plugin.choria.network.leafnode_remotes = hub
${r}url = tls://HUB-HOST:7422
${r}tls.cert = ${pki.leaf.cert}
${r}tls.key = ${pki.leaf.key}
${r}tls.ca = ${pki.ca}

2. The hub's nats-server.conf (a Choria broker: deploy/hub/choria-broker.conf):
leafnodes {
  port: 7422
  tls { cert_file: "${pki.hub.cert}", key_file: "${pki.hub.key}", ca_file: "${pki.ca}", verify: true }
}

3. A client token and key for up=alice, signed by the trial signer:
aaa-leafnode token mint client --signer ${pki.dir} --caller up=alice --permissions fleet_management --out alice.jwt
   (alice.jwt and its seed alice.key; README.md, "Connecting a NATS client", shows a client using them)

4. In Kubernetes, the Secret deploy/kubernetes mounts:
kubectl create secret generic aaa-leafnode-tls --from-file=tls.crt=${pki.gateway.cert} --from-file=tls.key=${pki.gateway.key} --from-file=ca.crt=${pki.ca} --from-file=signer-cert.pem=${signer}
`;
}
