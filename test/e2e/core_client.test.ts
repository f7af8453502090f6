// The official NATS JS client against the embedded broker over
// anonymous TLS, through the explicitly named development authenticator:
// pub/sub, wildcards, queue groups, request/reply, headers, no responders,
// drain, auto-unsubscribe after max.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { getPki, type Pki } from "../helpers/pki.js";
import { startGateway, natsConnect, type TestGateway } from "../helpers/gateway.js";
import { waitFor } from "../helpers/hub.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("embedded broker with the official NATS client", () => {
  let pki: Pki;
  let g: TestGateway;
  const conns: NatsConnection[] = [];
  const client = async (name: string) => {
    const nc = await natsConnect(g.url, pki, { name, user: name });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    pki = await getPki();
    g = await startGateway(pki, [], { development: true });
  });
  after(async () => {
    for (const nc of conns) await nc.close().catch(() => {});
    await g.stop();
  });

  test("INFO over TLS, connect and PING round trip", async () => {
    const nc = await client("ping");
    const rtt = await nc.rtt();
    assert.ok(rtt >= 0);
    assert.equal(nc.info?.tls_required, true);
    assert.equal(nc.info?.headers, true);
    assert.equal(nc.info?.auth_required, true);
    assert.match(String(nc.info?.nonce), /^[A-Za-z0-9_-]{15}$/);
  });

  test("publish / subscribe between two clients, with * and > wildcards", async () => {
    const a = await client("a");
    const b = await client("b");
    const literal = b.subscribe("orders.eu.new");
    const star = b.subscribe("orders.*.new");
    const full = b.subscribe("orders.eu.new.>");
    await b.flush();
    a.publish("orders.eu.new", enc.encode("one"));
    a.publish("orders.us.new", enc.encode("two"));
    a.publish("orders.eu.new.priority.high", enc.encode("three"));
    a.publish("orders.eu.old", enc.encode("none"));
    await a.flush();
    const take = async (sub: typeof literal, n: number) => {
      const got: string[] = [];
      for await (const m of sub) {
        got.push(`${m.subject}=${dec.decode(m.data)}`);
        if (got.length === n) break;
      }
      return got;
    };
    assert.deepEqual(await take(literal, 1), ["orders.eu.new=one"]);
    assert.deepEqual(await take(star, 2), ["orders.eu.new=one", "orders.us.new=two"]);
    assert.deepEqual(await take(full, 1), ["orders.eu.new.priority.high=three"]);
  });

  test("queue group members share the messages, plain subscribers get all", async () => {
    const pub = await client("qpub");
    const members = [await client("q1"), await client("q2"), await client("q3")];
    const counts = [0, 0, 0];
    members.forEach((nc, i) => nc.subscribe("jobs", { queue: "workers", callback: () => void counts[i]!++ }));
    let plain = 0;
    const watcher = await client("watch");
    watcher.subscribe("jobs", { callback: () => void plain++ });
    for (const nc of [...members, watcher]) await nc.flush();
    for (let i = 0; i < 300; i++) pub.publish("jobs", enc.encode(String(i)));
    await pub.flush();
    await waitFor("all deliveries", () => (plain === 300 && counts.reduce((a, b) => a + b) === 300 ? true : undefined));
    for (const c of counts) assert.ok(c > 30, `every member gets a share: ${counts}`);
  });

  test("request / reply and headers both ways", async () => {
    const svc = await client("svc");
    const req = await client("req");
    svc.subscribe("svc.echo", {
      callback: (_e, m) => {
        const h = natsHeaders();
        h.set("X-Seen", m.headers?.get("X-Ask") ?? "none");
        m.respond(enc.encode(`echo:${dec.decode(m.data)}`), { headers: h });
      },
    });
    await svc.flush();
    const h = natsHeaders();
    h.set("X-Ask", "42");
    const r = await req.request("svc.echo", enc.encode("hi"), { timeout: 3000, headers: h });
    assert.equal(dec.decode(r.data), "echo:hi");
    assert.equal(r.headers?.get("X-Seen"), "42");
  });

  test("a request nobody listens to fails fast with no responders", async () => {
    const req = await client("nr");
    const started = Date.now();
    await assert.rejects(req.request("nobody.home", enc.encode("?"), { timeout: 4000 }), (err: Error) => {
      return /no responders/i.test(err.message) || (err as { code?: string }).code === "503";
    });
    assert.ok(Date.now() - started < 3000, "no-responders status arrives before the timeout");
  });

  test("unsubscribe after max, and drain delivers what was in flight", async () => {
    const pub = await client("mpub");
    const sub = await client("msub");
    const s = sub.subscribe("limited", { max: 3 });
    await sub.flush();
    for (let i = 0; i < 10; i++) pub.publish("limited", enc.encode(String(i)));
    await pub.flush();
    const got: string[] = [];
    for await (const m of s) got.push(dec.decode(m.data));
    assert.deepEqual(got, ["0", "1", "2"]);

    const drainer = await client("drainer");
    let received = 0;
    drainer.subscribe("drain.me", { callback: () => void received++ });
    await drainer.flush();
    for (let i = 0; i < 100; i++) pub.publish("drain.me", enc.encode("x"));
    await pub.flush();
    await waitFor("some delivered", () => (received > 0 ? true : undefined));
    await drainer.drain();
    assert.equal(received, 100);
    assert.ok(drainer.isClosed());
  });

  test("echo false keeps a client's own messages from itself", async () => {
    const nc = await client("noecho");
    const quiet = await natsConnect(g.url, pki, { user: "quiet", noEcho: true });
    conns.push(quiet);
    let self = 0;
    let other = 0;
    quiet.subscribe("echo.test", { callback: () => void self++ });
    nc.subscribe("echo.test", { callback: () => void other++ });
    await quiet.flush();
    await nc.flush();
    quiet.publish("echo.test", enc.encode("x"));
    await quiet.flush();
    await waitFor("other received", () => (other === 1 ? true : undefined));
    await quiet.flush();
    assert.equal(self, 0);
  });
});
