/**
 * The monitor's index page at `/`: a small static HTML page, like
 * nats-server's monitor index, for an operator with a browser. It shows the
 * gateway's name and version, readiness, each upstream link (one row per
 * configured remote: connecting / connected / backing off, the hub address,
 * failed attempts, the next retry, and under it the last error as the
 * operator's sentence from upstream/link_failure.ts), the client connection
 * and authentication-failure counts, and links to every monitoring endpoint.
 * It reloads itself every REFRESH_SECONDS (a meta refresh). Rendered from the
 * same MetricSources snapshot as the JSON endpoints; every value is
 * HTML-escaped, and the page has no script, so nothing a client can influence
 * (a remote name, an auth refusal code) can run in the operator's browser.
 */
import type { About } from "./monitor.js";
import { linkCount, remoteLinks, type MetricSources, type RemoteLinkStats } from "./metrics.js";

export interface StatusPageInput {
  about: About;
  sources: MetricSources;
  endpoints: readonly { path: string; title: string }[];
}

/** How often the page reloads itself. */
export const REFRESH_SECONDS = 5;

const htmlEscapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}

/** Authentication attempts refused, whatever the reason (every outcome but "ok"). */
export function authFailures(outcomes: Record<string, number>): number {
  let n = 0;
  for (const [outcome, count] of Object.entries(outcomes)) if (outcome !== "ok" && Number.isFinite(count)) n += count;
  return n;
}

/** "in 3 s" from now to an ISO time (never negative). */
function inSeconds(iso: string, now: number): string {
  return `in ${Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000))} s`;
}

/** One remote: its row, and under it the last error when there is one. */
function linkRow(l: RemoteLinkStats, now: number): string {
  const up = l.connected > 0;
  const st = l.status;
  const state = st?.state ?? (up ? "connected" : "disconnected");
  // Worker mode: one link per worker, so say how many are up.
  const workers = l.links !== undefined ? ` (${l.connected} of ${l.links} workers connected)` : "";
  const hub = up && l.host !== undefined ? `${l.host}:${l.port ?? ""}` : (st?.url ?? "");
  const retry = st?.nextRetryAt ?? null;
  const cells = [
    `<td class="remote">${escapeHtml(l.remote)}</td>`,
    `<td class="state ${state.replace(/ /g, "-")}">${escapeHtml(state)}${workers}</td>`,
    `<td class="hub">${escapeHtml(hub)}</td>`,
    `<td class="failed-attempts">${st?.failedAttempts ?? ""}</td>`,
    `<td class="next-retry">${retry === null ? "" : `<time datetime="${escapeHtml(retry)}">${escapeHtml(retry)}</time> (${inSeconds(retry, now)})`}</td>`,
    `<td class="account">${escapeHtml(l.account ?? "")}</td>`,
    `<td class="rtt">${up && l.rttMs !== undefined ? `${Math.round(l.rttMs * 10) / 10} ms` : ""}</td>`,
    `<td class="reconnects">${l.reconnects}</td>`,
    `<td class="hub-interest">${l.subscriptions ?? 0}</td>`,
    `<td class="buffered">${l.bufferedMsgs} msgs / ${l.bufferedBytes} of ${l.bufferLimitBytes ?? "?"} bytes</td>`,
    `<td class="dropped">${l.droppedMsgs}</td>`,
  ];
  const row = `<tr data-remote="${escapeHtml(l.remote)}">${cells.join("")}</tr>`;
  const err = st?.lastError;
  if (!err) return row;
  return `${row}
<tr class="last-error-row" data-remote="${escapeHtml(l.remote)}"><td></td><td colspan="${cells.length - 1}" class="last-error">last error at <time datetime="${escapeHtml(err.at)}">${escapeHtml(err.at)}</time>${err.worker !== undefined ? ` on worker ${err.worker}` : ""} <span class="error-code">${escapeHtml(err.code)}</span>: <span class="error-text">${escapeHtml(err.text)}</span></td></tr>`;
}

