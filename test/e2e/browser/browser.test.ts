/**
 * In a real browser: headless Chromium (Debian package `chromium`)
 * loads test/e2e/browser/page.html from a small HTTP server on 127.0.0.1; the
 * page runs the official NATS JS client (nats-core, served as one script built
 * by cjs_bundle.ts), connects to the gateway over wss with an AAA token and a
 * nonce signature, and shows a message sent to it by a TLS client of the
 * gateway. The page's Origin must pass the gateway's allow list. Chromium
 * trusts only the gateway certificate's public key (--ignore-certificate-
 * errors-spki-list), and `--dump-dom` returns the page once it has loaded,
 * which the page holds back until the message is shown.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { bundleCjs } from "./cjs_bundle.js";
import { CHROMIUM, chromiumAvailable, dumpDom, spkiHash } from "./chromium.js";
import { getPki } from "../../helpers/pki.js";
import { startWsWorld } from "../ws_world.js";

// Compiled to build/test/e2e/browser/; the page files stay in the source tree.
const PAGE_DIR = fileURLToPath(new URL("../../../../test/e2e/browser/", import.meta.url));
const enc = new TextEncoder();
const dec = new TextDecoder();

interface PageResult {
  ok: boolean;
  received?: string;
  error?: string;
}

interface PageServer {
  origin: string;
  result: Promise<PageResult>;
  close(): Promise<void>;
}

/** Serves the page, its script and the bundle; holds /hold.gif until the page has reported. */
async function servePage(): Promise<PageServer> {
  const bundle = bundleCjs(["@nats-io/nats-core", "tweetnacl"]).script;
  let report!: (r: PageResult) => void;
  const result = new Promise<PageResult>((resolve) => (report = resolve));
  const files: Record<string, [string, string | Buffer]> = {
    "/": ["text/html", readFileSync(join(PAGE_DIR, "page.html"))],
    "/page.js": ["text/javascript", readFileSync(join(PAGE_DIR, "page.js"))],
    "/nats-bundle.js": ["text/javascript", bundle],
  };
  // A 1×1 transparent GIF.
  const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "POST" && path === "/result") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        report(JSON.parse(body) as PageResult);
        res.writeHead(204).end();
      });
      return;
    }
    if (path === "/hold.gif") {
      void result.then(() => res.writeHead(200, { "content-type": "image/gif" }).end(gif));
      return;
    }
    const file = files[path];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": file[0], "cache-control": "no-store" }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    result,
    close: () => {
      report({ ok: false, error: "server closed" });
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test("headless Chromium connects over wss with a token and nonce signature and shows a message", async (t) => {
  const page = await servePage();
  t.after(() => page.close());
  if (!chromiumAvailable()) {
    t.diagnostic(`Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_BIN); only the page and its bundle were checked`);
    for (const path of ["/nats-bundle.js", "/page.js"]) {
      const res = await fetch(`${page.origin}${path}`);
      assert.equal(res.status, 200);
      const source = await res.text();
      assert.doesNotThrow(() => new Script(source, { filename: path }), `${path} parses`);
    }
    return;
  }

  const w = await startWsWorld(t, { lines: [`plugin.choria.network.aaa_leafnode.websocket_allowed_origins = ${page.origin}`] });
  const pki = await getPki();
  const expected = `hello browser ${randomBytes(6).toString("hex")}`;
  const tls = await w.tlsClient(w.token(["test.>"]), { name: "browser-peer" });
  let userAgent = "";
  tls.subscribe("test.browser.ready", {
    callback: (_e, m) => {
      userAgent = dec.decode(m.data);
      tls.publish("test.browser.message", enc.encode(expected));
    },
  });
  await tls.flush();

  const fragment = new URLSearchParams({
    ws: w.wsUrl,
    token: w.token(["test.>"]),
    seed: w.tokens.user.seedHex,
    subject: "test.browser.message",
    ready: "test.browser.ready",
  });
  const { dom, stderr } = await dumpDom(`${page.origin}/#${fragment.toString()}`, spkiHash(pki.gateway.cert), 90_000);
  const result = await page.result;
  assert.deepEqual(result, { ok: true, received: expected }, `page result; chromium stderr:\n${stderr}`);
  assert.match(dom, new RegExp(`<p id="received">${expected}</p>`));
  assert.match(dom, /<p id="status">received<\/p>/);
  assert.match(userAgent, /Chrome\//, "the ready message came from the browser");
  const wsAuth = w.g.audit.lines.filter((l) => l.includes('"websocket"') && l.includes("up=alice"));
  assert.ok(wsAuth.length >= 1, "the audit log has the browser's WebSocket login");
});
