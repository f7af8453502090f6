/**
 * The devkit's small NATS client (the demo's, so that it runs without the
 * official client) against a real nats-server: messages of any bytes and
 * sizes, CRLF inside payloads and payloads larger than one socket read, come
 * back whole and in order (a property over random batches); request/respond;
 * and a peer that does not speak NATS over TLS or at all fails the connect
 * within its deadline instead of hanging. (Subscription refusals reaching the
 * callback, and the signed nonce, are shown by the demo's test: its callers
 * use this client through the gateway.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { connectLite, type DevConnection, type DevMsg } from "../../src/devkit/lite_client.js";
import { startHub, type Hub } from "../../src/devkit/hub.js";
import { getPki } from "../../src/devkit/pki.js";
import { waitFor } from "../../src/devkit/wait.js";

describe("devkit lite client", () => {
  let hub: Hub;
  let a: DevConnection;
  let b: DevConnection;
  before(async () => {
    hub = await startHub({ pki: await getPki() });
    a = await connectLite({ url: hub.clientUrl, name: "lite-a" });
    b = await connectLite({ url: hub.clientUrl, name: "lite-b" });
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await hub?.stop();
  });

  test("property: any batch of payloads arrives whole and in order, with its reply subject", async () => {
    let round = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new TextEncoder().encode("MSG x 1 2\r\nPING\r\n")), fc.uint8Array({ minLength: 70_000, maxLength: 200_000 })), { maxLength: 12 }),
      fc.boolean(),
      async (payloads, withReply) => {
        const subject = `lite.test.${round++}`;
        const got: DevMsg[] = [];
        const sub = b.subscribe(subject, { callback: (err, m) => (err ? assert.fail(err) : got.push(m)) });
        await b.flush();
        for (const p of payloads) a.publish(subject, p, withReply ? { reply: `${subject}.reply` } : {});
        await a.flush();
        await waitFor(`${payloads.length} messages`, () => (got.length >= payloads.length ? true : undefined), 10_000);
        await b.flush();
        sub.unsubscribe();
        assert.equal(got.length, payloads.length);
        got.forEach((m, i) => {
          assert.equal(m.subject, subject);
          assert.equal(m.reply, withReply ? `${subject}.reply` : undefined);
          assert.deepEqual(Buffer.from(m.data), Buffer.from(payloads[i]!));
        });
      },
    ), { numRuns: 25 });
  });

  test("request and respond", async () => {
    const sub = b.subscribe("lite.echo", { callback: (_err, m) => m.respond(new TextEncoder().encode(`echo ${new TextDecoder().decode(m.data)}`)) });
    await b.flush();
    const answer = await a.request("lite.echo", new TextEncoder().encode("hi"), { timeout: 5000 });
    assert.equal(new TextDecoder().decode(answer.data), "echo hi");
    sub.unsubscribe();
    await assert.rejects(a.request("lite.nobody", new Uint8Array(0), { timeout: 300 }), /no reply within 300 ms/);
  });

  test("a peer that cannot be spoken to fails the connect within its deadline", async () => {
    // The hub requires no TLS; asking for it from a plain port fails the TLS handshake, not a hang.
    await assert.rejects(connectLite({ url: hub.clientUrl.replace("nats://", "tls://"), name: "lite-tls", timeoutMs: 5000 }));
    // The monitor port speaks HTTP, not NATS: no INFO.
    await assert.rejects(connectLite({ url: `nats://${new URL(hub.monitorUrl).host}`, name: "lite-http", timeoutMs: 2000 }), /no answer from .* within 2000 ms/);
  });
});
