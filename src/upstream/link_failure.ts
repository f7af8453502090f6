/**
 * Why a remote's link failed, in words an operator can act on. Node and
 * OpenSSL report a refused certificate as "sslv3 alert bad certificate" or
 * "unable to verify the first certificate"; this module turns such an error
 * (a dial error, the socket error that closed a link, or the hub's -ERR) into
 * one sentence that says which side refused what, and names the broker.conf
 * keys that set it. One table, FAILURE_TABLE, maps the Node/OpenSSL error
 * codes to a typed LinkFailure; the gateway's log, /varz, the status page and
 * `aaa-leafnode check --connect` all show the same sentence
 * (docs/leafnode.md#when-the-link-fails).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { UpstreamError } from "../errors.js";
import { KEY, REMOTE_KEY, keyFor } from "../config/keys.js";
import type { LeafRemoteConfig } from "../config/types.js";
import { DialErrorCode } from "../transport/tls_dialer.js";
import type { RemoteUrl } from "./remote_urls.js";

export const LinkFailureCode = {
  /** The hub refused our client certificate (a TLS alert from the hub). */
  HubRefusedOurCert: "GW_ERR_UPSTREAM_HUB_REFUSED_OUR_CERT",
  /** Our client certificate is out of its validity period (so the hub refused it). */
  OurCertExpired: "GW_ERR_UPSTREAM_OUR_CERT_EXPIRED",
  /** We refused the hub's certificate: not signed by a CA we trust. */
  HubCertUntrusted: "GW_ERR_UPSTREAM_HUB_CERT_UNTRUSTED",
  /** We refused the hub's certificate: expired or not yet valid. */
  HubCertExpired: "GW_ERR_UPSTREAM_HUB_CERT_EXPIRED",
  /** We refused the hub's certificate: not issued for the host name we dialled. */
  HubNameMismatch: "GW_ERR_UPSTREAM_HUB_NAME_MISMATCH",
  /** The hub and we agree on no TLS version, cipher or curve. */
  TlsPolicy: "GW_ERR_UPSTREAM_TLS_POLICY",
  /** Our own certificate, key or CA file cannot be used. */
  TlsFiles: "GW_ERR_UPSTREAM_TLS_FILES",
  ConnectRefused: "GW_ERR_UPSTREAM_CONNECT_REFUSED",
  HostUnknown: "GW_ERR_UPSTREAM_HOST_UNKNOWN",
  Unreachable: "GW_ERR_UPSTREAM_UNREACHABLE",
  Timeout: "GW_ERR_UPSTREAM_TIMEOUT",
  /** The hub closed the link with an -ERR (authorization, loop, refused subject...). */
  HubError: "GW_ERR_UPSTREAM_HUB_ERROR",
  /** Anything else: the cause's own text. */
  Other: "GW_ERR_UPSTREAM_FAILED",
} as const;
export type LinkFailureCode = (typeof LinkFailureCode)[keyof typeof LinkFailureCode];

/** One failure of one remote's link: `message` is the operator's sentence, `detail` the raw cause. */
export class LinkFailure extends UpstreamError {
  constructor(
    code: LinkFailureCode,
    message: string,
    /** The broker.conf keys that decide this (the sentence names them too). */
    readonly keys: readonly string[],
    /** The underlying error text (OpenSSL's, the socket's, the hub's), for the debug log. */
    readonly detail: string,
  ) {
    super(code, message);
  }
}

/** What a failure is explained against: the remote's settings and the URL dialled. */
export interface FailureContext {
  remote: LeafRemoteConfig;
  url: RemoteUrl;
  /** "now", for certificate validity (tests pin it). */
  now?: Date;
}

interface Facts {
  ctx: FailureContext;
  hub: string;
  /** The innermost Node error code, e.g. ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE. */
  code: string;
  /** OpenSSL's reason ("sslv3 alert bad certificate") or the error's message. */
  reason: string;
  err: Record<string, unknown>;
  key: (setting: keyof typeof REMOTE_KEY) => string;
}

interface Row {
  codes: readonly string[];
  explain(f: Facts): LinkFailure;
}

const make = (code: LinkFailureCode, f: Facts, text: string, keys: string[]): LinkFailure => new LinkFailure(code, text, keys, f.reason);

