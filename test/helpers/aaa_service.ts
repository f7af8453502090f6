/**
 * A small AAA service for tests, answering `/choria/v1/login` the way aaasvc's
 * userlist authenticator does (docs/protocol.md#aaa-login): fresh timestamp (not in the
 * future, at most 60 s old), ed25519 signature of "<ts>:<user>:<password>" by
 * the submitted key, known user, matching password (plain text here instead
 * of bcrypt), then a real JWT signed RS256 (or EdDSA) with a key generated per
 * instance: purpose choria_client_id, callerid `up=<user>`, the submitted
 * public_key, the user's permissions, exp = now + 1 h. Always HTTP 200 with
 * `{"token"}` or `{"error":"Login failed"}`. `/choria/v1/sign` is minimal:
 * it verifies the token and the request signature and wraps the request.
 * Misbehaviours (garbage, no token, hang, reset) are switchable for client
 * tests, and every request is counted so tests can prove one never arrived.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SignJWT, jwtVerify } from "jose";

export interface AaaTestUser {
  password: string;
  permissions?: Record<string, boolean>;
  acls?: string[];
  organization?: string;
  properties?: Record<string, string>;
}

export type AaaBehaviour = "normal" | "garbage" | "no_token" | "hang" | "reset";

export interface AaaServiceOptions {
  users: Record<string, AaaTestUser>;
  /** Serve HTTPS with this certificate (PEM text). */
  tls?: { cert: string; key: string };
  alg?: "RS256" | "EdDSA";
  validitySeconds?: number;
}

export interface TestAaaService {
  port: number;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  loginUrl: string;
  signUrl: string;
  /** PKIX "PUBLIC KEY" PEM of the token signer (for the gateway's client_signer_cert). */
  signerPublicKeyPem: string;
  signerPublicKey: KeyObject;
  alg: "RS256" | "EdDSA";
  requests: { total: number; login: number; sign: number; other: number };
  /** Why each refused login was refused (aaasvc's `Detail`), for diagnosing tests. */
  refusals: string[];
  behaviour: AaaBehaviour;
  close(): Promise<void>;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A KSUID (27 base62 chars: 4-byte time since 2014-05-13 + 16 random bytes), as Choria's jti. */
export function ksuid(unixSeconds: number): string {
  const bytes = Buffer.concat([Buffer.alloc(4), randomBytes(16)]);
  bytes.writeUInt32BE(unixSeconds - 1_400_000_000, 0);
  let n = BigInt("0x" + bytes.toString("hex"));
  let out = "";
  while (n > 0n) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out.padStart(27, "0");
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function ed25519PublicKeyFromHex(hex: string): KeyObject | null {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  const der = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(hex, "hex")]);
  return createPublicKey({ key: der, format: "der", type: "spki" });
}

