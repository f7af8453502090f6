// The browser side of test/e2e/browser/browser.test.ts: connect to the gateway
// over wss with the token and nonce signature, subscribe to the test subject,
// publish "ready" so the test's TLS client sends the message, show it, report.
// Signing is synchronous (the nats-core authenticator API is), so it uses
// tweetnacl from the same bundle rather than the asynchronous WebCrypto API.
(function () {
  "use strict";
  const params = new URLSearchParams(location.hash.slice(1));
  const { wsconnect } = globalThis.__cjs["@nats-io/nats-core"];
  const nacl = globalThis.__cjs["tweetnacl"];
  const statusEl = document.getElementById("status");
  const receivedEl = document.getElementById("received");

  const hexToBytes = (hex) => new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
  const base64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const keys = nacl.sign.keyPair.fromSeed(hexToBytes(params.get("seed")));

  async function report(result) {
    await fetch("/result", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(result) });
  }

  async function run() {
    statusEl.textContent = "connecting";
    const nc = await wsconnect({
      servers: params.get("ws"),
      reconnect: false,
      timeout: 15000,
      authenticator: (nonce) => ({
        auth_token: params.get("token"),
        sig: base64url(nacl.sign.detached(new TextEncoder().encode(nonce), keys.secretKey)),
      }),
    });
    statusEl.textContent = "connected";
    const sub = nc.subscribe(params.get("subject"), { max: 1 });
    await nc.flush();
    nc.publish(params.get("ready"), new TextEncoder().encode(navigator.userAgent));
    for await (const m of sub) {
      receivedEl.textContent = new TextDecoder().decode(m.data);
    }
    statusEl.textContent = "received";
    await nc.close();
    await report({ ok: true, received: receivedEl.textContent });
  }

  run().catch((err) => {
    statusEl.textContent = "error: " + (err && err.message ? err.message : String(err));
    return report({ ok: false, error: statusEl.textContent });
  });
})();
