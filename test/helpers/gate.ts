/**
 * A TCP pass-through in front of a hub's leafnode port: tests close it to keep
 * a reconnecting gateway out until they are ready, then open it again.
 */
import { createServer, connect as netConnect, type Socket } from "node:net";

export interface Gate {
  readonly port: number;
  /** While false, new connections are dropped at once (existing ones stay). */
  open: boolean;
  close(): Promise<void>;
}

/** A TCP pass-through to the port `target()` names, refusing new connections while closed. */
export async function startGate(target: () => number): Promise<Gate> {
  const sockets = new Set<Socket>();
  let port = 0;
  const state = { open: true };
  const server = createServer((inbound) => {
    sockets.add(inbound);
    inbound.on("close", () => sockets.delete(inbound));
    inbound.on("error", () => {});
    if (!state.open) {
      inbound.destroy();
      return;
    }
    const outbound = netConnect({ host: "127.0.0.1", port: target() });
    sockets.add(outbound);
    outbound.on("close", () => { sockets.delete(outbound); inbound.destroy(); });
    outbound.on("error", () => {});
    inbound.on("close", () => outbound.destroy());
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  return {
    port,
    get open() { return state.open; },
    set open(v: boolean) { state.open = v; },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
