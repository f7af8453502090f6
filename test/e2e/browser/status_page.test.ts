/**
 * The monitor's status page in a real browser with the hub down from the
 * start: headless Chromium (driven over the DevTools protocol) shows, per
 * remote, the state, the hub address, the last error as a sentence, the
 * failed attempts and the next retry, and the page reloads itself: a second
 * load arrives without the test navigating, rendered later, with the attempts
 * counted since.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumAvailable, CHROMIUM, openPage } from "./chromium.js";
import { gatewayWithHubDown } from "../link_down_world.js";
import { REFRESH_SECONDS } from "../../../src/obs/status_page.js";

interface Seen {
  rendered: string;
  state: string;
  hub: string;
  attempts: number;
  nextRetry: string;
  error: string;
  code: string;
}

const READ = `JSON.stringify((() => {
  const row = document.querySelector('#links tr[data-remote="hub"]');
  const cell = (c) => row.querySelector('td.' + c).textContent;
  const err = document.querySelector('tr.last-error-row[data-remote="hub"]');
  return {
    rendered: document.getElementById("rendered").textContent,
    state: cell("state"), hub: cell("hub"), attempts: Number(cell("failed-attempts")), nextRetry: cell("next-retry"),
    error: err ? err.querySelector(".error-text").textContent : "", code: err ? err.querySelector(".error-code").textContent : "",
  };
})())`;

test("status page with the hub down, in headless Chromium: per remote state, last error, attempts, next retry; reloads itself", async (t) => {
  assert.ok(chromiumAvailable(), `${CHROMIUM} is not installed`);
  const g = await gatewayWithHubDown();
  t.after(() => g.stop());
  const page = await openPage(`${g.monitor}/`, 20_000);
  t.after(() => page.close());
  await page.waitForLoads(1, 20_000);
  const first = JSON.parse(await page.evaluate<string>(READ)) as Seen;
  assert.equal(first.hub, `127.0.0.1:${g.hubPort}`);
  assert.ok(["backing off", "connecting"].includes(first.state), first.state);
  // The page is served after the first dial failed (the dial to a closed port fails at once).
  assert.equal(first.code, "GW_ERR_UPSTREAM_CONNECT_REFUSED");
  assert.ok(first.error.startsWith(`nothing accepts connections at 127.0.0.1:${g.hubPort} (connection refused)`), first.error);

  // Nobody navigates: the page reloads itself.
  await page.waitForLoads(2, (REFRESH_SECONDS + 10) * 1000);
  const second = JSON.parse(await page.evaluate<string>(READ)) as Seen;
  assert.ok(Date.parse(second.rendered) > Date.parse(first.rendered), `${first.rendered} then ${second.rendered}`);
  assert.ok(second.attempts > first.attempts, `${first.attempts} then ${second.attempts} failed attempts`);
  assert.ok(["backing off", "connecting"].includes(second.state), second.state);
  // A retry is scheduled only while backing off; a reload can land while the next dial is under way.
  if (second.state === "backing off") assert.match(second.nextRetry, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in \d+ s\)$/);
  else assert.equal(second.nextRetry, "", "no retry is scheduled while connecting");
});
