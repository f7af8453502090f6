/**
 * CONNECT options as nats-server reads them: JSON into a struct pre-filled with
 * defaults (verbose, pedantic and echo ON when absent), keys matched
 * case-insensitively, unknown keys ignored. Also the refusals decided from
 * CONNECT alone: bad JSON (silent close), protocol other than 0/1, no_responders
 * without headers, an `account`, and fields that only routes, gateways or
 * leafnodes send (this port accepts clients only).
 */
import { CloseReasons, type CloseReason } from "./close_reason.js";

export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  noResponders: boolean;
  protocol: number;
  name: string;
  lang: string;
  version: string;
  authToken?: string;
  jwt?: string;
  sig?: string;
  user?: string;
}

export type ConnectParse =
  | { ok: true; options: ConnectOptions }
  | { ok: false; close: CloseReason; code: string; reason: string };

/** CONNECT keys only a route, gateway or leafnode sends. */
const FOREIGN_KEYS = ["gateway", "cluster", "is_hub", "deny_pub", "leafnode", "remote_account", "dynamic", "lnoc", "lnocu", "domain", "server_id"];

export function parseConnectOptions(json: string): ConnectParse {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, close: CloseReasons.BadConnect, code: "GW_ERR_BAD_CONNECT", reason: "CONNECT is not valid JSON" };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, close: CloseReasons.BadConnect, code: "GW_ERR_BAD_CONNECT", reason: "CONNECT is not a JSON object" };
  }
  const f: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) f[k.toLowerCase()] = v;

  for (const key of FOREIGN_KEYS) {
    if (key in f) {
      return {
        ok: false,
        close: CloseReasons.ForeignProtocol,
        code: "GW_ERR_FOREIGN_PROTOCOL",
        reason: `route/gateway/leafnode CONNECT field "${key}" on the client port`,
      };
    }
  }
  if ((typeof f.account === "string" && f.account !== "") || f.new_account === true) {
    return { ok: false, close: CloseReasons.AuthViolation, code: "GW_ERR_AUTH_ACCOUNT", reason: "CONNECT names an account" };
  }
  const protocol = typeof f.protocol === "number" ? f.protocol : 0;
  if (protocol < 0 || protocol > 1 || !Number.isInteger(protocol)) {
    return { ok: false, close: CloseReasons.InvalidProtocol, code: "GW_ERR_BAD_CONNECT", reason: `invalid client protocol ${String(f.protocol)}` };
  }
  const headers = f.headers === true;
  const noResponders = f.no_responders === true;
  if (noResponders && !headers) {
    return { ok: false, close: CloseReasons.NoRespondersNeedsHeaders, code: "GW_ERR_BAD_CONNECT", reason: "no_responders without headers" };
  }
  return {
    ok: true,
    options: {
      verbose: f.verbose !== false,
      pedantic: f.pedantic !== false,
      echo: f.echo !== false,
      headers,
      noResponders,
      protocol,
      name: str(f.name) ?? "",
      lang: str(f.lang) ?? "",
      version: str(f.version) ?? "",
      authToken: str(f.auth_token),
      jwt: str(f.jwt),
      sig: str(f.sig),
      user: str(f.user),
    },
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
