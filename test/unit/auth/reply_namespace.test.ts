/**
 * The private reply namespace: `_INBOX.` rewriting both ways (exact and
 * reversible), nothing else ever rewritten, replies into other callers'
 * namespaces refused and the caller's own (md5 or sha256) passed through.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReplyNamespace, md5Hex, sha256Hex } from "../../../src/auth/reply_namespace.js";

const CALLER = "up=alice";
const MD5 = createHash("md5").update(CALLER).digest("hex");
const SHA = createHash("sha256").update(CALLER).digest("hex");
const OTHER = md5Hex("up=mallory");
const ns = createReplyNamespace("choria", CALLER);

describe("reply namespace", () => {
  test("prefix is <collective>.reply.<md5hex(callerid)>", () => {
    assert.equal(md5Hex(CALLER), MD5);
    assert.equal(sha256Hex(CALLER), SHA);
    assert.equal(ns.prefix, `choria.reply.${MD5}`);
    assert.equal(createReplyNamespace("mcollective", CALLER).prefix, `mcollective.reply.${MD5}`);
  });

  const inboxes = ["_INBOX.abc", "_INBOX.abc.*", "_INBOX.>", "_INBOX.Yz9.1.2.3"];
  for (const s of inboxes) {
    test(`mapSubscribe/unmapDelivered round trip: ${s}`, () => {
      const mapped = ns.mapSubscribe(s);
      assert.equal(mapped, `choria.reply.${MD5}.${s}`);
      assert.equal(ns.isRewritten(s), true);
      assert.equal(ns.unmapDelivered(mapped), s);
      assert.equal(ns.mapPublishReply(s), mapped);
    });
  }

  test("subjects outside _INBOX. are never rewritten", () => {
    for (const s of ["foo", "_INBOX", "_INBOXx.a", "x._INBOX.a", "choria.reply.x.y", "_inbox.a", ">"]) {
      assert.equal(ns.mapSubscribe(s), s, s);
      assert.equal(ns.isRewritten(s), false, s);
      assert.equal(ns.unmapDelivered(s), s, s);
    }
    // a delivered subject in the namespace but not from a rewritten _INBOX stays as it is
    assert.equal(ns.unmapDelivered(`choria.reply.${MD5}.1234`), `choria.reply.${MD5}.1234`);
    assert.equal(ns.unmapDelivered(`choria.reply.${OTHER}._INBOX.x`), `choria.reply.${OTHER}._INBOX.x`);
  });

  test("replies into another caller's namespace are refused", () => {
    for (const r of [`choria.reply.${OTHER}.1`, `mcollective.reply.${OTHER}.x.y`, "choria.reply.*.x", `choria.reply.${MD5}x.1`, `choria.reply.${OTHER}`]) {
      assert.equal(ns.mapPublishReply(r), null, r);
    }
  });

  test("the caller's own namespace (md5 or sha256) and other subjects pass unchanged", () => {
    for (const r of [`choria.reply.${MD5}.1`, `other.reply.${SHA}.x.y`, `choria.reply.${MD5}`, "foo.bar", "choria.reply", "reply.x.y", "a.replyx.b.c", "a.b.reply.c.d"]) {
      assert.equal(ns.mapPublishReply(r), r, r);
    }
  });
});
