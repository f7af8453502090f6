// The devkit's extra server certificates (ECDSA P-256, RSA-2048, RSA-4096, the
// benchmark's certificate storms) and the storms' Node limit (bench/proc/bare_tls.ts):
// each certificate has the key asked for, is signed by the PKI's CA for 127.0.0.1, and
// the bare Node TLS server serves a real NATS client with it (INFO, TLS, CONNECT, PING,
// one request echoed back).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getPki, serverCertificate, type ServerKeyType } from "../../helpers/pki.js";
import { natsConnect } from "../../helpers/gateway.js";

const BARE_TLS = fileURLToPath(new URL("../../../bench/proc/bare_tls.js", import.meta.url));

const KINDS: [ServerKeyType, (cert: X509Certificate) => void][] = [
  ["ec-p256", (c) => {
    assert.equal(c.publicKey.asymmetricKeyType, "ec");
    assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  }],
  ["rsa-2048", (c) => {
    assert.equal(c.publicKey.asymmetricKeyType, "rsa");
    assert.equal(c.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  }],
  ["rsa-4096", (c) => {
    assert.equal(c.publicKey.asymmetricKeyType, "rsa");
    assert.equal(c.publicKey.asymmetricKeyDetails?.modulusLength, 4096);
  }],
];

describe("server certificates by key type, and the bare Node TLS server", () => {
  for (const [kind, checkKey] of KINDS) {
    test(`${kind}: key, CA signature and SAN; a NATS client connects and gets its request echoed`, async (t) => {
      const pki = await getPki();
      // One at a time per PKI (the CA serial file): the tests of this file run in sequence.
      const files = await serverCertificate(pki, `server-test-${kind}`, kind);
      const cert = new X509Certificate(readFileSync(files.cert));
      checkKey(cert);
      assert.ok(cert.verify(new X509Certificate(readFileSync(pki.ca)).publicKey), "signed by the PKI's CA");
      assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");

      const child = spawn(process.execPath, [BARE_TLS, files.cert, files.key], { stdio: ["ignore", "pipe", "inherit"] });
      t.after(() => child.kill("SIGKILL"));
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          const m = /listening (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once("exit", (code) => reject(new Error(`bare_tls exited with ${code}`)));
      });
      // The client verifies the certificate against the CA: the server really presents it.
      const nc = await natsConnect(`tls://127.0.0.1:${port}`, pki);
      t.after(() => nc.close());
      const reply = await nc.request("bench.echo.test", new TextEncoder().encode(`echo ${kind}`), { timeout: 5_000 });
      assert.equal(new TextDecoder().decode(reply.data), `echo ${kind}`);
    });
  }
});
