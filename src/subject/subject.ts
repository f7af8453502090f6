/**
 * Subject syntax and the relations between subject patterns, as nats-server
 * 2.9.10 defines them (docs/protocol.md#subjects): `.`-separated non-empty tokens, no
 * space/tab/CR/LF/FF anywhere, `*` (one token) and `>` (one or more trailing
 * tokens) are wildcards only as whole tokens and `>` only last. Everything here
 * walks the strings by index and allocates nothing, because validation runs for
 * every SUB and matching backs the sublist, permission checks and interest sets.
 */

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;

const INVALID = -1;
const LITERAL = 0;
const WILDCARD = 1;

/** Token kinds returned by tokenKind(). */
const TOKEN_LITERAL = 0;
const TOKEN_STAR = 1;
const TOKEN_GT = 2;

/** INVALID, LITERAL (no wildcard token) or WILDCARD; one pass over the string. */
function classify(s: string): number {
  const n = s.length;
  if (n === 0) return INVALID;
  let tokenStart = 0;
  let wild = false;
  // i === n acts as a virtual trailing dot that closes the last token.
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return INVALID;
      if (len === 1) {
        const t = s.charCodeAt(tokenStart);
        if (t === STAR) {
          wild = true;
        } else if (t === GT) {
          // `>` must be the last token ("foo.>.bar" is refused by nats-server).
          if (i !== n) return INVALID;
          wild = true;
        }
      }
      tokenStart = i + 1;
    } else if (c === SPACE || c === TAB || c === CR || c === LF || c === FF) {
      return INVALID;
    }
  }
  return wild ? WILDCARD : LITERAL;
}

/** A valid subscription subject (wildcards allowed). */
export function isValidSubject(s: string): boolean {
  return classify(s) !== INVALID;
}

/** A valid subject without wildcard tokens, i.e. one a message can be published to. */
export function isValidLiteralSubject(s: string): boolean {
  return classify(s) === LITERAL;
}

/** True when some whole token of `s` is `*` or `>` (`foo*` and `foo.>x` have none). */
export function hasWildcard(s: string): boolean {
  return firstWildcardToken(s) >= 0;
}

/** Index where the first `*` or `>` token of `s` starts, or -1 when it has none. */
export function firstWildcardToken(s: string): number {
  const n = s.length;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || s.charCodeAt(i) === DOT) {
      if (i - tokenStart === 1) {
        const t = s.charCodeAt(tokenStart);
        if (t === STAR || t === GT) return tokenStart;
      }
      tokenStart = i + 1;
    }
  }
  return -1;
}

/** End index (exclusive) of the token starting at `start`. */
function tokenEnd(s: string, start: number): number {
  const e = s.indexOf(".", start);
  return e < 0 ? s.length : e;
}

function tokenKind(s: string, start: number, end: number): number {
  if (end - start !== 1) return TOKEN_LITERAL;
  const c = s.charCodeAt(start);
  return c === STAR ? TOKEN_STAR : c === GT ? TOKEN_GT : TOKEN_LITERAL;
}

/** a[aStart..aEnd) === b[bStart..bEnd) without slicing. */
function sameToken(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  const len = aEnd - aStart;
  if (len !== bEnd - bStart) return false;
  for (let k = 0; k < len; k++) {
    if (a.charCodeAt(aStart + k) !== b.charCodeAt(bStart + k)) return false;
  }
  return true;
}

/**
 * Does `pattern` (wildcards allowed) match the literal subject `literal`?
 * Precondition: both are valid subjects; tokens of `literal` are compared as
 * plain text, so a `*` there only matches `*` or a wildcard in the pattern.
 */
export function subjectMatches(pattern: string, literal: string): boolean {
  const pn = pattern.length;
  const ln = literal.length;
  if (pn === 0 || ln === 0) return false;
  // One pass over both strings (this runs for every cached literal on a wildcard
  // insert/remove); p and l sit at the start of a token at the top of the loop.
  let p = 0;
  let l = 0;
  for (;;) {
    const c = pattern.charCodeAt(p);
    if ((c === STAR || c === GT) && (p + 1 === pn || pattern.charCodeAt(p + 1) === DOT)) {
      // The literal has at least one token left here, which is all `>` needs.
      if (c === GT) return true;
      p++;
      while (l < ln && literal.charCodeAt(l) !== DOT) l++;
    } else {
      while (p < pn) {
        const pc = pattern.charCodeAt(p);
        if (pc === DOT) break;
        if (l === ln || literal.charCodeAt(l) !== pc) return false;
        p++;
        l++;
      }
      // The literal's token must end where the pattern's does.
      if (l < ln && literal.charCodeAt(l) !== DOT) return false;
    }
    if (p === pn || l === ln) return p === pn && l === ln;
    p++;
    l++;
  }
}

/**
 * Can one literal subject match both patterns? Used to decide whether a
 * wildcard subscription could ever receive a denied subject, and whether hub
 * interest overlaps a local pattern. Precondition: both are valid subjects.
 */
export function subjectsIntersect(a: string, b: string): boolean {
  const an = a.length;
  const bn = b.length;
  if (an === 0 || bn === 0) return false;
  let i = 0;
  let j = 0;
  for (;;) {
    const ae = tokenEnd(a, i);
    const be = tokenEnd(b, j);
    const ak = tokenKind(a, i, ae);
    const bk = tokenKind(b, j, be);
    // Both sides have a token here; `>` can absorb whatever the other side needs.
    if (ak === TOKEN_GT || bk === TOKEN_GT) return true;
    if (ak === TOKEN_LITERAL && bk === TOKEN_LITERAL && !sameToken(a, i, ae, b, j, be)) return false;
    const aDone = ae === an;
    const bDone = be === bn;
    // A missing token cannot be supplied by anything (`>` needs at least one).
    if (aDone || bDone) return aDone && bDone;
    i = ae + 1;
    j = be + 1;
  }
}

/**
 * Is every literal matched by `sub` also matched by `pattern`?
 * "foo.bar" ⊂ "foo.*" ⊂ "foo.>", but "foo.>" ⊄ "foo.*". Precondition: both valid.
 */
export function isSubsetOf(sub: string, pattern: string): boolean {
  const sn = sub.length;
  const pn = pattern.length;
  if (sn === 0 || pn === 0) return false;
  let s = 0;
  let p = 0;
  for (;;) {
    const se = tokenEnd(sub, s);
    const pe = tokenEnd(pattern, p);
    const sk = tokenKind(sub, s, se);
    const pk = tokenKind(pattern, p, pe);
    // `sub` has at least one token left, and anything it matches there is one or more tokens.
    if (pk === TOKEN_GT) return true;
    if (pk === TOKEN_STAR) {
      // `*` covers exactly one token: a literal or another `*`, never a `>`.
      if (sk === TOKEN_GT) return false;
    } else if (sk !== TOKEN_LITERAL || !sameToken(sub, s, se, pattern, p, pe)) {
      return false;
    }
    const subDone = se === sn;
    const patternDone = pe === pn;
    if (subDone || patternDone) return subDone && patternDone;
    s = se + 1;
    p = pe + 1;
  }
}
