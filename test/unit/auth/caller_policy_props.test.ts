/**
 * Properties of the caller policy over generated subjects (fast-check): no
 * subject ever lets caller A subscribe to, receive, or direct replies into
 * caller B's namespace or lifecycle events, whatever A's grants (org_admin and
 * the development policy allow everything else); the `_INBOX.` mapping is
 * exact and reversible; reply confinement keeps every reply inside A's own
 * namespace.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Delivery, developmentPolicy } from "../../../src/auth/caller_policy.js";
import { compileCallerPolicy } from "../../../src/auth/permissions.js";
import { defaultPoliciesDir, loadPolicies } from "../../../src/auth/policies.js";
import { md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";
import { isSubsetOf, isValidLiteralSubject, subjectsIntersect } from "../../../src/subject/subject.js";

const A = "up=alice";
const B = "up=bob";
const A_HASHES = [md5Hex(A), sha256Hex(A)];
const B_HASHES = [md5Hex(B), sha256Hex(B)];
const policies = loadPolicies(defaultPoliciesDir());
const admin = compileCallerPolicy({ purpose: "choria_client_id", callerid: A, public_key: "", exp: 2e9, permissions: { org_admin: true } }, policies, { collective: "choria" });
const dev = developmentPolicy(A, "choria");
const minimal = compileCallerPolicy({ purpose: "choria_client_id", callerid: A, public_key: "", exp: 2e9 }, policies, { collective: "choria" });
const CALLERS = [admin, dev, minimal];

/** Tokens that hit every rule: wildcards, collectives, `reply`, both callers' hashes, inboxes, lifecycle. */
const token = fc.oneof(
  fc.constantFrom("*", "choria", "mcollective", "ops", "reply", "lifecycle", "event", "_INBOX", "$JS", "API", "x", ...A_HASHES, ...B_HASHES),
  fc.stringMatching(/^[a-z0-9_$-]{1,6}$/),
);
const subject = fc.tuple(fc.array(token, { minLength: 1, maxLength: 7 }), fc.boolean()).map(([ts, gt]) => (gt ? [...ts, ">"] : ts).join("."));
const literal = fc.array(token.filter((t) => t !== "*"), { minLength: 1, maxLength: 7 }).map((ts) => ts.join("."));

const bNamespaces = B_HASHES.map((h) => `*.reply.${h}.>`);
const aNamespaces = A_HASHES.map((h) => `*.reply.${h}.>`);
const RUNS = { numRuns: 20_000 };

describe("caller policy properties", () => {
  test("no subscription A gets can match B's replies in the main collective, or lifecycle events", () => {
    fc.assert(
      fc.property(subject, fc.option(fc.constantFrom("q1", "q2")), (s, q) => {
        for (const p of CALLERS) {
          const routed = p.routeSubscribe(s, q ?? undefined);
          if (routed === null) continue;
          assert.ok(!subjectsIntersect(routed, "choria.lifecycle.>"), `${s} -> ${routed}`);
          for (const h of B_HASHES) assert.ok(!subjectsIntersect(routed, `choria.reply.${h}.>`), `${s} -> ${routed}`);
          assert.equal(p.routeDeliverySubject(s), routed, "deliveries on A's behalf follow the subscribe rule");
        }
      }),
      RUNS,
    );
  });

  test("nothing in B's namespace (any collective) or in lifecycle is ever delivered to A", () => {
    fc.assert(
      fc.property(literal, fc.boolean(), (s, mapped) => {
        for (const p of CALLERS) {
          const d = p.deliver(s, mapped);
          if (bNamespaces.some((ns) => isSubsetOf(s, ns))) assert.notEqual(d, Delivery.Ok, s);
          if (s.startsWith("choria.lifecycle.")) assert.notEqual(d, Delivery.Ok, s);
          if (!mapped && s.startsWith("_INBOX.")) assert.notEqual(d, Delivery.Ok, s);
        }
      }),
      RUNS,
    );
  });

  test("a long-lived policy answers every delivery as a fresh one does (its last answer is remembered)", () => {
    // deliver() remembers its last question: a run of repeats, mapped or not, must not reuse a wrong answer.
    const fresh = [
      () => compileCallerPolicy({ purpose: "choria_client_id", callerid: A, public_key: "", exp: 2e9, permissions: { org_admin: true } }, policies, { collective: "choria" }),
      () => developmentPolicy(A, "choria"),
      () => compileCallerPolicy({ purpose: "choria_client_id", callerid: A, public_key: "", exp: 2e9 }, policies, { collective: "choria" }),
    ];
    const pool = fc.array(literal, { minLength: 1, maxLength: 3 }).map((ls) => [...ls, "_INBOX.x", `choria.reply.${B_HASHES[0]}.1`, "choria.lifecycle.event.x"]);
    fc.assert(
      fc.property(pool, fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 20 }), (subjects, asks) => {
        fresh.forEach((make, k) => {
          const lived = make();
          for (const [pick, mapped] of asks) {
            // A copy of the string, as the parser makes one per message.
            const s = subjects[pick % subjects.length]!;
            assert.equal(lived.deliver(`${s} `.trimEnd(), mapped), make().deliver(s, mapped), `policy ${k}: ${s} mapped=${mapped}`);
          }
        });
      }),
      { numRuns: 2000 },
    );
  });

  test("every reply A may send lies in A's own namespace", () => {
    fc.assert(
      fc.property(fc.oneof(subject, literal, literal.map((s) => `_INBOX.${s}`)), (r) => {
        for (const p of CALLERS) {
          const routed = p.routePublishReply(r);
          if (routed === null) continue;
          assert.ok(isValidLiteralSubject(routed), routed);
          assert.ok(aNamespaces.some((ns) => isSubsetOf(routed, ns)), `${r} -> ${routed}`);
          assert.ok(!bNamespaces.some((ns) => subjectsIntersect(routed, ns)), `${r} -> ${routed}`);
        }
      }),
      RUNS,
    );
  });

  test("_INBOX. mapping is exact and reversible, and touches nothing else", () => {
    fc.assert(
      fc.property(literal, (s) => {
        const inbox = `_INBOX.${s}`;
        const routed = dev.routeSubscribe(inbox);
        assert.equal(routed, `choria.reply.${A_HASHES[0]}.${inbox}`);
        assert.equal(dev.clientSubject(routed!), inbox);
        if (s.startsWith("_INBOX.")) return;
        // A subject already in A's mapped inbox space maps back to the
        // inbox it stands for; the connection applies this only to
        // subscriptions it rewrote, so a literal subscription there keeps
        // its subject (client_conn.ts).
        const own = `choria.reply.${A_HASHES[0]}._INBOX.`;
        if (s.startsWith(own)) {
          assert.equal(dev.clientSubject(s), s.slice(own.length - "_INBOX.".length));
          assert.equal(dev.routeSubscribe(s), s);
          return;
        }
        assert.equal(dev.clientSubject(s), s);
        const plain = dev.routeSubscribe(s);
        assert.ok(plain === null || plain === s, `${s} -> ${plain}`);
      }),
      // The generator reaches these rarely; they are the edges of the mapping.
      { ...RUNS, examples: [[`choria.reply.${A_HASHES[0]}._INBOX.API`], [`choria.reply.${B_HASHES[0]}._INBOX.API`], [`choria.reply.${A_HASHES[0]}.x`]] },
    );
  });
});
