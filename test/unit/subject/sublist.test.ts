/**
 * Sublist behaviour: literals, `*`, `>`, queue groups, removal and count. Every
 * case runs twice, with the match cache on and with cacheSize 0 (the
 * TestX / TestXNoCache pairing nats-server uses), so a stale cache entry shows
 * up as a difference between the two runs.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_RESULT, Sublist, type MatchResult, type SublistEntry } from "../../../src/subject/sublist.js";

interface Sub extends SublistEntry {
  readonly id: string;
}

let nextId = 0;
function sub(subject: string, queue?: string): Sub {
  return { subject, queue, id: `${subject}${queue ? `/${queue}` : ""}#${nextId++}` };
}

/** Order-independent view: plain ids sorted, queue groups as sorted id lists sorted by first id. */
function view(r: MatchResult<Sub>): { p: string[]; q: string[][] } {
  const p = r.psubs.map((s) => s.id).sort();
  const q = r.qsubs.map((g) => g.map((s) => s.id).sort()).sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  return { p, q };
}

function ids(...subs: Sub[]): string[] {
  return subs.map((s) => s.id).sort();
}

function suite(name: string, cacheSize: number): void {
  const make = (): Sublist<Sub> => new Sublist<Sub>({ cacheSize });

  describe(name, () => {
    test("literal subjects match exactly", () => {
      const sl = make();
      const a = sub("foo.bar");
      const b = sub("foo.baz");
      const c = sub("foo");
      for (const s of [a, b, c]) sl.insert(s);
      assert.equal(sl.count, 3);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(a), q: [] });
      assert.deepEqual(view(sl.match("foo")), { p: ids(c), q: [] });
      assert.equal(sl.match("foo.bar.baz"), EMPTY_RESULT);
      assert.equal(sl.match("Foo.bar"), EMPTY_RESULT, "case-sensitive");
      assert.equal(sl.hasInterest("foo.baz"), true);
      assert.equal(sl.hasInterest("foo.qux"), false);
    });

    test("a miss returns the shared frozen EMPTY_RESULT", () => {
      const sl = make();
      sl.insert(sub("a.b"));
      const r = sl.match("x.y");
      assert.equal(r, EMPTY_RESULT);
      assert.equal(sl.match("x.y"), EMPTY_RESULT);
      assert.ok(Object.isFrozen(EMPTY_RESULT) && Object.isFrozen(EMPTY_RESULT.psubs));
      assert.equal(sl.match(""), EMPTY_RESULT, "an empty subject matches nothing, not even >");
    });

    test("subjects with empty tokens match nothing, as in nats-server", () => {
      const sl = make();
      sl.insert(sub(">"));
      sl.insert(sub("a.*"));
      sl.insert(sub("a.>"));
      for (const bad of ["", ".", "a.", ".a", "a..b", "a.b."]) {
        assert.equal(sl.match(bad), EMPTY_RESULT, JSON.stringify(bad));
        assert.equal(sl.hasInterest(bad), false, JSON.stringify(bad));
      }
      assert.equal(sl.match("a.b").psubs.length, 3);
    });

    test("* matches exactly one token", () => {
      const sl = make();
      const star = sub("foo.*");
      const mid = sub("foo.*.baz");
      const first = sub("*.bar");
      for (const s of [star, mid, first]) sl.insert(s);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(star, first), q: [] });
      assert.deepEqual(view(sl.match("foo.x.baz")), { p: ids(mid), q: [] });
      assert.equal(sl.match("foo"), EMPTY_RESULT);
      assert.equal(sl.match("foo.x.y"), EMPTY_RESULT);
      assert.equal(sl.hasInterest("foo.x.baz"), true);
      assert.equal(sl.hasInterest("foo.x.y"), false);
    });

    test("> matches one or more trailing tokens", () => {
      const sl = make();
      const all = sub(">");
      const foo = sub("foo.>");
      const starFwc = sub("*.bar.>");
      for (const s of [all, foo, starFwc]) sl.insert(s);
      assert.deepEqual(view(sl.match("foo")), { p: ids(all), q: [] });
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(all, foo), q: [] });
      assert.deepEqual(view(sl.match("foo.bar.baz.qux")), { p: ids(all, foo, starFwc), q: [] });
      assert.deepEqual(view(sl.match("x.bar.y")), { p: ids(all, starFwc), q: [] });
      assert.equal(sl.hasInterest("anything"), true);
    });

    test("literal tokens that look like wildcards are literal", () => {
      const sl = make();
      const lit = sub("foo*");
      const gtx = sub("foo.>x");
      sl.insert(lit);
      sl.insert(gtx);
      assert.deepEqual(view(sl.match("foo*")), { p: ids(lit), q: [] });
      assert.deepEqual(view(sl.match("foo.>x")), { p: ids(gtx), q: [] });
      assert.equal(sl.match("foox"), EMPTY_RESULT);
      assert.equal(sl.match("foo.bar"), EMPTY_RESULT);
    });

    test("queue members are grouped by queue name across patterns", () => {
      const sl = make();
      const q1a = sub("foo.bar", "q1");
      const q1b = sub("foo.*", "q1");
      const q1c = sub("foo.>", "q1");
      const q2a = sub("foo.bar", "q2");
      const plain = sub("foo.bar");
      for (const s of [q1a, q1b, q1c, q2a, plain]) sl.insert(s);
      assert.equal(sl.count, 5);
      const r = sl.match("foo.bar");
      assert.deepEqual(view(r), { p: ids(plain), q: [ids(q1a, q1b, q1c), ids(q2a)].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)) });
      assert.equal(r.qsubs.length, 2);
      for (const g of r.qsubs) assert.equal(new Set(g.map((s) => s.queue)).size, 1, "one queue per group");
      // Only the `>` member of q1 matches a deeper subject.
      assert.deepEqual(view(sl.match("foo.bar.baz")), { p: [], q: [ids(q1c)] });
    });

    test("multiple groups on one subject and queue-only interest", () => {
      const sl = make();
      const members = ["a", "b", "c"].flatMap((q) => [sub("svc.x", q), sub("svc.x", q)]);
      for (const s of members) sl.insert(s);
      const r = sl.match("svc.x");
      assert.equal(r.psubs.length, 0);
      assert.equal(r.qsubs.length, 3);
      for (const g of r.qsubs) assert.equal(g.length, 2);
      assert.equal(sl.hasInterest("svc.x"), true);
    });

    test("removal by identity, count and pruning", () => {
      const sl = make();
      const a1 = sub("foo.bar");
      const a2 = sub("foo.bar");
      const w = sub("foo.*");
      const q = sub("foo.bar", "q");
      for (const s of [a1, a2, w, q]) sl.insert(s);
      assert.equal(sl.count, 4);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(a1, a2, w), q: [ids(q)] });

      assert.equal(sl.remove(a1), true);
      assert.equal(sl.remove(a1), false, "second removal finds nothing");
      assert.equal(sl.remove({ ...a2 }), false, "an equal but different object is not removed");
      assert.equal(sl.count, 3);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(a2, w), q: [ids(q)] });

      assert.equal(sl.remove(q), true);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(a2, w), q: [] });
      assert.equal(sl.remove(w), true);
      assert.deepEqual(view(sl.match("foo.baz")), { p: [], q: [] });
      assert.equal(sl.match("foo.baz"), EMPTY_RESULT);
      assert.equal(sl.remove(a2), true);
      assert.equal(sl.count, 0);
      assert.equal(sl.match("foo.bar"), EMPTY_RESULT);
      assert.equal(sl.hasInterest("foo.bar"), false);
      assert.equal(sl.remove(sub("never.inserted")), false);
      assert.equal(sl.remove(sub("foo.bar", "nope")), false);
      assert.deepEqual([...sl.entries()], []);
    });

    test("pruning keeps sibling branches intact", () => {
      const sl = make();
      const deep = sub("a.b.c.d");
      const shallow = sub("a.b");
      const sibling = sub("a.x.c.d");
      for (const s of [deep, shallow, sibling]) sl.insert(s);
      assert.equal(sl.remove(deep), true);
      assert.deepEqual(view(sl.match("a.b")), { p: ids(shallow), q: [] });
      assert.deepEqual(view(sl.match("a.x.c.d")), { p: ids(sibling), q: [] });
      assert.equal(sl.match("a.b.c.d"), EMPTY_RESULT);
      sl.insert(deep);
      assert.deepEqual(view(sl.match("a.b.c.d")), { p: ids(deep), q: [] });
    });

    test("inserting the same object twice keeps one copy", () => {
      const sl = make();
      const a = sub("foo");
      const q = sub("foo", "g");
      sl.insert(a);
      sl.insert(a);
      sl.insert(q);
      sl.insert(q);
      assert.equal(sl.count, 2);
      assert.deepEqual(view(sl.match("foo")), { p: ids(a), q: [ids(q)] });
    });

    test("entries() yields every stored entry once", () => {
      const sl = make();
      const all = [sub("a"), sub("a.b"), sub("a.*"), sub("a.>"), sub(">"), sub("a.b", "q"), sub("*.b", "q")];
      for (const s of all) sl.insert(s);
      assert.deepEqual([...sl.entries()].map((s) => s.id).sort(), ids(...all));
    });

    test("wildcard insert and remove are seen by earlier-matched literals", () => {
      const sl = make();
      const lit = sub("foo.bar");
      sl.insert(lit);
      // Warm the cache (when on) for several literals, including misses.
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(lit), q: [] });
      assert.equal(sl.match("foo.baz"), EMPTY_RESULT);
      assert.equal(sl.match("other"), EMPTY_RESULT);
      assert.equal(sl.hasInterest("foo.baz"), false);

      const star = sub("foo.*");
      sl.insert(star);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(lit, star), q: [] });
      assert.deepEqual(view(sl.match("foo.baz")), { p: ids(star), q: [] });
      assert.equal(sl.hasInterest("foo.baz"), true);
      assert.equal(sl.match("other"), EMPTY_RESULT);

      const fwc = sub(">", "q");
      sl.insert(fwc);
      assert.deepEqual(view(sl.match("other")), { p: [], q: [ids(fwc)] });
      assert.deepEqual(view(sl.match("foo.baz")), { p: ids(star), q: [ids(fwc)] });

      sl.remove(star);
      assert.deepEqual(view(sl.match("foo.baz")), { p: [], q: [ids(fwc)] });
      sl.remove(fwc);
      assert.equal(sl.match("foo.baz"), EMPTY_RESULT);
      assert.equal(sl.hasInterest("other"), false);
      assert.deepEqual(view(sl.match("foo.bar")), { p: ids(lit), q: [] });
    });

    test("a result already handed out is not changed by later inserts or removes", () => {
      const sl = make();
      const a = sub("foo.bar");
      const q = sub("foo.bar", "g");
      sl.insert(a);
      sl.insert(q);
      const before = sl.match("foo.bar");
      const snapshot = view(before);
      sl.insert(sub("foo.*"));
      sl.insert(sub("foo.bar", "g"));
      sl.remove(a);
      assert.deepEqual(view(before), snapshot);
      assert.ok(Object.isFrozen(before) && Object.isFrozen(before.psubs) && Object.isFrozen(before.qsubs[0]));
      assert.notDeepEqual(view(sl.match("foo.bar")), snapshot);
    });
  });
}

