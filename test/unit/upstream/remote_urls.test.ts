/**
 * Remote URL parsing and rotation across configured and hub-advertised URLs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRemoteUrl, RemoteUrlList } from "../../../src/upstream/remote_urls.js";
import { ConfigError } from "../../../src/errors.js";

test("URL forms", () => {
  const table: [string, string, number, boolean][] = [
    ["tls://hub.example.net:7422", "hub.example.net", 7422, true],
    ["nats://10.0.0.1:4000", "10.0.0.1", 4000, false],
    ["nats-leaf://hub", "hub", 7422, false],
    ["hub.example.net:7500", "hub.example.net", 7500, false],
    ["tls://[::1]:7422", "::1", 7422, true],
  ];
  for (const [text, host, port, tls] of table) {
    const u = parseRemoteUrl(text);
    assert.deepEqual([u.host, u.port, u.tlsScheme], [host, port, tls], text);
  }
  assert.equal(parseRemoteUrl("tls://[::1]:7422").label, "[::1]:7422");
});

test("bad URLs are configuration errors", () => {
  for (const text of ["http://hub:80", "nats://:7422", "::::"]) {
    assert.throws(() => parseRemoteUrl(text), (e: unknown) => e instanceof ConfigError, text);
  }
  assert.throws(() => new RemoteUrlList([]), ConfigError);
});

test("rotation covers configured then discovered URLs, deduplicated", () => {
  const list = new RemoteUrlList(["tls://a:1", "tls://b:2", "tls://a:1"]);
  assert.equal(list.size, 2);
  assert.equal(list.addDiscovered(["b:2", "c:3", 42, "::bad::"], true), 1);
  const seen = [list.next(), list.next(), list.next(), list.next()].map((u) => u.label);
  assert.deepEqual(seen, ["a:1", "b:2", "c:3", "a:1"]);
  const c = list.all()[2]!;
  assert.equal(c.discovered, true);
  assert.equal(c.tlsScheme, true);
  list.preferNext(c);
  assert.equal(list.next().label, "c:3");
});
