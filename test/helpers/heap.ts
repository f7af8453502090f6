/**
 * Heap figures for memory-bound tests: V8's gc() made callable at run time
 * (no --expose-gc on the command line), and the heap in use after two full
 * collections, so what is measured is what is still referenced.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Heap bytes in use after two full GCs. */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
