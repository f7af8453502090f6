/**
 * Micro-benchmark of the Sublist: 10,000 subscriptions (literals, `*`, `>`,
 * queue groups, inbox wildcards) matched against a hot set of literal subjects
 * that stays in the match cache, and against a set that never hits it. It also
 * measures wildcard insert/remove with a full cache, the cost of the
 * invalidation scan. Run directly (`node build/bench/sublist_bench.js`) to print figures.
 */

import { pathToFileURL } from "node:url";
import { Sublist, type SublistEntry } from "../src/subject/sublist.js";

interface BenchSub extends SublistEntry {
  readonly n: number;
}

const SUBSCRIPTIONS = 10_000;
const BUDGET_MS = 300;

function subscriptionFor(i: number): BenchSub {
  const app = i % 500;
  switch (i % 10) {
    case 6:
      return { subject: `app.${app}.*.${i}`, queue: undefined, n: i };
    case 7:
      return { subject: `app.${app}.>`, queue: undefined, n: i };
    case 8:
      return { subject: `svc.${i % 200}.req`, queue: `q${i % 4}`, n: i };
    case 9:
      return { subject: `_INBOX.${i}.*`, queue: undefined, n: i };
    default:
      return { subject: `app.${app}.ev.${i}`, queue: undefined, n: i };
  }
}

function populate(sl: Sublist<BenchSub>): void {
  for (let i = 0; i < SUBSCRIPTIONS; i++) sl.insert(subscriptionFor(i));
}

/** Literal subjects: mostly matching something, some with no interest at all. */
function literalSubjects(count: number, offset: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const i = (k * 7919 + offset) % SUBSCRIPTIONS;
    switch (k % 5) {
      case 0:
        out.push(`app.${i % 500}.ev.${i}`);
        break;
      case 1:
        out.push(`svc.${i % 200}.req`);
        break;
      case 2:
        out.push(`_INBOX.${i}.reply`);
        break;
      case 3:
        out.push(`app.${i % 500}.x.${i}`);
        break;
      default:
        out.push(`nobody.${i}.listens`);
    }
  }
  return out;
}

/** Matches per second over `subjects`, cycling until the time budget is spent. */
function measure(sl: Sublist<BenchSub>, subjects: readonly string[]): number {
  let sink = 0;
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let k = 0; k < subjects.length; k++) {
      const r = sl.match(subjects[k]!);
      sink += r.psubs.length + r.qsubs.length;
    }
    done += subjects.length;
    elapsed = performance.now() - start;
  }
  if (sink < 0) throw new Error("unreachable; keeps the loop observable");
  return Math.round((done * 1000) / elapsed);
}

export function runSublistBench(): { matchesPerSec: number; uncachedMatchesPerSec: number } {
  const cached = new Sublist<BenchSub>();
  populate(cached);
  const hot = literalSubjects(200, 1);
  measure(cached, hot); // warm the cache and the JIT
  const matchesPerSec = measure(cached, hot);

  const uncached = new Sublist<BenchSub>({ cacheSize: 0 });
  populate(uncached);
  const misses = literalSubjects(5000, 3);
  measure(uncached, misses);
  const uncachedMatchesPerSec = measure(uncached, misses);
  return { matchesPerSec, uncachedMatchesPerSec };
}

/** Wildcard insert+remove pairs per second while the cache is full (invalidation scan cost). */
export function runSublistChurnBench(): { wildcardChurnPerSec: number; cacheSize: number } {
  const sl = new Sublist<BenchSub>();
  populate(sl);
  for (const s of literalSubjects(2000, 5)) sl.match(s);
  const churn: BenchSub[] = [];
  for (let i = 0; i < 1000; i++) churn.push({ subject: `app.${i % 500}.*.extra`, queue: undefined, n: -i });
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (const s of churn) {
      sl.insert(s);
      sl.remove(s);
      // Refill the cache so every pair scans a full one.
      sl.match(`app.${s.n % 500}.y.${done % 97}`);
    }
    done += churn.length;
    elapsed = performance.now() - start;
  }
  return { wildcardChurnPerSec: Math.round((done * 1000) / elapsed), cacheSize: sl.cachedCount };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = runSublistBench();
  const c = runSublistChurnBench();
  console.log(`sublist: ${SUBSCRIPTIONS} subscriptions`);
  console.log(`  cached match:        ${r.matchesPerSec.toLocaleString("en-US")} /s`);
  console.log(`  uncached match:      ${r.uncachedMatchesPerSec.toLocaleString("en-US")} /s`);
  console.log(`  wildcard ins+rm (cache ${c.cacheSize}): ${c.wildcardChurnPerSec.toLocaleString("en-US")} pairs/s`);
}
