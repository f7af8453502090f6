// Property tests of the JetStream isolation rules against a real hub: bodies
// spelled every way Go's encoding/json reads alike (keys in any case, with
// `ſ` or the Kelvin sign, `\u` escapes in keys and values, invalid UTF-8,
// lone surrogates, a key given twice, decoy text elsewhere in the body),
// under `$JS.API.` and under the hub's domain `$JS.hub.API.`. Whatever the
// gateway answers, what the hub then holds is asserted, not what the gateway
// said: no consumer that pushes anywhere but into the caller's own namespace
// or its granted subjects, no consumer whose filter reaches lifecycle events,
// no stream that captures lifecycle events or another caller's replies, and no
// message at the victim's or on lifecycle subjects.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { md5Hex } from "../../src/auth/reply_namespace.js";
import { subjectsIntersect } from "../../src/subject/subject.js";
import { startJsWorld, waitFor } from "./js_world.js";

const enc = (s: string) => new TextEncoder().encode(s);
const LIFECYCLE = "choria.lifecycle.>";
const VICTIM = `choria.reply.${md5Hex("up=alice")}`;
const OWN = `choria.reply.${md5Hex("up=mallory")}`;
/** A subject mallory's token lets it subscribe to, so a push consumer may deliver there. */
const GRANTED = "mallory.own";

/** A body as bytes: text parts (UTF-8) and raw bytes (for invalid UTF-8). */
type Part = string | Uint8Array;
const bytesOf = (parts: readonly Part[]): Uint8Array => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

/** One character of `s` written as a JSON `\u` escape. */
function escapeAt(s: string, i: number): string {
  return s.slice(0, i) + "\\u" + s.charCodeAt(i).toString(16).padStart(4, "0") + s.slice(i + 1);
}

/** Spellings of a struct field's key that Go's decoder matches to that field. */
function keySpellings(name: string): fc.Arbitrary<string> {
  const spellings = new Set([name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1)]);
  if (name.includes("s")) spellings.add(name.replace("s", "\u017f"));
  if (name.includes("k")) spellings.add(name.replace("k", "\u212a"));
  spellings.add(escapeAt(name, 0));
  spellings.add(escapeAt(name, name.length - 1));
  return fc.constantFrom(...spellings);
}

/** Deliver subjects, as JSON string contents (escapes allowed): ones the caller may use, and attacks. */
const deliverValue: fc.Arbitrary<Part[]> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom<Part[]>(["_INBOX.a.1"], ["\\u005fINBOX.a.2"], ["_INBOX\\u002ea.3"], [`${OWN}.mine`], [`${GRANTED}.x`], ["_INBOX.b.", new Uint8Array([0xff]), "x"]),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Part[]>(
      ["_inbox.a.4"], [`${VICTIM}.x`], [`${VICTIM}._INBOX.x`], [`choria.reply.${md5Hex("up=alice")}\\u002ex`],
      ["choria.lifecycle.event.alive.x"], ["choria\\u002elifecycle.event.x"], ["choria.lifecycle\\u002e>"],
      ["orders.x"], ["$JS.API.x"], [""], ["_INBOX.a\\ud800"], ["_INBOX.a\\ud800\\u002ex"], [`${VICTIM}\\udc00.x`],
      [`${VICTIM}.`, new Uint8Array([0xff]), "x"], ["choria.lifecycle.", new Uint8Array([0xff]), "x"],
    ),
  },
);

/** Filters, as JSON string contents; the hub's stream captures orders and lifecycle events. */
const filterValue = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("orders.>", "orders.new") },
  { weight: 1, arbitrary: fc.constantFrom("choria.lifecycle.>", "choria.lifecycle.event.*.x", ">", "choria.>", "choria\\u002elifecycle.>", "*.lifecycle.>") },
);

/** `arb` now and then, mostly nothing. */
const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** A JSON string literal from its contents. */
const str = (contents: Part[]): Part[] => ['"', ...contents, '"'];

interface ConsumerCase {
  api: string;
  body: Uint8Array;
}

