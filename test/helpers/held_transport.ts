/**
 * A Transport whose writes complete only when the test says so: each write is
 * recorded with its `written` callback, which the test calls (or never calls,
 * for a peer that does not read). `backPressure` makes every write answer false.
 */
import type { Transport } from "../../src/transport/transport.js";

export interface HeldWrite {
  chunks: Uint8Array[];
  written?: () => void;
}

export function heldTransport(backPressure = false): { t: Transport; writes: HeldWrite[]; text: (i: number) => string } {
  const writes: HeldWrite[] = [];
  const t = {
    kind: "tcp",
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    secure: false,
    bufferedBytes: 0,
    write(chunk: Uint8Array, written?: () => void) {
      writes.push({ chunks: [chunk], written });
      return !backPressure;
    },
    writev(chunks: Uint8Array[], written?: () => void) {
      writes.push({ chunks, written });
      return !backPressure;
    },
  } as unknown as Transport;
  const text = (i: number) => Buffer.concat(writes[i]!.chunks).toString("latin1");
  return { t, writes, text };
}
