/**
 * `aaa-leafnode demo`: the whole story on one machine in under a minute. In a
 * temp folder it makes a throwaway CA and an AAA development signer, starts a
 * real nats-server hub with an mTLS leafnode port, a simulated fleet on the
 * hub, and the gateway (from a broker.conf loaded like any other), then shows
 * alice (fleet_management) broadcasting and making a request through it, and
 * bob being refused the subscriptions that would let him read alice's replies
 * or lifecycle events. Every claim is checked, not just printed: the last line
 * is `demo: OK` (exit 0) or `demo: FAILED <why>` (exit 1). On SIGINT/SIGTERM or
 * --timeout everything started is stopped and the temp folder removed. Its
 * NATS connections use the devkit's own small client (lite_client.ts), so the
 * demo runs from the installed package, which has no dev dependencies.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner, writeSignerFiles } from "../auth/mint.js";
import { formatWarning, loadConfig } from "../config/load.js";
import { GatewayError } from "../errors.js";
import { Gateway } from "../gateway.js";
import { createLogger, fileSink, LevelControl } from "../obs/log.js";
import { LIFECYCLE_ALIVE_SUBJECT, startFleet, type FleetReply } from "../devkit/fleet.js";
import { startHub } from "../devkit/hub.js";
import { connectLite, type DevConnection, type DevMsg } from "../devkit/lite_client.js";
import { generatePki } from "../devkit/pki.js";
import { waitFor } from "../devkit/wait.js";
import { mintCaller, replySubjectFor, writeGatewayConf } from "../devkit/world.js";
import type { CliIo } from "./io.js";
import { flagValue } from "./io.js";

export const demoHelp = `Usage: aaa-leafnode demo [--nodes 20] [--timeout SECONDS]

Runs the gateway end to end on 127.0.0.1, in a temp folder removed afterwards:
a throwaway CA and AAA development signer, a real nats-server hub with an mTLS
leafnode port, --nodes simulated Choria servers on the hub (default 20), and the
gateway started from a generated broker.conf. Then alice (fleet_management)
broadcasts to the fleet and makes a request, and bob is shown that he can read
neither alice's replies nor lifecycle events. Ends with "demo: OK" (exit 0) or
"demo: FAILED <why>" (exit 1). Stops on SIGINT/SIGTERM or after --timeout
seconds (default 120). Needs nats-server (NATS_SERVER_BIN, default
/usr/sbin/nats-server) and openssl; runs from the installed package (its
clients are the devkit's own small NATS client, no dev dependency).`;

/** A check of the demo that did not hold. */
class DemoFailure extends GatewayError {
  constructor(message: string) {
    super("GW_ERR_DEMO_FAILED", message);
  }
}

const MAX_LISTED_REPLIES = 50;
const STEP_TIMEOUT_MS = 20_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

function positiveInt(text: string | undefined, fallback: number, name: string, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new DemoFailure(`${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`);
  return n;
}

/** What one client received, for the checks at the end. */
class Inbox {
  readonly subjects: string[] = [];
  record(m: DevMsg): void {
    this.subjects.push(m.subject);
  }
  count(prefix: string): number {
    return this.subjects.filter((s) => s.startsWith(prefix)).length;
  }
}

