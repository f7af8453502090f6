/**
 * Posts a login request to the AAA service's URLs in order until one answers.
 * A URL that cannot be connected to (refused, DNS, connect timeout, TLS
 * verification) is skipped for the next; once a request has been written, its
 * answer — or its timeout — is final, because the service may have acted on it.
 * aaasvc always answers HTTP 200 with `{"token": ...}` or `{"error": ...}`
 * (docs/protocol.md#aaa-login); everything else is reported as malformed, naming the URL
 * but never echoing the body, which could hold a token.
 */
import { Agent, request } from "undici";
import { LoginError, LoginErrorCode, failedBeforeSending, isResponseTimeout, isTlsFailure, networkErrorCode } from "./errors.js";

export interface LoginRequestBody {
  username: string;
  password: string;
  public_key: string;
  timestamp: string;
  signature: string;
}

export interface PostLoginOptions {
  connectTimeoutMs: number;
  /** Budget for one attempt, connect included. */
  timeoutMs: number;
  /** PEM of the CAs to trust instead of the system store. */
  ca?: string | Buffer;
}

export interface LoginSuccess {
  token: string;
  url: string;
}

/** Answers larger than this are not a login response (a token is a few KiB). */
const MAX_RESPONSE_BYTES = 256 * 1024;

interface FailedAttempt {
  url: string;
  code: string;
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new LoginError(LoginErrorCode.Malformed, `response from ${url} is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Interprets one HTTP answer: a token, the service's refusal, or malformed. */
export function interpretLoginResponse(url: string, status: number, bodyText: string): LoginSuccess {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const obj = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  const errorText = obj && typeof obj.error === "string" && obj.error !== "" ? obj.error : null;

  if (status !== 200) {
    // A relay in front of the service answers 4xx/5xx with {"error": ...}.
    const code = status === 502 || status === 503 || status === 504 ? LoginErrorCode.Unreachable : LoginErrorCode.Malformed;
    throw new LoginError(code, `${url} answered HTTP ${status}${errorText ? `: ${errorText}` : ""}`);
  }
  if (obj === null) throw new LoginError(LoginErrorCode.Malformed, `response from ${url} is not a JSON object`);
  if (errorText !== null) throw new LoginError(LoginErrorCode.Refused, `login refused by ${url}: ${errorText}`);
  const token = obj.token;
  if (typeof token !== "string" || token === "") {
    throw new LoginError(LoginErrorCode.Malformed, `response from ${url} has neither a token nor an error`);
  }
  if (token.split(".").length !== 3) throw new LoginError(LoginErrorCode.Malformed, `response from ${url} holds a token that is not a JWT`);
  return { token, url };
}

function describeAttempt(a: FailedAttempt): string {
  if (isTlsFailure(a.code)) return `${a.url} (${a.code}: TLS verification failed; is --ca right?)`;
  if (a.code === "UND_ERR_CONNECT_TIMEOUT") return `${a.url} (connect timeout)`;
  return `${a.url} (${a.code})`;
}

export async function postLogin(urls: string[], body: LoginRequestBody, opts: PostLoginOptions): Promise<LoginSuccess> {
  const dispatcher = new Agent({
    connect: { timeout: opts.connectTimeoutMs, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    // One request per URL: nothing to keep alive for.
    pipelining: 0,
  });
  const payload = JSON.stringify(body);
  const failed: FailedAttempt[] = [];
  try {
    for (const url of urls) {
      const signal = AbortSignal.timeout(opts.timeoutMs);
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: payload,
          dispatcher,
          signal,
        });
      } catch (err) {
        const code = networkErrorCode(err);
        if (!signal.aborted && failedBeforeSending(code)) {
          failed.push({ url, code });
          continue;
        }
        if (signal.aborted || isResponseTimeout(code)) {
          throw new LoginError(LoginErrorCode.Timeout, `${url} did not answer within ${opts.timeoutMs / 1000}s`, { cause: err });
        }
        throw new LoginError(LoginErrorCode.Unreachable, `connection to ${url} failed after the request was sent: ${code}`, { cause: err });
      }
      let text: string;
      try {
        text = (await readBounded(res.body as unknown as AsyncIterable<Buffer> & { destroy(): unknown }, url)).toString("utf8");
      } catch (err) {
        if (err instanceof LoginError) throw err;
        const code = networkErrorCode(err);
        if (signal.aborted || isResponseTimeout(code)) {
          throw new LoginError(LoginErrorCode.Timeout, `${url} did not finish its answer within ${opts.timeoutMs / 1000}s`, { cause: err });
        }
        throw new LoginError(LoginErrorCode.Unreachable, `reading the answer of ${url} failed: ${code}`, { cause: err });
      }
      return interpretLoginResponse(url, res.statusCode, text);
    }
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
  const allTls = failed.every((a) => isTlsFailure(a.code));
  throw new LoginError(allTls ? LoginErrorCode.Tls : LoginErrorCode.Unreachable, `could not reach any AAA login URL: ${failed.map(describeAttempt).join("; ")}`);
}
