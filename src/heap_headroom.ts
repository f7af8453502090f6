/**
 * Keeps V8's old-generation limit at least HEADROOM_BYTES above the live heap
 * while that heap is small (docs/performance.md, "Full collections set off by
 * read buffers").
 *
 * Why: every TLS read hands JavaScript a fresh buffer whose bytes live outside
 * the heap. V8 (Node 20's 11.3) counts those bytes, as they pile up between
 * full collections, against the old generation's limit, and starts marking
 * once what is left of that limit is smaller than the young generation. With
 * a live heap of about 22 MiB the limit sits about 45 MiB, so a few MiB of
 * hub-link reads set off a full collection: three per 100,000 replies, each
 * marking the whole heap. nats-server has no such coupling: Go's collector
 * paces on the Go heap alone.
 *
 * How: after each full collection the heap in use is about the live heap; the
 * growing factor is set so the next limit is that plus HEADROOM_BYTES, up to
 * V8's own largest factor (4). From a live heap of HEADROOM_BYTES up, V8 picks
 * the factor itself again. An operator who passes `--heap-growing-percent`
 * keeps their value: nothing is changed.
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { PerformanceObserver, constants } from "node:perf_hooks";
import type { Logger } from "./obs/log.js";

/** The room above the live heap V8 should leave before it marks again. */
export const HEADROOM_BYTES = 64 * 1024 * 1024;
/** V8's largest dynamic growing factor is 4: never ask for more. */
const MAX_PERCENT = 300;
/** Changes smaller than this are not worth a flag write. */
const STEP_PERCENT = 10;
const FLAG = "--heap-growing-percent";

/**
 * The `--heap-growing-percent` for a live heap of `live` bytes: enough that
 * live × (1 + percent/100) ≥ live + headroom, rounded up to STEP_PERCENT and
 * capped at MAX_PERCENT; 0 (V8 decides) once the live heap is the headroom or more.
 */
export function growingPercentFor(live: number, headroom = HEADROOM_BYTES): number {
  if (live >= headroom) return 0;
  if (!(live > 0)) return MAX_PERCENT; // nothing measured (0 or NaN): the most room
  const wanted = Math.ceil((100 * headroom) / live / STEP_PERCENT) * STEP_PERCENT;
  return Math.min(wanted, MAX_PERCENT);
}

/**
 * Whether the operator chose the growing factor on node's command line (the
 * only place it can be: node refuses it in NODE_OPTIONS), in either spelling.
 */
export function operatorSetsGrowingFactor(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
}

export interface HeapHeadroom {
  /** The percent last set; 0 when V8 decides (also when the operator set it). */
  readonly percent: number;
  /** Whether this process tunes the factor (false when the operator set it). */
  readonly active: boolean;
  stop(): void;
}

/**
 * Start keeping the headroom for this process: sets the factor for the heap
 * now in use, then again after every full collection.
 */
export function startHeapHeadroom(
  opts: { headroom?: number; execArgv?: readonly string[]; log?: Logger } = {},
): HeapHeadroom {
  const headroom = opts.headroom ?? HEADROOM_BYTES;
  if (operatorSetsGrowingFactor(opts.execArgv)) {
    opts.log?.info("heap growing factor left as given on the command line", { flag: FLAG });
    return { percent: 0, active: false, stop: () => {} };
  }
  let percent = -1;
  const apply = (): void => {
    const next = growingPercentFor(getHeapStatistics().used_heap_size, headroom);
    if (next === percent) return;
    percent = next;
    setFlagsFromString(`${FLAG}=${next}`);
    opts.log?.debug("heap growing factor set", { growingPercent: next, headroomMiB: headroom / 1048576 });
  };
  apply();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        apply();
        return;
      }
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    get percent() {
      return percent;
    },
    active: true,
    stop: () => observer.disconnect(),
  };
}
