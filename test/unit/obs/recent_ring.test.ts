/** The bounded ring behind /connz?state=closed: it keeps exactly the last `capacity` items, oldest first. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RecentRing } from "../../../src/obs/recent_ring.js";

describe("RecentRing", () => {
  test("keeps the last `capacity` items pushed, oldest first", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (capacity, items) => {
      const ring = new RecentRing<number>(capacity);
      for (const i of items) ring.push(i);
      assert.deepEqual(ring.list(), items.slice(Math.max(items.length - capacity, 0)));
      assert.equal(ring.size, Math.min(items.length, capacity));
    }));
  });

  test("list() is a copy", () => {
    const ring = new RecentRing<number>(2);
    ring.push(1);
    ring.list().push(99);
    assert.deepEqual(ring.list(), [1]);
  });

  for (const bad of [0, -1, 1.5, NaN]) {
    test(`capacity ${bad} is refused`, () => assert.throws(() => new RecentRing(bad), RangeError));
  }
});