/** Consumer-create requests: fields spelled any way, sometimes given twice, with decoys. */
const consumerCase: fc.Arbitrary<ConsumerCase> = fc
  .record({
    api: fc.constantFrom("$JS.API.", "$JS.hub.API."),
    configKey: keySpellings("config"),
    deliverKey: keySpellings("deliver_subject"),
    deliver: fc.option(deliverValue, { nil: undefined }),
    filterKey: keySpellings("filter_subject"),
    filter: fc.option(filterValue, { nil: undefined }),
    filtersKey: keySpellings("filter_subjects"),
    filters: sometimes(fc.array(filterValue, { minLength: 1, maxLength: 2 })),
    groupKey: keySpellings("deliver_group"),
    group: fc.option(fc.constantFrom("q", "_INBOX.q"), { nil: undefined }),
    decoy: fc.boolean(),
    again: sometimes(fc.record({ key: keySpellings("deliver_subject"), value: deliverValue })),
    configAgain: sometimes(fc.constant(true)),
    space: fc.constantFrom("", " ", "\n\t "),
  })
  .map((c): ConsumerCase => {
    const fields: Part[][] = [['"ack_policy":"none"']];
    if (c.decoy) fields.push([`"description":"_INBOX.a.1 ${VICTIM}.x"`]);
    if (c.deliver) fields.push(['"', c.deliverKey, '":', ...str(c.deliver)]);
    if (c.group) fields.push(['"', c.groupKey, `":"${c.group}"`]);
    if (c.filter) fields.push(['"', c.filterKey, `":"${c.filter}"`]);
    if (c.filters) fields.push(['"', c.filtersKey, '":[', c.filters.map((f) => `"${f}"`).join(","), "]"]);
    if (c.again) fields.push(['"', c.again.key, '":', ...str(c.again.value)]);
    const config: Part[] = ["{", ...fields.flatMap((f, i) => (i === 0 ? f : [",", c.space, ...f])), "}"];
    const parts: Part[] = ["{", c.space, '"stream_name":"EVENTS",', c.space, '"', c.configKey, '":', ...config];
    if (c.configAgain) parts.push(`,"config":{"ack_policy":"none","deliver_subject":"${VICTIM}.again"}`);
    parts.push(c.space, "}");
    return { api: c.api, body: bytesOf(parts) };
  });

interface StreamCase {
  api: string;
  name: string;
  body: Uint8Array;
}

/** Subjects a stream might be asked to capture (mallory is streams_admin). */
const capturedValue = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("fuzz.>", "fuzz.a", `${OWN}.>`, "orders.>") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `${VICTIM}.>`, "choria.reply.>", "choria.*.*.>", "choria.lifecycle.>", ">", "*.reply.>",
      "choria\\u002elifecycle.>", `${VICTIM}\\u002e>`, "choria.>", "*.lifecycle.event.>",
    ),
  },
);

let streamNo = 0;
/** Stream-create requests: subjects, mirror and sources spelled any way. */
const streamCase: fc.Arbitrary<StreamCase> = fc
  .record({
    api: fc.constantFrom("$JS.API.", "$JS.hub.API."),
    subjectsKey: keySpellings("subjects"),
    subjects: fc.array(capturedValue, { minLength: 1, maxLength: 3 }),
    sourceKey: keySpellings("sources"),
    filterKey: keySpellings("filter_subject"),
    source: fc.option(capturedValue, { nil: undefined }),
    subjectsAgain: sometimes(capturedValue),
  })
  .map((c): StreamCase => {
    const name = `F${++streamNo}`;
    const parts: Part[] = [`{"name":"${name}","storage":"memory","`, c.subjectsKey, '":[', c.subjects.map((s) => `"${s}"`).join(","), "]"];
    if (c.source) parts.push(',"', c.sourceKey, '":[{"name":"EVENTS","', c.filterKey, `":"${c.source}"}]`);
    if (c.subjectsAgain) parts.push(`,"subjects":["${c.subjectsAgain}"]`);
    parts.push("}");
    return { api: c.api, name, body: bytesOf(parts) };
  });

/** Everything the hub holds on `stream` that breaks the rules, as readable lines; the consumers are deleted. */
async function consumerViolations(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const ci of jsm.consumers.list(stream)) {
    const c = ci.config;
    const filters = [c.filter_subject, ...(c.filter_subjects ?? [])].filter((f): f is string => !!f);
    for (const f of filters) if (subjectsIntersect(f, LIFECYCLE)) out.push(`consumer ${ci.name} filter ${JSON.stringify(f)} reaches lifecycle events`);
    const ds = c.deliver_subject;
    if (ds && !ds.startsWith(`${OWN}.`) && !ds.startsWith(`${GRANTED}.`)) out.push(`consumer ${ci.name} pushes to ${JSON.stringify(ds)}`);
    await jsm.consumers.delete(stream, ci.name);
  }
  return out;
}

/** The fuzz streams the hub holds that capture what mallory may not capture; all are deleted, `held` counts them. */
async function streamViolations(jsm: JetStreamManager, held: { n: number }): Promise<string[]> {
  const out: string[] = [];
  for await (const si of jsm.streams.list()) {
    if (!si.config.name.startsWith("F")) continue;
    held.n++;
    const captured = [...(si.config.subjects ?? []), ...(si.config.sources ?? []).map((s) => s.filter_subject ?? ">")];
    for (const s of captured) {
      if (subjectsIntersect(s, LIFECYCLE) || subjectsIntersect(s, `${VICTIM}.>`)) out.push(`stream ${si.config.name} captures ${JSON.stringify(s)}`);
    }
    await jsm.streams.delete(si.config.name);
  }
  return out;
}

/** Send `body` to `subject` as mallory; the answer (hub JSON or a refusal) does not matter here. */
async function attempt(nc: NatsConnection, subject: string, body: Uint8Array): Promise<void> {
  await nc.request(subject, body, { timeout: 3000 }).catch(() => undefined);
}

