/**
 * An operator's first hour, item 2: with the hub down from the start, /varz
 * says per remote what the link is doing (backing off), the last error as a
 * sentence with its code and time, how many attempts failed in a row, where
 * it dials and when it tries next; the status page shows the same and tells
 * the browser to reload it. (The page in a real browser:
 * test/e2e/browser/status_page.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../helpers/hub.js";
import { gatewayWithHubDown } from "./link_down_world.js";

interface VarzRemote {
  remote: string; connected: boolean; state: string; url: string | null; last_error: string | null; last_error_code: string | null;
  last_error_at: string | null; failed_attempts: number; next_retry: string | null; reconnects: number;
}

test("hub down from the start: /varz shows state, last error, failed attempts and next retry; the page shows them and reloads itself", async (t) => {
  const g = await gatewayWithHubDown();
  t.after(() => g.stop());
  const remote = await waitFor("two failed attempts in /varz", async () => {
    const varz = (await (await fetch(`${g.monitor}/varz`)).json()) as { leafnode: { remotes: VarzRemote[] } };
    const r = varz.leafnode.remotes[0]!;
    return r.failed_attempts >= 2 && r.state === "backing off" ? r : undefined;
  });
  assert.equal(remote.remote, "hub");
  assert.equal(remote.connected, false);
  assert.equal(remote.url, `127.0.0.1:${g.hubPort}`);
  assert.equal(remote.reconnects, 0);
  assert.equal(remote.last_error_code, "GW_ERR_UPSTREAM_CONNECT_REFUSED");
  assert.equal(remote.last_error, `nothing accepts connections at 127.0.0.1:${g.hubPort} (connection refused): the hub is down, or plugin.choria.network.leafnode_remote.hub.url names the wrong host or port`);
  const at = Date.parse(remote.last_error_at ?? "");
  const next = Date.parse(remote.next_retry ?? "");
  assert.ok(Number.isFinite(at) && Number.isFinite(next), JSON.stringify(remote));
  // The next attempt is planned after the failure, within the 1 s maximum delay.
  assert.ok(next >= at && next <= at + 1000, JSON.stringify(remote));

  const res = await fetch(`${g.monitor}/`);
  const html = await res.text();
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.match(html, /<td class="state backing-off">backing off<\/td>|<td class="state connecting">connecting<\/td>/);
  assert.ok(html.includes(`<td class="hub">127.0.0.1:${g.hubPort}</td>`), html);
  assert.ok(html.includes(`GW_ERR_UPSTREAM_CONNECT_REFUSED</span>: <span class="error-text">nothing accepts connections at 127.0.0.1:${g.hubPort} (connection refused)`), html);
  assert.match(html, /<td class="failed-attempts">\d+<\/td>/);
});
