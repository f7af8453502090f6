/**
 * The configuration from the Choria client-leafnode announcement, with only
 * its paths, hub URL and client port pointed at test files (a test AAA signer's
 * PEM certificate, the test PKI, a real nats-server hub's leafnode port, a free
 * port), starts `aaa-leafnode run` unchanged: no warnings, the started line,
 * the mTLS leafnode link up at the hub, and a client holding a token from that
 * signer reaches a responder on the hub through it. SIGTERM then stops it with
 * exit code 0.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { startHub, waitFor, type Hub } from "../helpers/hub.js";
import { createSigner, selfSignedCert, tokenWorld, writeSignerFiles } from "../helpers/tokens.js";
import { freePort } from "./ws_world.js";
import { Clients, opsDir, spawnGateway, type OpsGateway } from "./ops_world.js";
import { nodeEndOfLife } from "../../src/cli/run.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The announcement text; `/etc/choria/...`, the hub URL and 4222 are the only things replaced. */
function announcementConfig(paths: { signerCert: string; cert: string; key: string; ca: string; hubUrl: string; clientPort: number }): string[] {
  return [
    "loglevel = info",
    "plugin.choria.network.client_anon_tls = true",
    `plugin.choria.security.request_signing_certificate = ${paths.signerCert}`,
    "plugin.security.provider = file",
    `plugin.security.file.certificate = ${paths.cert}`,
    `plugin.security.file.key = ${paths.key}`,
    `plugin.security.file.ca = ${paths.ca}`,
    "plugin.choria.network.leafnode_remotes = choria",
    `plugin.choria.network.leafnode_remote.choria.url = ${paths.hubUrl}`,
    "plugin.choria.broker_network = true",
    `plugin.choria.network.client_port = ${paths.clientPort}`,
  ];
}

describe("the Choria announcement configuration", () => {
  let pki: Pki;
  let hub: Hub;
  let hubClient: NatsConnection;

  before(async () => {
    pki = await getPki();
    hub = await startHub({ pki });
    hubClient = await connect({ servers: hub.clientUrl, name: "fleet-responder" });
    hubClient.subscribe("ops.ping", {
      callback: (_err, m) => {
        m.respond(enc.encode(`pong from hub to ${dec.decode(m.data)}`));
      },
    });
    await hubClient.flush();
  });
  after(async () => {
    await hubClient?.close();
    await hub?.stop();
  });

  test("starts the gateway unchanged; a token holder reaches the hub through it", async (t) => {
    const dir = opsDir(t);
    // An RSA AAA signer with a self-signed PEM certificate, as the AAA service uses.
    const signer = createSigner("rsa");
    const { privateKeyPath } = writeSignerFiles(signer, dir, "signer");
    const signerCert = selfSignedCert(privateKeyPath, join(dir, "signer-cert.pem"));
    const tokens = tokenWorld(signer);

    let gw: OpsGateway | undefined;
    let clientPort = 0;
    // The free port may be taken between the probe and the bind: try again a few times.
    for (let attempt = 1; gw === undefined; attempt++) {
      clientPort = await freePort();
      const lines = announcementConfig({
        signerCert, cert: pki.gateway.cert, key: pki.gateway.key, ca: pki.ca,
        hubUrl: `nats://127.0.0.1:${hub.leafPort}`, clientPort,
      });
      try {
        gw = await spawnGateway(t, dir, lines);
      } catch (err) {
        if (attempt >= 3 || !String(err).includes("EADDRINUSE")) throw err;
      }
    }

    const started = gw.logged("aaa-leafnode started")[0]!;
    assert.equal(started["level"], "info");
    assert.equal(started["client_port"], clientPort);
    // The one warning about the runtime itself (Node 20 past its end of life) is not about these keys.
    const runtimeWarning = nodeEndOfLife(process.versions.node);
    const complaints = gw.logged(/./).filter((r) => (r["level"] === "warn" || r["level"] === "error") && r["msg"] !== runtimeWarning);
    assert.equal(complaints.length, 0, `no warnings or errors for the announcement keys:\n${gw.child.stderr()}`);

    await gw.waitLogged("upstream connected");
    const leafz = (await waitFor("the hub to list the gateway's leafnode", async () => {
      const l = (await hub.leafz()) as { leafnodes?: number; leafs?: unknown[] };
      return (l.leafs?.length ?? 0) > 0 ? l : undefined;
    })) as { leafs: { name?: string }[] };
    assert.equal(leafz.leafs.length, 1);

    const clients = new Clients(t, pki);
    const nc = await clients.connect(gw.url, tokens.mint({ callerid: "up=announce", pubSubjects: ["ops.ping"] }), tokens.user);
    // The hub's interest reaches the gateway over the leafnode link shortly after it connects.
    const reply = await waitFor("a reply from the hub", async () => {
      const m = await nc.request("ops.ping", enc.encode("up=announce"), { timeout: 1000 });
      return dec.decode(m.data);
    }, 20_000);
    assert.equal(reply, "pong from hub to up=announce");

    await nc.close();
    gw.signal("SIGTERM");
    const r = await gw.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(gw.logged("aaa-leafnode stopped").length === 1);
  });
});
