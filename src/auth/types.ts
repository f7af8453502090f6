/**
 * What authentication produces and what the connection layer consumes. The
 * connection copies plain fields out of CONNECT into AuthInput; auth never sees
 * a socket, a parser or a connection (go-choria's narrow Check() input).
 */

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

/**
 * Compiled permissions of one caller. Checks are cached per subject inside the
 * implementation. Hard restrictions (lifecycle, other callers' reply namespaces)
 * are part of every set and cannot be lifted by any grant.
 */
export interface Permissions {
  /** May this caller publish to `subject` (a valid literal subject)? */
  canPublish(subject: string): boolean;
  /** May this caller subscribe to `subject` (literal or wildcard), optionally in queue `queue`? */
  canSubscribe(subject: string, queue?: string): boolean;
  /**
   * May a message on literal `subject` be delivered to this caller? False for
   * lifecycle events and for subjects an allowed wildcard subscription overlaps
   * with a deny (filtered at delivery, as nats-server does).
   */
  canDeliver(subject: string): boolean;
  /** Human-readable allow/deny lists, for `token inspect`, `check` and /connz. */
  describe(): { publish: { allow: string[]; deny: string[] }; subscribe: { allow: string[]; deny: string[] } };
}

/**
 * A caller's private reply namespace `<collective>.reply.<md5hex(callerid)>` and
 * the `_INBOX.` rewriting into it. Pure and reversible.
 */
export interface ReplyNamespace {
  /** e.g. "choria.reply.0123…abcd" (no trailing dot). */
  readonly prefix: string;
  /** Map a SUB subject: `_INBOX.x` → `<prefix>._INBOX.x`; anything else unchanged. */
  mapSubscribe(subject: string): string;
  /** True when mapSubscribe changed the subject (deliveries must be mapped back). */
  isRewritten(subject: string): boolean;
  /**
   * Map the reply subject of a PUB: `_INBOX.x` → `<prefix>._INBOX.x`. Returns null
   * when the reply lies in another caller's reply namespace (`<c>.reply.<other>.…`):
   * the publish must be refused with 'Permissions Violation for Publish with Reply of'.
   */
  mapPublishReply(reply: string): string | null;
  /** Map a delivered subject of a rewritten subscription back: `<prefix>._INBOX.x` → `_INBOX.x`. */
  unmapDelivered(subject: string): string;
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
  permissions: Permissions;
  replies: ReplyNamespace;
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
