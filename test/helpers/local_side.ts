/**
 * A LocalSide built from two functions, standing in for the router where a
 * test drives one LeafConn on its own: the interest to replay and what to do
 * with each hub message. Refusals are recorded.
 */
import type { LocalInterest, LocalSide } from "../../src/router/types.js";

export type OnHubMessage = (subject: string, reply: string | undefined, queues: readonly string[] | null, hdrLen: number, payload: Uint8Array) => void;

export interface TestLocalSide extends LocalSide {
  readonly refused: { subject: string; queue: string | undefined }[];
}

export function localSide(snapshot: () => Iterable<LocalInterest>, onMessage: OnHubMessage = () => {}): TestLocalSide {
  const refused: { subject: string; queue: string | undefined }[] = [];
  return {
    refused,
    interestSnapshot: snapshot,
    deliverFromUpstream: (_from, subject, reply, queues, hdrLen, payload) => {
      onMessage(subject, reply, queues, hdrLen, payload);
      return 1;
    },
    refuseInterest: (_from, subject, queue) => {
      refused.push({ subject, queue });
      return 1;
    },
  };
}