export async function startTestAaaService(opts: AaaServiceOptions): Promise<TestAaaService> {
  const alg = opts.alg ?? "RS256";
  const validity = opts.validitySeconds ?? 3600;
  const pair = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ed25519");
  const signerPublicKeyPem = pair.publicKey.export({ format: "pem", type: "spki" }).toString();

  const state = {
    requests: { total: 0, login: 0, sign: 0, other: 0 },
    refusals: [] as string[],
    behaviour: "normal" as AaaBehaviour,
  };

  const refuse = (res: ServerResponse, detail: string): void => {
    state.refusals.push(detail);
    json(res, 200, { error: "Login failed" });
  };

  const login = async (body: Record<string, unknown>, res: ServerResponse): Promise<void> => {
    const str = (k: string): string => (typeof body[k] === "string" ? (body[k] as string) : "");
    const username = str("username");
    const password = str("password");
    const publicKeyHex = str("public_key");
    const timestamp = str("timestamp");
    if (publicKeyHex === "") return refuse(res, "no public key");
    if (!/^\d+$/.test(timestamp)) return refuse(res, "invalid timestamp");
    const age = Math.floor(Date.now() / 1000) - Number(timestamp);
    if (age < 0) return refuse(res, "future request");
    if (age > 60) return refuse(res, "old request");
    const pub = ed25519PublicKeyFromHex(publicKeyHex);
    if (!pub) return refuse(res, "invalid public key");
    const sig = Buffer.from(str("signature"), "hex");
    if (!verify(null, Buffer.from(`${timestamp}:${username}:${password}`, "utf8"), pub, sig)) return refuse(res, "invalid sig");
    const user = Object.hasOwn(opts.users, username) ? opts.users[username]! : undefined;
    if (!user) return refuse(res, "unknown user");
    if (user.password !== password) return refuse(res, "incorrect password");

    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      purpose: "choria_client_id",
      callerid: `up=${username}`,
      public_key: publicKeyHex.toLowerCase(),
      ou: user.organization ?? "choria",
    };
    if (user.acls) claims.agents = user.acls;
    if (user.permissions) claims.permissions = user.permissions;
    if (user.properties) claims.user_properties = user.properties;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg, typ: "JWT" })
      .setIssuer("Choria Userlist Authenticator")
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + validity)
      .setJti(ksuid(now))
      .sign(pair.privateKey);
    json(res, 200, { token });
  };

  const sign = async (body: Record<string, unknown>, res: ServerResponse): Promise<void> => {
    const deny = (): void => json(res, 200, { error: "Request denied" });
    if (typeof body.token !== "string" || typeof body.request !== "string") return deny();
    let claims: Record<string, unknown>;
    try {
      claims = (await jwtVerify(body.token, pair.publicKey, { algorithms: [alg] })).payload as Record<string, unknown>;
    } catch {
      return deny();
    }
    const request = Buffer.from(body.request, "base64");
    const pub = typeof claims.public_key === "string" ? ed25519PublicKeyFromHex(claims.public_key) : null;
    const sig = typeof body.signature === "string" ? Buffer.from(body.signature, "hex") : Buffer.alloc(0);
    if (!pub || sig.length !== 64 || !verify(null, request, pub, sig)) return deny();
    const secure = { protocol: "choria:secure:request:1", message: request.toString("utf8"), signature: "test", pubcert: "test-aaa" };
    json(res, 200, { secure_request: Buffer.from(JSON.stringify(secure)).toString("base64") });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    state.requests.total++;
    const path = (req.url ?? "").split("?", 1)[0];
    const route = path === "/choria/v1/login" ? "login" : path === "/choria/v1/sign" ? "sign" : null;
    if (route) state.requests[route]++;
    else state.requests.other++;
    readBody(req)
      .then(async (raw) => {
        switch (state.behaviour) {
          case "hang":
            return;
          case "reset":
            req.socket.destroy();
            return;
          case "garbage":
            res.writeHead(200, { "content-type": "text/html" });
            res.end("<html>upstream proxy error</html>");
            return;
          case "no_token":
            json(res, 200, { motd: "hello" });
            return;
        }
        if (!route || req.method !== "POST") return json(res, 404, { error: "not found" });
        let body: unknown;
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          return json(res, 400, { code: 400, message: "parsing request body failed" });
        }
        if (body === null || typeof body !== "object") return json(res, 422, { code: 422, message: "invalid body" });
        await (route === "login" ? login : sign)(body as Record<string, unknown>, res);
      })
      .catch(() => res.destroy());
  };

  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`;

  return {
    port,
    url,
    loginUrl: `${url}/choria/v1/login`,
    signUrl: `${url}/choria/v1/sign`,
    signerPublicKeyPem,
    signerPublicKey: pair.publicKey,
    alg,
    requests: state.requests,
    refusals: state.refusals,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: AaaBehaviour) {
      state.behaviour = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface TestTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1/localhost, made with openssl in `dir`. */
export function makeTestTls(dir: string): TestTlsFiles {
  const p = (name: string): string => join(dir, name);
  const run = (args: string[]): void => void execFileSync("openssl", args, { stdio: "pipe" });
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=aaa-test-ca"]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=localhost"]);
  const ext = p("server.ext");
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  run(["x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile", ext]);
  return {
    caFile: p("ca.pem"),
    certFile: p("server.pem"),
    keyFile: p("server.key"),
    ca: readFileSync(p("ca.pem"), "utf8"),
    cert: readFileSync(p("server.pem"), "utf8"),
    key: readFileSync(p("server.key"), "utf8"),
  };
}
