/**
 * One flush per event-loop turn for every batching writer (client outbound
 * buffers and hub links alike), as nats-server flushes its pending
 * connections once per read loop. The first write since a writer's last
 * flush puts it on one process-wide list; one setImmediate, after all of the
 * turn's I/O callbacks, flushes each listed writer once. Everything a turn
 * produces for one socket therefore leaves as one write: one TLS write
 * instead of one per decoded record, and for TLS no native copy that joins
 * several pending writes.
 */

export interface TurnFlushed {
  /** Called once in the turn's flush if the writer was listed (it may have flushed meanwhile). */
  flushTurn(): void;
}

/** Writers listed for this turn; `spare` is the previous turn's list, reused. */
let waiting: TurnFlushed[] = [];
let spare: TurnFlushed[] = [];
let turnScheduled = false;

function flushWaiting(): void {
  turnScheduled = false;
  const list = waiting;
  waiting = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flushTurn();
  list.length = 0;
  spare = list;
}

/** List `w` for this turn's flush. The caller lists each writer at most once per flush (it keeps its own flag). */
export function flushThisTurn(w: TurnFlushed): void {
  waiting.push(w);
  if (!turnScheduled) {
    turnScheduled = true;
    setImmediate(flushWaiting);
  }
}
