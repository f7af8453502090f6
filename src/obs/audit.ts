/**
 * The audit log: who connected, who was refused and why, who tried what they
 * may not do, and when they left. Each event is one JSON line written through
 * a Logger (usually one of its own, writing to the configured audit file),
 * with an `audit` field naming the event so the lines can be
 * filtered out of a shared log. The refusal detail recorded here is the detail
 * the peer never sees: it only ever gets 'Authorization Violation'.
 */
import type { Logger } from "./log.js";

export type AuditTransport = "tls" | "websocket" | "tcp" | (string & {});

export interface AuditConnect {
  cid: number;
  remote: string;
  callerId: string;
  /** How the caller authenticated, e.g. "aaa-jwt" or "development". */
  method: string;
  /** Token expiry; null when the credential does not expire. */
  expiresAt: Date | string | null;
  transport: AuditTransport;
}

export interface AuditRefused {
  cid: number;
  remote: string;
  /** Detail for operators (never sent to the peer). */
  reason: string;
  /** Stable error code, e.g. GW_ERR_AUTH_EXPIRED. */
  code: string;
  /** The caller id the credential claimed, when it could be read. */
  callerId?: string | null;
}

export type ViolationKind = "publish" | "subscribe" | "reply";

export interface AuditViolation {
  cid: number;
  remote: string;
  callerId: string | null;
  kind: ViolationKind;
  subject: string;
  queue?: string;
}

export interface AuditDisconnect {
  cid: number;
  remote: string;
  callerId: string | null;
  /** Close reason (a CloseReason value). */
  reason: string;
  inMsgs: number;
  outMsgs: number;
  durationMs: number;
}

export interface AuditLog {
  connect(e: AuditConnect): void;
  refused(e: AuditRefused): void;
  violation(e: AuditViolation): void;
  disconnect(e: AuditDisconnect): void;
}

function isoOrNull(v: Date | string | null): string | null {
  if (v === null) return null;
  if (typeof v === "string") return v;
  return Number.isNaN(v.getTime()) ? null : v.toISOString();
}

export function createAuditLog(logger: Logger): AuditLog {
  return {
    connect(e) {
      logger.info("client connected", {
        audit: "connect", cid: e.cid, remote: e.remote, callerId: e.callerId, method: e.method,
        expiresAt: isoOrNull(e.expiresAt), transport: e.transport,
      });
    },
    refused(e) {
      logger.warn("connection refused", {
        audit: "refused", cid: e.cid, remote: e.remote, callerId: e.callerId ?? null, reason: e.reason, code: e.code,
      });
    },
    violation(e) {
      const fields: Record<string, unknown> = {
        audit: "violation", cid: e.cid, remote: e.remote, callerId: e.callerId, kind: e.kind, subject: e.subject,
      };
      if (e.queue !== undefined) fields.queue = e.queue;
      logger.warn("permission violation", fields);
    },
    disconnect(e) {
      logger.info("client disconnected", {
        audit: "disconnect", cid: e.cid, remote: e.remote, callerId: e.callerId, reason: e.reason,
        inMsgs: e.inMsgs, outMsgs: e.outMsgs, durationMs: e.durationMs,
      });
    },
  };
}