suite("Sublist (cache on)", 1024);
suite("Sublist (no cache)", 0);

describe("Sublist match cache", () => {
  test("stays within its bound and evicts the oldest entry", () => {
    const sl = new Sublist<Sub>({ cacheSize: 4 });
    const s = sub("k.*");
    sl.insert(s);
    const first = sl.match("k.0");
    for (let i = 1; i < 10; i++) sl.match(`k.${i}`);
    assert.equal(sl.cachedCount, 4);
    assert.notEqual(sl.match("k.0"), first, "k.0 was evicted and rebuilt");
    const hot = sl.match("k.0");
    assert.equal(sl.match("k.0"), hot, "a hit returns the cached object");
  });

  test("cacheSize 0 caches nothing", () => {
    const sl = new Sublist<Sub>({ cacheSize: 0 });
    sl.insert(sub("a"));
    const r1 = sl.match("a");
    assert.notEqual(sl.match("a"), r1);
    assert.equal(sl.cachedCount, 0);
  });

  test("a literal insert drops only its own cached entry", () => {
    const sl = new Sublist<Sub>({ cacheSize: 16 });
    sl.insert(sub("x.*"));
    const other = sl.match("x.b");
    sl.match("x.a");
    sl.insert(sub("x.a"));
    assert.equal(sl.match("x.b"), other, "unrelated literal kept its cached result");
    assert.equal(sl.match("x.a").psubs.length, 2);
  });

  test("the cache is bounded by the bytes of its subjects, not only by entries", () => {
    const sl = new Sublist<Sub>({ cacheSize: 1024, cacheBytes: 64 * 1024 });
    const long = "a".repeat(4000);
    for (let i = 0; i < 1024; i++) sl.match(`${long}.${i}`);
    assert.ok(sl.cachedBytes <= 64 * 1024, String(sl.cachedBytes));
    assert.ok(sl.cachedCount <= 16, String(sl.cachedCount));
    // a subject longer than the whole byte bound is never cached
    sl.match("b".repeat(70 * 1024));
    assert.ok(sl.cachedBytes <= 64 * 1024);
  });

  test("a wildcard change empties the cache at once and later matches see it", () => {
    const sl = new Sublist<Sub>({ cacheSize: 1024 });
    const long = "p".repeat(4000);
    for (let i = 0; i < 1024; i++) assert.equal(sl.match(`${long}.${i}`), EMPTY_RESULT);
    assert.ok(sl.cachedCount > 0 && sl.cachedCount <= Math.ceil((256 * 1024) / 4000), `held back by the byte bound: ${sl.cachedCount}`);
    const wc = sub(`${long}.*`);
    sl.insert(wc);
    assert.equal(sl.cachedCount, 0);
    assert.deepEqual(sl.match(`${long}.5`).psubs, [wc]);
    sl.remove(wc);
    assert.equal(sl.cachedCount, 0);
    assert.equal(sl.match(`${long}.5`), EMPTY_RESULT);
    assert.equal(sl.cachedBytes, `${long}.5`.length);
  });

  test("a wildcard change over a full cache of 4 KB subjects costs the same as over an empty one (figure printed)", () => {
    const sl = new Sublist<Sub>({ cacheSize: 1024, cacheBytes: 8 * 1024 * 1024 });
    const long = `_INBOX.${"x".repeat(4000)}`;
    let ns = 0n;
    const rounds = 200;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < 1024; i++) sl.match(`${long}.${i}`);
      assert.equal(sl.cachedCount, 1024);
      const wc = sub(`${long}.*`);
      const t0 = process.hrtime.bigint();
      sl.insert(wc);
      sl.remove(wc);
      ns += process.hrtime.bigint() - t0;
      assert.equal(sl.cachedCount, 0);
    }
    console.log(`[figures] wildcard insert/remove over 1024 cached 4 KB subjects: ${(Number(ns) / 1e3 / (2 * rounds)).toFixed(1)} us per change`);
  });
});