test("JetStream bodies spelled any way Go reads them: the hub never holds a consumer or stream outside the caller's rights", { timeout: 240_000 }, async (t) => {
  const w = await startJsWorld(t, { hub: { jetstream: { domain: "hub" } } });
  const hub = await w.hubClient();
  const hjsm = await jetstreamManager(hub);
  // An operator's stream made on the hub: it holds a lifecycle event (first) and an order (second),
  // so a consumer that pushes both has sent the event by the time the order arrives.
  await hjsm.streams.add({ name: "EVENTS", subjects: ["orders.>", "choria.lifecycle.>"] });
  await hub.request("choria.lifecycle.event.alive.x", enc("alive"), { timeout: 5000 }).catch(() => undefined);
  await hub.request("orders.new", enc("order"), { timeout: 5000 }).catch(() => undefined);
  assert.equal((await hjsm.streams.info("EVENTS")).state.messages, 2);

  let leaked = 0;
  const watch = [hub.subscribe(`${VICTIM}.>`, { callback: () => void leaked++ }), hub.subscribe(LIFECYCLE, { callback: () => void leaked++ })];
  await hub.flush();

  const mallory = w.caller("up=mallory", { streams_admin: true, streams_user: true }, { subSubjects: [`${GRANTED}.>`, "orders.>"] });
  const nc = await w.connect(mallory, "plain-inbox");
  // Everything mallory can receive, on a second connection: no stored lifecycle event may ever arrive.
  const seen = { alive: 0, order: 0 };
  const watcher = await w.connect(mallory, "plain-inbox");
  // nats-server pushes only to a literal subscription of the deliver subject, so the last consumer's has one.
  for (const subject of ["_INBOX.>", `${OWN}.>`, `${GRANTED}.>`, `${GRANTED}.last`]) {
    watcher.subscribe(subject, { callback: (_err, m) => {
      const text = new TextDecoder().decode(m.data);
      if (text === "alive") seen.alive++;
      else if (text === "order") seen.order++;
    } });
  }
  await watcher.flush();
  // Both spellings of the API reach the hub: a plain, allowed consumer is made through each.
  for (const [i, api] of ["$JS.API.", "$JS.hub.API."].entries()) {
    const r = await nc.request(`${api}CONSUMER.CREATE.EVENTS`, enc(`{"stream_name":"EVENTS","config":{"deliver_subject":"_INBOX.ok${i}","filter_subject":"orders.>","ack_policy":"none"}}`), { timeout: 5000 });
    assert.equal(JSON.parse(new TextDecoder().decode(r.data)).error, undefined, api);
  }
  const made = [];
  for await (const ci of hjsm.consumers.list("EVENTS")) made.push(ci.config.deliver_subject);
  assert.deepEqual(made.sort(), [`${OWN}._INBOX.ok0`, `${OWN}._INBOX.ok1`], "the probe consumers push into mallory's namespace");
  assert.deepEqual(await consumerViolations(hjsm, "EVENTS"), []);

  let accepted = 0;
  const streams = { n: 0 };
  await fc.assert(
    fc.asyncProperty(consumerCase, async (c) => {
      await attempt(nc, `${c.api}CONSUMER.CREATE.EVENTS`, c.body);
      let held = 0;
      for await (const _ of hjsm.consumers.list("EVENTS")) held++;
      accepted += held;
      assert.deepEqual(await consumerViolations(hjsm, "EVENTS"), [], Buffer.from(c.body).toString("latin1"));
    }),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(streamCase, async (c) => {
      await attempt(nc, `${c.api}STREAM.CREATE.${c.name}`, c.body);
      assert.deepEqual(await streamViolations(hjsm, streams), [], Buffer.from(c.body).toString("latin1"));
    }),
    { numRuns: 100 },
  );
  // A last consumer without a filter pushes both stored messages to mallory; once the order
  // (stored second) is in, the lifecycle event (stored first) has been judged.
  const before = seen.order;
  const last = await nc.request("$JS.API.CONSUMER.CREATE.EVENTS", enc(`{"stream_name":"EVENTS","config":{"deliver_subject":"${GRANTED}.last","ack_policy":"none"}}`), { timeout: 5000 });
  assert.equal(JSON.parse(new TextDecoder().decode(last.data)).error, undefined);
  await waitFor("the order pushed to mallory", () => seen.order > before || undefined, 20_000);
  await hub.flush();
  assert.equal(seen.alive, 0, "no stored lifecycle event reached mallory");
  assert.equal(leaked, 0, "nothing reached the victim's namespace or a lifecycle subscriber");
  // The property ran over bodies the hub accepted, not only over refusals.
  assert.ok(accepted > 0, "some generated consumers were allowed and made on the hub");
  assert.ok(streams.n > 0, "some generated streams were allowed and made on the hub");
  for (const s of watch) s.unsubscribe();
});
