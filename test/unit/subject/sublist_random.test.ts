/**
 * Randomized check of the Sublist (cache on, and a tiny cache that evicts all
 * the time) against a brute-force model: the list of live entries filtered
 * with subjectMatches. Random wildcard/literal/queue inserts and removes are
 * interleaved with matches so that stale cache entries would be caught. The
 * PRNG is seeded, so a failure names a seed that reproduces it.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { subjectMatches } from "../../../src/subject/subject.js";
import { Sublist, type MatchResult, type SublistEntry } from "../../../src/subject/sublist.js";

interface Sub extends SublistEntry {
  readonly id: number;
}

/** mulberry32: small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LITERAL_TOKENS = ["a", "b", "c", "dd"];

function randomLiteral(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 4);
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) tokens.push(LITERAL_TOKENS[Math.floor(rnd() * LITERAL_TOKENS.length)]!);
  return tokens.join(".");
}

function randomPattern(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 4);
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (i === n - 1 && r < 0.15) tokens.push(">");
    else if (r < 0.35) tokens.push("*");
    else tokens.push(LITERAL_TOKENS[Math.floor(rnd() * LITERAL_TOKENS.length)]!);
  }
  return tokens.join(".");
}

function canonical(r: MatchResult<Sub>): string {
  const p = r.psubs.map((s) => s.id).sort((x, y) => x - y);
  const q = r.qsubs
    .map((g) => {
      const queues = new Set(g.map((s) => s.queue));
      assert.equal(queues.size, 1, "a queue group holds one queue name");
      return `${g[0]!.queue}:${g.map((s) => s.id).sort((x, y) => x - y).join(",")}`;
    })
    .sort();
  return JSON.stringify({ p, q });
}

function bruteForce(live: ReadonlySet<Sub>, literal: string): string {
  const p: number[] = [];
  const groups = new Map<string, number[]>();
  for (const s of live) {
    if (!subjectMatches(s.subject, literal)) continue;
    if (s.queue === undefined) p.push(s.id);
    else {
      const g = groups.get(s.queue) ?? [];
      g.push(s.id);
      groups.set(s.queue, g);
    }
  }
  const q = [...groups].map(([name, g]) => `${name}:${g.sort((x, y) => x - y).join(",")}`).sort();
  return JSON.stringify({ p: p.sort((x, y) => x - y), q });
}

function run(seed: number, cacheSize: number, steps: number): void {
  const rnd = prng(seed);
  const sl = new Sublist<Sub>({ cacheSize });
  const live = new Set<Sub>();
  let id = 0;
  for (let step = 0; step < steps; step++) {
    const r = rnd();
    if (r < 0.3) {
      const queue = rnd() < 0.3 ? ["q1", "q2"][Math.floor(rnd() * 2)] : undefined;
      const subject = rnd() < 0.5 ? randomPattern(rnd) : randomLiteral(rnd);
      const s: Sub = { subject, queue, id: id++ };
      sl.insert(s);
      live.add(s);
    } else if (r < 0.5 && live.size > 0) {
      const victims = [...live];
      const s = victims[Math.floor(rnd() * victims.length)]!;
      assert.equal(sl.remove(s), true, `seed ${seed} step ${step}: remove ${s.subject}`);
      live.delete(s);
    } else {
      const literal = randomLiteral(rnd);
      const where = `seed ${seed} step ${step}: match ${literal}`;
      const expected = bruteForce(live, literal);
      assert.equal(canonical(sl.match(literal)), expected, where);
      assert.equal(sl.hasInterest(literal), expected !== JSON.stringify({ p: [], q: [] }), where);
    }
    assert.equal(sl.count, live.size);
  }
  assert.deepEqual(
    [...sl.entries()].map((s) => s.id).sort((x, y) => x - y),
    [...live].map((s) => s.id).sort((x, y) => x - y),
  );
}

describe("Sublist vs brute force (random)", () => {
  for (const seed of [1, 2, 3, 42, 1337]) {
    test(`seed ${seed}, cache 1024`, () => run(seed, 1024, 3000));
    test(`seed ${seed}, cache 8 (constant eviction)`, () => run(seed, 8, 3000));
  }
});
