/**
 * What authentication produces and what the connection layer consumes. The
 * connection copies plain fields out of CONNECT into AuthInput; auth never sees
 * a socket, a parser or a connection (go-choria's narrow Check() input).
 */
import type { CallerPolicy } from "./caller_policy.js";

/** The facts of one CONNECT that authentication may read. */
export interface AuthInput {
  /** CONNECT `auth_token` (where Choria clients put the JWT). */
  authToken?: string;
  /** CONNECT `jwt` (nats.go duplicates the token here); used when auth_token is absent. */
  jwt?: string;
  /** CONNECT `sig`: base64 raw-URL ed25519 signature of `nonce`. */
  sig?: string;
  /** The nonce this connection was sent in INFO (ASCII, 15 chars). */
  nonce: string;
  /** Whether the transport is encrypted. JWT auth is refused on plain connections. */
  secure: boolean;
  /** Peer address, for the audit log. */
  remote: string;
  /** CONNECT `user` (development authenticator only). */
  user?: string;
  /** CONNECT `name` (informational). */
  name?: string;
}

/** Choria client claims we act on (subset of choria-io/tokens ClientIDClaims). */
export interface ClientPermissionFlags {
  streams_admin?: boolean;
  streams_user?: boolean;
  events_viewer?: boolean;
  election_user?: boolean;
  system_user?: boolean;
  governor?: boolean;
  org_admin?: boolean;
  fleet_management?: boolean;
  signed_fleet_management?: boolean;
  service?: boolean;
  authentication_delegator?: boolean;
  provisioner?: boolean;
}

export interface ClientClaims {
  purpose: string;
  callerid: string;
  public_key: string;
  exp: number;
  nbf?: number;
  iat?: number;
  iss?: string;
  jti?: string;
  tcs?: string;
  issexp?: number;
  ou?: string;
  agents?: string[];
  permissions?: ClientPermissionFlags;
  pub_subjects?: string[];
  sub_subjects?: string[];
  user_properties?: Record<string, string>;
  opa_policy?: string;
}

/** Who a connection is, once CONNECT verified. */
export interface Identity {
  callerId: string;
  /** Hex ed25519 public key from the token (empty for the development authenticator). */
  publicKey: string;
  /** Token expiry, ms since epoch; Infinity when it never expires (development only). */
  expiresAt: number;
  /** The verified claims (undefined for the development authenticator). */
  claims?: ClientClaims;
  /** Every "may this caller …" answer for this connection (replaced as a whole on reload). */
  policy: CallerPolicy;
  /** How the caller got in: "aaa-jwt" or "development". */
  method: string;
}

/**
 * The authenticator seam: CONNECT goes through exactly this. Resolves an
 * Identity or rejects with AuthError (reason logged, never sent to the peer).
 */
export interface Authenticator {
  authenticate(input: AuthInput): Promise<Identity>;
}