/** "sslv3 alert bad certificate" → "bad certificate". */
function alertName(reason: string): string {
  return reason.replace(/^(sslv3|tlsv1|tlsv13|ssl\/tls) alert /i, "");
}

/**
 * OpenSSL 3.2+ (Node 22 and later) names every received alert "ssl/tls alert …"
 * where older releases (Node 20) say "sslv3 alert …" or "tlsv1 alert …"; Node
 * builds its error code from that text. The table is keyed by the alert alone,
 * `ERR_SSL_ALERT_<NAME>`, so both spellings find the same row.
 */
export function alertCode(code: string): string {
  return code.replace(/^ERR_SSL_(?:SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_/, "ERR_SSL_ALERT_");
}

/** Our client certificate as configured, and its validity (undefined when unreadable). */
function ourCert(remote: LeafRemoteConfig): X509Certificate | undefined {
  if (remote.tls.cert === undefined) return undefined;
  try {
    return new X509Certificate(readFileSync(remote.tls.cert));
  } catch {
    return undefined;
  }
}

const certKeys = (f: Facts): string[] => [f.key("tlsCert"), f.key("tlsKey"), KEY.fileCert, KEY.fileKey];
const certKeysText = (f: Facts): string =>
  `set by ${f.key("tlsCert")} and ${f.key("tlsKey")}, or ${KEY.fileCert} and ${KEY.fileKey} when those are unset`;
const caKeysText = (f: Facts): string => `${f.key("tlsCa")}, or ${KEY.fileCa} when that is unset`;

function hubRefusedOurCert(f: Facts): LinkFailure {
  const alert = alertName(f.reason);
  const { remote } = f.ctx;
  if (remote.tls.cert === undefined) {
    return make(LinkFailureCode.HubRefusedOurCert, f,
      `the hub at ${f.hub} refused the connection (TLS alert "${alert}") because we sent no client certificate: set ${f.key("tlsCert")} and ${f.key("tlsKey")} (or ${KEY.fileCert} and ${KEY.fileKey})`,
      certKeys(f));
  }
  const mine = ourCert(remote);
  const now = f.ctx.now ?? new Date();
  if (mine !== undefined && (now < new Date(mine.validFrom) || now > new Date(mine.validTo))) {
    const when = now > new Date(mine.validTo) ? `expired on ${mine.validTo}` : `is not valid until ${mine.validFrom}`;
    return make(LinkFailureCode.OurCertExpired, f,
      `the hub at ${f.hub} refused our client certificate ${remote.tls.cert} (TLS alert "${alert}"): it ${when}; renew it (${certKeysText(f)})`,
      certKeys(f));
  }
  return make(LinkFailureCode.HubRefusedOurCert, f,
    `the hub at ${f.hub} refused our client certificate ${remote.tls.cert} (TLS alert "${alert}"): the hub does not trust the CA that signed it, or it does not allow client authentication; ` +
      `give the hub's leafnodes tls ca_file the CA that signed it, or use a certificate from the hub's CA (${certKeysText(f)})`,
    certKeys(f));
}

function hubCertUntrusted(f: Facts): LinkFailure {
  const ca = f.ctx.remote.tls.ca;
  const trust = ca === undefined ? "the system's CAs" : `the CA file ${ca}`;
  return make(LinkFailureCode.HubCertUntrusted, f,
    `we refused the hub's certificate at ${f.hub}: it is not signed by a CA in ${trust} (${f.reason}); put the CA that signed the hub's certificate in ${caKeysText(f)}`,
    [f.key("tlsCa"), KEY.fileCa]);
}

function hubCertExpired(f: Facts): LinkFailure {
  // Node drops the hub's certificate with the failed handshake, so its dates are not known here.
  const when = f.code === "CERT_NOT_YET_VALID" ? "is not valid yet" : "has expired";
  return make(LinkFailureCode.HubCertExpired, f,
    `we refused the hub's certificate at ${f.hub}: it ${when}; the hub's operator must renew its leafnode certificate ` +
      `(${f.key("tlsVerify")} = false would accept it, for testing only)`,
    [f.key("tlsVerify")]);
}

function hubNameMismatch(f: Facts): LinkFailure {
  const names = typeof f.err.cert === "object" && f.err.cert !== null ? (f.err.cert as { subjectaltname?: string }).subjectaltname : undefined;
  const host = f.ctx.url.host;
  return make(LinkFailureCode.HubNameMismatch, f,
    `we refused the hub's certificate at ${f.hub}: it is not issued for the host name "${host}"${names ? ` (it names ${names})` : ""}; ` +
      `dial the hub by a name its certificate carries in ${f.key("url")}, or have the hub's certificate reissued for "${host}"`,
    [f.key("url")]);
}

function tlsPolicy(f: Facts): LinkFailure {
  const keys = [KEY.cipherSuites, KEY.eccCurves, KEY.tlsMinVersion];
  return make(LinkFailureCode.TlsPolicy, f,
    `the hub at ${f.hub} and we agree on no TLS version, cipher or curve (TLS alert "${alertName(f.reason)}"); check ${keys.join(", ")}`,
    keys);
}

function keyMismatch(f: Facts): LinkFailure {
  const { cert, key } = f.ctx.remote.tls;
  return make(LinkFailureCode.TlsFiles, f,
    `our client certificate ${cert ?? "(none)"} and key ${key ?? "(none)"} do not belong together (${f.reason}); ${certKeysText(f)}`,
    certKeys(f));
}

function badPem(f: Facts): LinkFailure {
  return make(LinkFailureCode.TlsFiles, f,
    `one of our TLS files for the hub link is not a usable PEM certificate or key (${f.reason}); check ${f.key("tlsCert")}, ${f.key("tlsKey")} and ${f.key("tlsCa")} (or ${KEY.fileCert}, ${KEY.fileKey} and ${KEY.fileCa})`,
    [...certKeys(f), f.key("tlsCa"), KEY.fileCa]);
}

function unreadable(f: Facts): LinkFailure {
  const path = typeof f.err.path === "string" ? f.err.path : "a TLS file";
  return make(LinkFailureCode.TlsFiles, f,
    `cannot read ${path} for the hub link (${f.code}); check ${f.key("tlsCert")}, ${f.key("tlsKey")} and ${f.key("tlsCa")} (or ${KEY.fileCert}, ${KEY.fileKey} and ${KEY.fileCa})`,
    [...certKeys(f), f.key("tlsCa"), KEY.fileCa]);
}

function connectRefused(f: Facts): LinkFailure {
  return make(LinkFailureCode.ConnectRefused, f,
    `nothing accepts connections at ${f.hub} (connection refused): the hub is down, or ${f.key("url")} names the wrong host or port`,
    [f.key("url")]);
}

function hostUnknown(f: Facts): LinkFailure {
  return make(LinkFailureCode.HostUnknown, f,
    `the host name "${f.ctx.url.host}" in ${f.key("url")} does not resolve (${f.code})`,
    [f.key("url")]);
}

function unreachable(f: Facts): LinkFailure {
  return make(LinkFailureCode.Unreachable, f,
    `no route to the hub at ${f.hub} (${f.code}); check the network and ${f.key("url")}`,
    [f.key("url")]);
}

function reset(f: Facts): LinkFailure {
  return make(LinkFailureCode.Other, f,
    `the hub at ${f.hub} closed the connection abruptly (${f.code}); its log says why (a TLS or leafnode settings mismatch, or the hub going down)`,
    [f.key("url")]);
}

/**
 * Node/OpenSSL error code → explanation. Alert codes are what the hub sent us;
 * the X.509 codes are our own verification of the hub's certificate.
 */
export const FAILURE_TABLE: readonly Row[] = [
  {
    codes: [
      "ERR_SSL_ALERT_BAD_CERTIFICATE", "ERR_SSL_ALERT_UNKNOWN_CA", "ERR_SSL_ALERT_CERTIFICATE_UNKNOWN",
      "ERR_SSL_ALERT_UNSUPPORTED_CERTIFICATE", "ERR_SSL_ALERT_CERTIFICATE_REVOKED", "ERR_SSL_ALERT_CERTIFICATE_EXPIRED",
      "ERR_SSL_ALERT_CERTIFICATE_REQUIRED", "ERR_SSL_ALERT_ACCESS_DENIED", "ERR_SSL_ALERT_DECRYPT_ERROR",
    ],
    explain: hubRefusedOurCert,
  },
  {
    codes: [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_SIGNATURE_FAILURE", "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "CERT_UNTRUSTED", "CERT_REJECTED",
      "INVALID_CA", "INVALID_PURPOSE", "CERT_CHAIN_TOO_LONG", "PATH_LENGTH_EXCEEDED",
    ],
    explain: hubCertUntrusted,
  },
  { codes: ["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"], explain: hubCertExpired },
  { codes: ["ERR_TLS_CERT_ALTNAME_INVALID"], explain: hubNameMismatch },
  {
    codes: ["ERR_SSL_ALERT_HANDSHAKE_FAILURE", "ERR_SSL_ALERT_PROTOCOL_VERSION", "ERR_SSL_NO_SHARED_CIPHER", "ERR_SSL_UNSUPPORTED_PROTOCOL", "ERR_SSL_ALERT_INSUFFICIENT_SECURITY"],
    explain: tlsPolicy,
  },
  { codes: ["ERR_OSSL_X509_KEY_VALUES_MISMATCH"], explain: keyMismatch },
  { codes: ["ERR_OSSL_PEM_NO_START_LINE", "ERR_OSSL_PEM_BAD_BASE64_DECODE", "ERR_OSSL_UNSUPPORTED", "ERR_OSSL_ASN1_WRONG_TAG"], explain: badPem },
  { codes: ["ENOENT", "EACCES", "EISDIR"], explain: unreadable },
  { codes: ["ECONNREFUSED"], explain: connectRefused },
  { codes: ["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"], explain: hostUnknown },
  { codes: ["EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"], explain: unreachable },
  { codes: ["ECONNRESET", "EPIPE"], explain: reset },
];

const byCode = new Map<string, Row>(FAILURE_TABLE.flatMap((r) => r.codes.map((c) => [c, r] as const)));

/** The innermost error with a code (the Node/OpenSSL one under our wrappers). */
function innermost(err: Error): Record<string, unknown> {
  let e: unknown = err;
  let found = err as unknown as Record<string, unknown>;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    const rec = e as unknown as Record<string, unknown>;
    if (typeof rec.code === "string") found = rec;
    e = e.cause;
  }
  return found;
}

