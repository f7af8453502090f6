/**
 * The lines of a NATS header block, walked in place: after the status line
 * (`NATS/1.0 …`), each `Name: value` line (docs/protocol.md#messages). The
 * one walk behind every reader of header lines here (the stored subject of a
 * hub answer, the headers that make the hub act for a caller), so each reader
 * only says which name it wants and how it reads the value.
 *
 * Linear in the block: the name/value colon is looked for only inside its own
 * line. A search running on to the next colon of the block would make a block
 * of many colon-less lines quadratic: 0.4 s of one thread for one 900 KB
 * header block a caller may send.
 */

/**
 * Calls `visit(start, colon, end)` for each line after the status line that
 * has a colon, in order: the name is [start, colon), the value (colon, end),
 * and `end` leaves out the line's CR LF. Stops early when `visit` returns false.
 */
export function forEachHeaderLine(hdr: Uint8Array, visit: (start: number, colon: number, end: number) => unknown): void {
  let line = hdr.indexOf(0x0a) + 1; // after the status line
  while (line > 0 && line < hdr.length) {
    const next = hdr.indexOf(0x0a, line);
    const end = next < 0 ? hdr.length : hdr[next - 1] === 0x0d ? next - 1 : next;
    let colon = line;
    while (colon < end && hdr[colon] !== 0x3a) colon++;
    if (colon > line && colon < end && visit(line, colon, end) === false) return;
    line = next + 1;
  }
}
