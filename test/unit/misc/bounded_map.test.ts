// BoundedMap: the bounds hold, the right entry goes first (fifo or lru),
// long keys are never held, and a property against a plain reference model.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BoundedMap } from "../../../src/bounded_map.js";

test("fifo: past the entry bound the oldest inserted goes, whatever was read", () => {
  const m = new BoundedMap<number>({ entries: 3 });
  m.set("a", 1);
  m.set("b", 2);
  m.set("c", 3);
  assert.equal(m.get("a"), 1); // a hit does not renew a fifo entry
  m.set("d", 4);
  assert.equal(m.get("a"), undefined);
  assert.deepEqual(["b", "c", "d"].map((k) => m.get(k)), [2, 3, 4]);
  assert.equal(m.size, 3);
});

test("lru: a hit renews the entry, so the least recently used goes", () => {
  const m = new BoundedMap<number>({ entries: 3, order: "lru" });
  m.set("a", 1);
  m.set("b", 2);
  m.set("c", 3);
  assert.equal(m.get("a"), 1);
  m.set("d", 4);
  assert.equal(m.get("b"), undefined);
  assert.deepEqual(["a", "c", "d"].map((k) => m.get(k)), [1, 3, 4]);
});

test("key characters are bounded together, and a key longer than its room is never held", () => {
  const m = new BoundedMap<string>({ entries: 100, keyChars: 10, keyLength: 6 });
  m.set("aaaa", "1");
  m.set("bbbb", "2");
  assert.equal(m.keyChars, 8);
  m.set("cccc", "3"); // 12 > 10: the oldest goes
  assert.equal(m.get("aaaa"), undefined);
  assert.equal(m.keyChars, 8);
  m.set("ddddddd", "long"); // over keyLength: not held, nothing evicted
  assert.equal(m.get("ddddddd"), undefined);
  assert.equal(m.size, 2);
  // Replacing a key does not count it twice.
  m.set("cccc", "3b");
  assert.equal(m.keyChars, 8);
  assert.equal(m.get("cccc"), "3b");
});

test("delete and clear keep the books; 0 entries holds nothing", () => {
  const m = new BoundedMap<number>({ entries: 4, keyChars: 100 });
  m.set("ab", 1);
  m.set("cde", 2);
  assert.equal(m.delete("ab"), true);
  assert.equal(m.delete("ab"), false);
  assert.equal(m.keyChars, 3);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(m.keyChars, 0);
  const none = new BoundedMap<number>({ entries: 0 });
  none.set("x", 1);
  assert.equal(none.get("x"), undefined);
  assert.equal(none.size, 0);
});

test("property: the same answers as an unbounded model that drops entries the same way", () => {
  const key = fc.string({ unit: fc.constantFrom("a", "b", "c", "d"), maxLength: 5 });
  const op = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), key, value: fc.nat() }),
    fc.record({ kind: fc.constant("get" as const), key }),
    fc.record({ kind: fc.constant("delete" as const), key }),
    fc.record({ kind: fc.constant("clear" as const) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.array(op, { maxLength: 80 }),
      (entries, keyChars, keyLength, lru, ops) => {
        const m = new BoundedMap<number>({ entries, keyChars, keyLength, order: lru ? "lru" : "fifo" });
        const maxKey = Math.min(keyLength, keyChars);
        // The model: an array of [key, value], oldest first.
        let model: [string, number][] = [];
        const chars = () => model.reduce((n, [k]) => n + k.length, 0);
        for (const o of ops) {
          if (o.kind === "set") {
            if (entries === 0 || o.key.length > maxKey) {
              m.set(o.key, o.value);
            } else {
              m.set(o.key, o.value);
              model = model.filter(([k]) => k !== o.key);
              model.push([o.key, o.value]);
              while (model.length > entries || chars() > keyChars) model.shift();
            }
          } else if (o.kind === "get") {
            const i = model.findIndex(([k]) => k === o.key);
            assert.equal(m.get(o.key), i < 0 ? undefined : model[i]![1]);
            if (i >= 0 && lru) model.push(...model.splice(i, 1));
          } else if (o.kind === "delete") {
            const had = model.some(([k]) => k === o.key);
            assert.equal(m.delete(o.key), had);
            model = model.filter(([k]) => k !== o.key);
          } else {
            m.clear();
            model = [];
          }
          assert.equal(m.size, model.length);
          assert.equal(m.keyChars, chars());
          assert.ok(m.size <= entries && m.keyChars <= keyChars);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("no character bound by default, with Infinity or NaN; fractional bounds act as whole ones", () => {
  const long = "k".repeat(100_000);
  for (const limits of [{ entries: 3 }, { entries: 3, keyChars: Number.POSITIVE_INFINITY, keyLength: Number.POSITIVE_INFINITY }, { entries: 3, keyChars: Number.NaN }]) {
    const m = new BoundedMap<number>(limits);
    m.set(long, 1);
    m.set(`${long}2`, 2);
    assert.equal(m.get(long), 1, JSON.stringify(limits));
    assert.equal(m.keyChars, 200_001);
  }
  const frac = new BoundedMap<number>({ entries: 10, keyChars: 5.5, keyLength: 2.5 });
  frac.set("abc", 1); // 3 > 2.5: not held
  frac.set("ab", 2);
  frac.set("cd", 3);
  frac.set("ef", 4); // 6 > 5.5: "ab" goes
  assert.deepEqual([frac.get("abc"), frac.get("ab"), frac.get("cd"), frac.get("ef")], [undefined, undefined, 3, 4]);
});