/**
 * The hub's -ERR text or our own close reason: already words, kept verbatim (the hub's own
 * words are what its operator searches for); a refused login names the key that sets our credentials.
 */
function explainText(text: string, key: Facts["key"]): LinkFailure {
  if (/authorization violation/i.test(text)) return new LinkFailure(LinkFailureCode.HubError, text, [key("credentials"), key("tlsCert"), KEY.fileCert], text);
  return new LinkFailure(LinkFailureCode.Other, text, [], text);
}

/**
 * Explain why `ctx.remote`'s link to `ctx.url` failed. `cause` is the error
 * the dial rejected with or the socket closed with, or the close reason text
 * (the hub's -ERR, a stale link, our own refusal).
 */
export function explainFailure(cause: Error | string, ctx: FailureContext): LinkFailure {
  if (cause instanceof LinkFailure) return cause;
  const hub = ctx.url.label;
  const key = (setting: keyof typeof REMOTE_KEY): string => keyFor(REMOTE_KEY[setting], ctx.remote.name);
  if (typeof cause === "string") return explainText(cause.trim(), key);
  const err = innermost(cause);
  const code = String(err.code ?? "");
  const reason = (typeof err.reason === "string" ? err.reason : String(err.message ?? cause.message)).trim();
  const row = byCode.get(alertCode(code));
  if (row !== undefined) return row.explain({ ctx, hub, code, reason, err, key });
  if (code === DialErrorCode.Timeout) {
    return new LinkFailure(LinkFailureCode.Timeout, `the hub at ${hub} did not answer in time (${cause.message}); check that ${key("url")} names its leafnode port and that nothing drops the traffic`, [key("url")], cause.message);
  }
  if (cause instanceof UpstreamError && code !== "") return new LinkFailure(LinkFailureCode.Other, cause.message, [key("url")], cause.message);
  return new LinkFailure(LinkFailureCode.Other, cause.message.trim(), [], cause.message);
}