function fact(id: string, label: string, value: number | string): string {
  return `<dt>${label}</dt><dd id="${id}">${escapeHtml(String(value))}</dd>`;
}

export function statusPage(input: StatusPageInput): string {
  const { about, sources } = input;
  const leaf = sources.leafnode();
  const links = remoteLinks(leaf);
  // Links, not remotes: in worker mode each worker has one per remote.
  const totals = { configured: links.reduce((n, l) => n + linkCount(l), 0), connected: links.reduce((n, l) => n + Math.min(l.connected, linkCount(l)), 0) };
  const ready = sources.ready();
  const upstream = links.length === 0
    ? `<p id="standalone">Standalone: no upstream leafnode remote is configured.</p>`
    : `<p id="upstream-summary">${totals.connected} of ${totals.configured} link${totals.configured === 1 ? "" : "s"} connected</p>
<table id="links">
<thead><tr><th>remote</th><th>state</th><th>hub</th><th>failed attempts</th><th>next retry</th><th>account</th><th>rtt</th><th>reconnects</th><th>hub interest</th><th>outage buffer</th><th>dropped</th></tr></thead>
<tbody>
${links.map((l) => linkRow(l, Date.now())).join("\n")}
</tbody>
</table>`;
  const endpoints = input.endpoints
    .map((e) => `<a href=".${escapeHtml(e.path)}">${escapeHtml(e.title)}<span class="endpoint"> ${escapeHtml(e.path)}</span></a>`)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>aaa-leafnode ${escapeHtml(about.serverName)}</title>
<style>
body { font-family: ui-sans-serif, system-ui, sans-serif; margin: 24px 32px; color: rgb(40 40 52) }
h1 { font-size: 24px; margin-bottom: 0 }
.version { color: #777; margin-top: 4px }
.ready { color: rgb(20 120 60) } .not-ready { color: rgb(180 40 40) }
table { border-collapse: collapse } th, td { text-align: left; padding: 4px 12px 4px 0 }
td.connected { color: rgb(20 120 60) } td.disconnected, td.backing-off, td.connecting { color: rgb(180 40 40); font-weight: 600 }
td.last-error { color: rgb(180 40 40); padding-bottom: 10px; max-width: 70em } .error-code { font-family: monospace; font-size: 12px }
dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px } dd { margin: 0 }
nav a { display: block; padding-bottom: 6px; color: rgb(72 72 92); text-decoration: none }
nav a:hover { font-weight: 600; color: rgb(59 50 202) }
.endpoint { font-size: 12px; color: #999; font-family: monospace }
</style>
</head>
<body>
<h1>aaa-leafnode <span id="name">${escapeHtml(about.serverName)}</span></h1>
<p class="version">version <span id="version">${escapeHtml(about.version)}</span> · identity <span id="identity">${escapeHtml(about.identity)}</span> · server id <span id="server-id">${escapeHtml(about.serverId)}</span> · up since <span id="started">${about.startedAt.toISOString()}</span></p>
<p id="refresh" class="version">this page reloads itself every ${REFRESH_SECONDS} s · rendered at <span id="rendered">${new Date().toISOString()}</span></p>
<p id="ready" class="${ready ? "ready" : "not-ready"}">${ready ? "ready" : `not ready: ${escapeHtml(sources.readyReason())}`}</p>
<h2>Upstream</h2>
${upstream}
<h2>Clients</h2>
<dl>
${fact("connections", "connections", sources.connections())}
${fact("total-connections", "connections since start", sources.totalConnections())}
${fact("auth-ok", "logins accepted", sources.authOutcomes()["ok"] ?? 0)}
${fact("auth-failures", "logins refused", authFailures(sources.authOutcomes()))}
${fact("slow-consumers", "slow consumers", sources.slowConsumers())}
${fact("subscriptions", "subscriptions", sources.subscriptions())}
</dl>
<h2>Endpoints</h2>
<nav id="endpoints">
${endpoints}
</nav>
</body>
</html>
`;
}