/** Everything the demo started, stopped in reverse order. */
class Cleanup {
  private readonly steps: { what: string; fn: () => unknown }[] = [];
  private closed = false;
  /** Register a stop step; after run() (a step finished starting too late) it is stopped at once. */
  add(what: string, fn: () => unknown): void {
    if (this.closed) void Promise.resolve().then(fn).catch(() => {});
    else this.steps.push({ what, fn });
  }
  async run(io: CliIo): Promise<void> {
    this.closed = true;
    while (this.steps.length > 0) {
      const { what, fn } = this.steps.pop()!;
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          io.stderr.write(`demo: stopping ${what} took too long, moving on\n`);
          resolve();
        }, 10_000);
      });
      try {
        await Promise.race([Promise.resolve().then(fn), bounded]);
      } catch (err) {
        io.stderr.write(`demo: stopping ${what} failed: ${(err as Error).message}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  let nodes: number;
  let timeoutS: number;
  try {
    nodes = positiveInt(flagValue(argv, "--nodes"), 20, "--nodes", 5000);
    timeoutS = positiveInt(flagValue(argv, "--timeout"), 120, "--timeout", 86_400);
  } catch (err) {
    io.stderr.write(`demo: ${(err as Error).message}\n\n${demoHelp}\n`);
    return 2;
  }
  const cleanup = new Cleanup();
  const state: { logFile?: string } = {};
  let stopReason: ((why: { code: number; message: string }) => void) | undefined;
  const stopped = new Promise<{ code: number; message: string }>((resolve) => (stopReason = resolve));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    if (signalled) {
      // A second signal: exit now; the exit hooks still kill the hub and remove the folders.
      io.stdout.write(`demo: ${signal} again, exiting without waiting\n`);
      process.exit(code);
    }
    signalled = true;
    io.stdout.write(`demo: ${signal} received, stopping\n`);
    stopReason!({ code, message: `interrupted by ${signal}` });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const timer = setTimeout(() => stopReason!({ code: 1, message: `timed out after ${timeoutS}s` }), timeoutS * 1000);

  const outcome = await Promise.race([
    runDemo(nodes, io, cleanup, state).then(
      () => ({ code: 0, message: "" }),
      (err: unknown) => ({ code: 1, message: err instanceof Error ? err.message : String(err) }),
    ),
    stopped,
  ]);
  clearTimeout(timer);
  if (outcome.code === 1 && state.logFile) printLogTail(state.logFile, io);
  await cleanup.run(io);
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  if (outcome.code === 0) {
    io.stdout.write("demo: OK\n");
    return 0;
  }
  io.stdout.write(`demo: FAILED ${outcome.message}\n`);
  return outcome.code;
}

function printLogTail(file: string, io: CliIo): void {
  try {
    const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(-15);
    io.stderr.write(`last gateway log lines (${file}):\n${lines.join("\n")}\n`);
  } catch {
    // No log yet: the failure came before the gateway started.
  }
}

async function runDemo(nodes: number, io: CliIo, cleanup: Cleanup, state: { logFile?: string }): Promise<void> {
  const say = (line: string) => io.stdout.write(line + "\n");
  const dir = mkdtempSync(join(tmpdir(), "aaa-leafnode-demo-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeDir);
  cleanup.add("the temp folder", () => {
    process.removeListener("exit", removeDir);
    removeDir();
  });
  say(`demo: working in ${dir}`);

  const pki = await generatePki(join(dir, "pki"));
  const signer = createSigner("ed25519");
  const signerFiles = writeSignerFiles(signer, dir, "aaa-signer");
  say("pki: throwaway CA with hub, leafnode-client and gateway certificates (openssl)");
  say(`aaa: development signer (ed25519), public key ${signerFiles.publicKeyPath}`);

  const hub = await startHub({ pki, dir: join(dir, "hub") });
  cleanup.add("the hub", () => hub.stop());
  say(`hub: nats-server pid ${hub.pid}, clients ${hub.clientUrl}, leafnodes ${hub.leafUrl} (client certificate required)`);

  const fleet = await startFleet({ hubUrl: hub.clientUrl, count: nodes, dial: (name) => connectLite({ url: hub.clientUrl, name }) });
  cleanup.add("the fleet", () => fleet.stop());
  say(`fleet: ${nodes} simulated Choria servers on the hub (${fleet.identities[0]} ... ${fleet.identities.at(-1)})`);

  // A hub-side witness proves lifecycle events really flow, so "none reached a client" means something.
  const witness = await connectLite({ url: hub.clientUrl, name: "lifecycle-witness" });
  cleanup.add("the hub witness", () => witness.close());
  let lifecycleAtHub = 0;
  witness.subscribe("choria.lifecycle.>", {
    callback: (err) => {
      if (!err) lifecycleAtHub++;
    },
  });
  await witness.flush();

  const confFile = writeGatewayConf({ dir, pki, signers: [signerFiles.publicKeyPath], hub });
  const loaded = loadConfig(confFile);
  for (const w of loaded.warnings) say(`config warning: ${formatWarning(w)}`);
  const logFile = join(dir, "gateway.log");
  const sink = fileSink(logFile);
  state.logFile = logFile;
  const levels = new LevelControl(loaded.config.logLevel);
  const gateway = await Gateway.start(loaded.config, { log: createLogger(sink, levels, { component: "aaa-leafnode" }) });
  cleanup.add("the gateway", async () => {
    await gateway.stop();
    sink.close();
  });
  const gatewayUrl = `tls://127.0.0.1:${gateway.clientPort}`;
  say(`gateway: ${gatewayUrl} (anonymous TLS + AAA JWT), configured by ${confFile}`);
  await waitFor("the gateway's leafnode link to the hub", () => gateway.ready || undefined, STEP_TIMEOUT_MS);
  say("gateway: leafnode link to the hub is up (mTLS)");

  // ---- alice: fleet_management ----
  const alice = mintCaller(signer, "up=alice", { fleet_management: true });
  const aliceNc = await connectLite({ url: gatewayUrl, ca: pki.ca, credentials: alice, name: alice.callerId });
  cleanup.add("alice's connection", () => aliceNc.close());
  const aliceInbox = new Inbox();
  say("alice: connected as up=alice (fleet_management): token verified, nonce signature verified");

  const agentSubject = "choria.broadcast.agent.rpcutil";
  const probeNode = fleet.identities[Math.min(3, nodes - 1)]!;
  await waitFor("the hub's interest in the fleet's subjects", () => {
    const hubInterest = gateway.upstream?.hubInterest;
    return (hubInterest?.match(agentSubject).plain && hubInterest.match(`choria.node.${probeNode}`).plain) || undefined;
  }, STEP_TIMEOUT_MS);

  const broadcast = async (nc: DevConnection, round: number, onReply: (identity: string) => void): Promise<number> => {
    const reply = replySubjectFor(alice.callerId, `${round}${Date.now().toString(16)}${Math.random().toString(16).slice(2, 10)}`);
    let replies = 0;
    const sub = nc.subscribe(reply, {
      callback: (err, m) => {
        if (err) return;
        aliceInbox.record(m);
        replies++;
        onReply((JSON.parse(dec.decode(m.data)) as FleetReply).identity);
      },
    });
    await nc.flush();
    // The reply subscription must reach the hub (LS+) before the fleet answers.
    await waitFor("alice's reply subscription at the hub", async () => {
      const leafz = (await hub.leafz()) as { leafs?: { subscriptions_list?: string[] }[] };
      return (leafz.leafs ?? []).some((l) => l.subscriptions_list?.includes(reply)) || undefined;
    }, STEP_TIMEOUT_MS);
    nc.publish(agentSubject, enc.encode(JSON.stringify({ agent: "rpcutil", action: "ping" })), { reply });
    await waitFor(`${nodes} replies`, () => (replies >= nodes ? true : undefined), STEP_TIMEOUT_MS).catch(() => undefined);
    sub.unsubscribe();
    return replies;
  };

  say(`alice: broadcast on ${agentSubject}, replies to ${replySubjectFor(alice.callerId, "<request id>")}`);
  let listed = 0;
  const firstCount = await broadcast(aliceNc, 1, (identity) => {
    if (listed < MAX_LISTED_REPLIES) say(`  reply from ${identity}`);
    else if (listed === MAX_LISTED_REPLIES) say(`  ... (further replies counted, not listed)`);
    listed++;
  });
  say(`alice: ${firstCount} of ${nodes} nodes replied to the broadcast`);
  if (firstCount !== nodes) throw new DemoFailure(`alice got ${firstCount} of ${nodes} broadcast replies`);

  const answer = await aliceNc.request(`choria.node.${probeNode}`, enc.encode("ping"), { timeout: 10_000 });
  const answeredBy = (JSON.parse(dec.decode(answer.data)) as FleetReply).identity;
  say(`alice: request() to choria.node.${probeNode} answered by ${answeredBy} (_INBOX reply rewritten into her namespace)`);
  if (answeredBy !== probeNode) throw new DemoFailure(`the request to ${probeNode} was answered by ${answeredBy}`);

  // ---- bob: tries to snoop ----
  const bob = mintCaller(signer, "up=bob", { fleet_management: true, events_viewer: true });
  const bobNc = await connectLite({ url: gatewayUrl, ca: pki.ca, credentials: bob, name: bob.callerId });
  cleanup.add("bob's connection", () => bobNc.close());
  const bobInbox = new Inbox();
  say("bob: connected as up=bob (fleet_management, events_viewer)");
  const snoops = ["choria.reply.>", ">", "choria.lifecycle.>"];
  const refusals = new Map<string, string>();
  for (const subject of snoops) {
    bobNc.subscribe(subject, {
      callback: (err, m) => {
        if (err) refusals.set(subject, err.message);
        else bobInbox.record(m);
      },
    });
  }
  await bobNc.flush();
  await waitFor("the server's answers to bob's subscriptions", () => (refusals.size === snoops.length ? true : undefined), STEP_TIMEOUT_MS).catch(() => undefined);
  for (const subject of snoops) {
    const refusal = refusals.get(subject);
    say(`bob: subscribe ${subject.padEnd(20)} ${refusal ? `refused: ${refusal}` : "ACCEPTED"}`);
    if (!refusal) throw new DemoFailure(`bob's subscription to ${subject} was not refused`);
  }

  // While bob is connected: alice broadcasts again and the fleet publishes lifecycle events.
  const secondCount = await broadcast(aliceNc, 2, () => {});
  await fleet.publishLifecycle();
  await waitFor("the lifecycle events at the hub", () => (lifecycleAtHub >= nodes ? true : undefined), STEP_TIMEOUT_MS);
  // A round trip through the gateway for each client after the events: anything in flight has arrived.
  const bobAnswer = await bobNc.request(`choria.node.${probeNode}`, enc.encode("ping"), { timeout: 10_000 });
  await aliceNc.request(`choria.node.${probeNode}`, enc.encode("ping"), { timeout: 10_000 });
  await Promise.all([aliceNc.flush(), bobNc.flush()]);
  say(`bob: his own request() works: answered by ${(JSON.parse(dec.decode(bobAnswer.data)) as FleetReply).identity}`);

  const aliceNamespace = replySubjectFor(alice.callerId, "").slice(0, -1);
  const bobGotAlice = bobInbox.count(aliceNamespace);
  say(`alice: second broadcast while bob is connected: ${secondCount} of ${nodes} replies; bob received ${bobGotAlice} of them`);
  if (secondCount !== nodes) throw new DemoFailure(`alice got ${secondCount} of ${nodes} replies to the second broadcast`);
  if (bobGotAlice !== 0) throw new DemoFailure(`bob received ${bobGotAlice} of alice's replies`);

  const lifecycleAlice = aliceInbox.count("choria.lifecycle.");
  const lifecycleBob = bobInbox.count("choria.lifecycle.");
  say(`fleet: ${nodes} lifecycle events on ${LIFECYCLE_ALIVE_SUBJECT} (seen at the hub: ${lifecycleAtHub}); delivered to alice: ${lifecycleAlice}, to bob: ${lifecycleBob}`);
  if (lifecycleAlice + lifecycleBob !== 0) throw new DemoFailure("lifecycle events reached a client");
}
