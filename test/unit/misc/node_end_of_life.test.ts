// The start-up warning for a Node.js line past its end of life: Node 20 warns,
// the lines the gateway is meant to run on do not, and odd versions never throw.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeEndOfLife } from "../../../src/cli/run.js";

test("nodeEndOfLife: Node 20 is past its end of life, Node 22 and 24 are not", () => {
  assert.equal(nodeEndOfLife("20.20.2"), "Node.js 20 is past its end of life (2026-04-30); run the gateway on Node.js 24 LTS");
  assert.equal(nodeEndOfLife("20.0.0"), nodeEndOfLife("20.19.5"));
  for (const v of ["24.21.0", "24.11.0", "22.12.0", "26.0.0"]) assert.equal(nodeEndOfLife(v), undefined, v);
  for (const v of ["", "x", "2", "200.1.1"]) assert.equal(nodeEndOfLife(v), undefined, v);
});
