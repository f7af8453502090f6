/**
 * How connections reach the workers (workers/primary.ts): each worker accepts
 * from the shared socket unless the operator's NODE_CLUSTER_SCHED_POLICY asks
 * for node:cluster's round robin (docs/workers.md#connection-storms).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import cluster from "node:cluster";
import { schedulingPolicy } from "../../../src/workers/primary.js";

test("the workers accept for themselves unless NODE_CLUSTER_SCHED_POLICY is rr", () => {
  assert.equal(schedulingPolicy({}), cluster.SCHED_NONE);
  assert.equal(schedulingPolicy({ NODE_CLUSTER_SCHED_POLICY: "none" }), cluster.SCHED_NONE);
  assert.equal(schedulingPolicy({ NODE_CLUSTER_SCHED_POLICY: "rr" }), cluster.SCHED_RR);
  // Anything else is not a policy node:cluster knows; the default stands.
  for (const v of ["RR", "round-robin", "", "1"]) assert.equal(schedulingPolicy({ NODE_CLUSTER_SCHED_POLICY: v }), cluster.SCHED_NONE, v);
});
