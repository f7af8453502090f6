/**
 * Pieces of nats-server's monitor JSON that several endpoints share: Go's
 * printing of durations (rtt) and of uptimes (uptime, idle), a subscription
 * as nats-server's SubDetail, and how query parameters are read (a bad value
 * falls back to its default; it never fails the request).
 */
import type { SubszEntry } from "./metrics.js";

/** A non-negative integer query parameter, or `fallback` for anything else. */
export function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || !/^\d{1,9}$/.test(raw)) return fallback;
  return Number(raw);
}

/** nats-server accepts subs=1, subs=true and subs=detail. */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const raw = q.get(name);
  return raw === "1" || raw === "true" || raw === "detail";
}

/** A round trip as Go's time.Duration prints it, which nats-server's leafz and connz use ("12ms", "1.5ms", "850µs"). */
export function goDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0s";
  if (ms < 1) return `${Number((ms * 1000).toFixed(3))}µs`;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return `${Number((ms / 1000).toFixed(6))}s`;
}

/** A span as nats-server prints uptime and idle time: whole seconds, "1y2d3h4m5s" down to "0s". */
export function natsUptime(ms: number): string {
  const secs = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const mins = Math.floor(secs / 60);
  const hrs = Math.floor(mins / 60);
  const days = Math.floor(hrs / 24);
  const yrs = Math.floor(days / 365);
  if (yrs > 0) return `${yrs}y${days % 365}d${hrs % 24}h${mins % 60}m${secs % 60}s`;
  if (days > 0) return `${days}d${hrs % 24}h${mins % 60}m${secs % 60}s`;
  if (hrs > 0) return `${hrs}h${mins % 60}m${secs % 60}s`;
  if (mins > 0) return `${mins}m${secs % 60}s`;
  return `${secs}s`;
}

/** One subscription as nats-server's SubDetail (/subsz list, /connz?subs=detail). */
export function subDetail(s: SubszEntry): Record<string, unknown> {
  return { subject: s.subject, qgroup: s.queue || undefined, sid: s.sid, msgs: s.msgs, max: s.max > 0 ? s.max : undefined, cid: s.cid };
}
