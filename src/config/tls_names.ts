/**
 * Choria's TLS hardening keys name cipher suites and curves the way Go's
 * crypto/tls does (`TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, `CurveP256`);
 * Node's TLS is OpenSSL and wants OpenSSL's names
 * (`ECDHE-ECDSA-AES128-GCM-SHA256`, `P-256`). These tables translate one into
 * the other. The suites are the ones Go calls secure (tls.CipherSuites()),
 * which is also the list Choria accepts; Go's insecure suites are named so the
 * refusal can say why. As in Go, the TLS 1.3 suites cannot be switched off one
 * by one: they are always offered when TLS 1.3 is allowed.
 */

/** Go name → OpenSSL name of every cipher suite Go considers secure, TLS 1.0–1.2. */
export const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  // Go's older spellings of the ChaCha20 suites.
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: "ECDHE-RSA-CHACHA20-POLY1305",
};

/** TLS 1.3 suites: Go accepts the names but always enables all three. */
const TLS13_SUITES: readonly string[] = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

/** Go's tls.InsecureCipherSuites(): refused by name. */
export const GO_INSECURE_SUITES: readonly string[] = [
  "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
  "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/** Go curve name (Choria's CurvePreferenceMap) → OpenSSL group name. */
export const GO_CURVES: Readonly<Record<string, string>> = {
  X25519: "X25519",
  CurveP256: "P-256",
  CurveP384: "P-384",
  CurveP521: "P-521",
};

/** Why a Go cipher suite name cannot be used, or undefined when it can. */
export function cipherSuiteProblem(name: string): string | undefined {
  if (GO_CIPHER_SUITES[name] !== undefined || TLS13_SUITES.includes(name)) return undefined;
  if (GO_INSECURE_SUITES.includes(name)) return `${name} is insecure (Go lists it in tls.InsecureCipherSuites) and is not offered`;
  return `${name} is not a Go cipher suite name (e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)`;
}

/** Why a Go curve name cannot be used, or undefined when it can. */
export function curveProblem(name: string): string | undefined {
  return GO_CURVES[name] !== undefined ? undefined : `${name} is not a curve Choria knows (${Object.keys(GO_CURVES).join(", ")})`;
}

/**
 * The OpenSSL cipher list for Node's `ciphers` option: the TLS 1.2 suites in
 * the configured order, then the TLS 1.3 suites (always on, as in Go), or
 * undefined for Node's defaults when nothing is configured.
 */
export function opensslCiphers(goNames: readonly string[]): string | undefined {
  if (goNames.length === 0) return undefined;
  const tls12 = goNames.map((n) => GO_CIPHER_SUITES[n]).filter((n): n is string => n !== undefined);
  return [...new Set([...TLS13_SUITES, ...tls12])].join(":");
}

/** The OpenSSL group list for Node's `ecdhCurve` option, or undefined for Node's defaults. */
export function opensslCurves(goNames: readonly string[]): string | undefined {
  if (goNames.length === 0) return undefined;
  return [...new Set(goNames.map((n) => GO_CURVES[n]!))].join(":");
}
