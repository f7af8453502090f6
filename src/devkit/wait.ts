/**
 * Polling with a deadline: the only way the devkit waits for something to
 * become true (a port, a file, a count), because fixed sleeps break on slow
 * machines and waste time on fast ones.
 */
import { DevkitError, DevkitErrorCode } from "./errors.js";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll `check` until it returns a value other than undefined, or throw a
 * DevkitError (code GW_ERR_DEVKIT_TIMEOUT) naming `what` and the last error
 * `check` threw. A thrown error does not stop the polling; it is kept as the reason.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15000,
  stepMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const why = lastErr ? `: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}` : "";
      throw new DevkitError(DevkitErrorCode.Timeout, `timed out waiting for ${what}${why}`, { cause: lastErr });
    }
    await sleep(stepMs);
  }
}
