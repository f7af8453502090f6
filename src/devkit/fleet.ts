/**
 * A simulated fleet of Choria servers attached directly to the hub with the
 * official NATS client. To stay light for thousands of identities, a few NATS
 * connections each play many identities: one shared `choria.broadcast.agent.>`
 * subscription per connection answers once per identity it carries, and each
 * identity has its own `choria.node.<identity>` subscription. Replies go to the
 * request's reply subject (a private `<collective>.reply.…` subject in the real
 * flow) with a JSON body naming the identity; `publishLifecycle()` makes every
 * identity publish a `choria.lifecycle.event.alive.server` event, which the
 * gateway must never let any client see.
 */
import { readFileSync } from "node:fs";
import type { DevConnection, DevMsg } from "./lite_client.js";
import { loadNatsClient } from "./nats_client.js";

export interface FleetOptions {
  hubUrl: string;
  count: number;
  identityPrefix?: string;
  /** Identities per NATS connection (default 250). */
  perConnection?: number;
  /** Operator-mode hubs: a .creds file for the fleet's connections. */
  creds?: string;
  /**
   * Opens one of the fleet's connections to the hub (default: the official
   * client; the demo passes the devkit's small client, which needs no dev dependency).
   */
  dial?: (name: string) => Promise<DevConnection>;
}

/** The JSON body every simulated server answers with. */
export interface FleetReply {
  identity: string;
  subject: string;
  /** The request body as text. */
  request: string;
}

export interface Fleet {
  readonly identities: readonly string[];
  /** Requests answered so far (one per identity per request). */
  readonly answered: number;
  /** Every identity publishes an alive lifecycle event; resolves once flushed to the hub. */
  publishLifecycle(): Promise<void>;
  /** Wait until the hub has processed every subscription (flush on each connection). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export const LIFECYCLE_ALIVE_SUBJECT = "choria.lifecycle.event.alive.server";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A fleet connection through the official client. */
async function dialOfficial(opts: FleetOptions, name: string): Promise<DevConnection> {
  const nats = await loadNatsClient();
  return nats.connect({
    servers: opts.hubUrl,
    name,
    authenticator: opts.creds ? nats.credsAuthenticator(readFileSync(opts.creds)) : undefined,
    maxReconnectAttempts: 0,
  });
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const dial = opts.dial ?? ((name: string) => dialOfficial(opts, name));
  const prefix = opts.identityPrefix ?? "node";
  const per = Math.max(1, opts.perConnection ?? 250);
  const identities = Array.from({ length: opts.count }, (_, i) => `${prefix}-${i}.example.net`);
  const conns: DevConnection[] = [];
  let answered = 0;

  const reply = (m: DevMsg, identity: string): void => {
    if (!m.reply) return;
    const body: FleetReply = { identity, subject: m.subject, request: dec.decode(m.data) };
    m.respond(enc.encode(JSON.stringify(body)));
    answered++;
  };

  try {
    for (let start = 0; start < identities.length; start += per) {
      const group = identities.slice(start, start + per);
      const nc = await dial(`fleet-${start}`);
      conns.push(nc);
      nc.subscribe("choria.broadcast.agent.>", {
        callback: (err, m) => {
          if (err) return;
          for (const id of group) reply(m, id);
        },
      });
      for (const id of group) {
        nc.subscribe(`choria.node.${id}`, {
          callback: (err, m) => {
            if (!err) reply(m, id);
          },
        });
      }
    }
    await Promise.all(conns.map((nc) => nc.flush()));
  } catch (err) {
    await Promise.allSettled(conns.map((nc) => nc.close()));
    throw err;
  }

  return {
    identities,
    get answered() {
      return answered;
    },
    async publishLifecycle() {
      conns.forEach((nc, ci) => {
        for (const id of identities.slice(ci * per, (ci + 1) * per)) {
          const event = {
            protocol: "io.choria.lifecycle.v1.alive",
            identity: id,
            component: "server",
            version: "0.29.0",
            timestamp: Math.floor(Date.now() / 1000),
          };
          nc.publish(LIFECYCLE_ALIVE_SUBJECT, enc.encode(JSON.stringify(event)));
        }
      });
      await Promise.all(conns.map((nc) => nc.flush()));
    },
    async flush() {
      await Promise.all(conns.map((nc) => nc.flush()));
    },
    async stop() {
      await Promise.allSettled(conns.map((nc) => nc.close()));
    },
  };
}
