import { readSync } from 'node:fs';
import { head, readHead, Tag } from '@keywarden/core';

/**
 * Finds embedded crypto material at any byte offset of an arbitrary binary (firmware images, ELF
 * files, a kernel's system_certificates blob) fast enough to run over every byte of a scan.
 *
 * Native Buffer.indexOf does the scanning, one short pattern per pass in windows small enough to stay
 * in cache, and JavaScript only sees the rare matches:
 * - `30 82` and `30 81`: a SEQUENCE with a one- or two-octet length, which every certificate, CRL,
 *   CMS ContentInfo, RSA key and most EC keys start with (128 to 65,535 content octets);
 * - `BEGIN `, preceded by five dashes: PEM;
 * - for the small keys that fit a one-octet length (short-form `30 2a`, `30 59`, ...), an anchor
 *   inside them rather than their start, because `30 xx` alone matches everywhere in text: the OID
 *   arc `2b 65` (Ed25519, Ed448, X25519, X448 SPKI and PKCS#8), the tail of id-ecPublicKey (EC SPKI
 *   and PKCS#8 without a public key) and `02 01 01 04` (SEC1 ECPrivateKey: P-256, secp256k1, P-224).
 * Not caught: BER indefinite lengths (`30 80`), DER objects over 65,539 octets (`30 83`: large CRLs,
 * CMS with attached content), PEM blocks over SWEEP_OVERLAP octets, RSA keys under 128 octets
 * (512-bit and below), PKCS#1 RSAPublicKey (two INTEGERs is too loose a shape), CSRs and PKCS#12
 * (whose inner ContentInfo is reported as 'cms').
 *
 * Each match is checked in constant time: the header must fit the buffer, and the elements must tile
 * the shape of one of the structures below down to the AlgorithmIdentifier OIDs, Names, Validity
 * times and SPKI. An accepted object is skipped as a whole, so its nested objects are not reported.
 */

export interface SweepHit {
  offset: number;
  end: number;
  kind: 'certificate' | 'spki' | 'private-key' | 'crl' | 'cms' | 'pem';
}

export interface SweepOptions {
  /** First offset at which a hit may start; defaults to 0. */
  from?: number;
  /** Hits start before this offset (they may end after it); defaults to the buffer's length. */
  to?: number;
  /** Stop after this many hits; defaults to 1,000,000. */
  maxHits?: number;
}

/** The longest PEM block reported, in octets; DER objects are at most 65,539 octets. */
const MAX_PEM = 128 * 1024;

/**
 * No reported object is longer than this, so a chunk that carries its last SWEEP_OVERLAP octets into
 * the next one (and sweeps with `to` at the start of that carry) sees every object whole exactly once.
 */
export const SWEEP_OVERLAP: number = MAX_PEM;

const DEFAULT_MAX_HITS = 1_000_000;
/** Octets each pass searches before the others catch up; 256 KiB stays in L2 on common cores. */
const WINDOW = 256 * 1024;

const KIND = ['', 'certificate', 'spki', 'private-key', 'crl', 'cms', 'pem'] as const;
const CERT = 1;
const SPKI = 2;
const KEY = 3;
const CRL = 4;
const CMS = 5;
const PEM = 6;

// ---- element reading: readHead's checks, result kept in two scalars instead of an object ----

let T = 0; // tag of the element el() read last
let C = 0; // its content start

/** End of the element at `pos` inside `limit`, or -1; sets T and C. */
function el(b: Uint8Array, pos: number, limit: number): number {
  if (!readHead(b, pos, limit)) return -1;
  T = head.tag;
  C = head.start;
  return head.end;
}

/** Whether the element el() read last has this tag (a call, so TypeScript does not narrow T across el()). */
function is(tag: number): boolean {
  return T === tag;
}

const MAX_RDNS = 64;

function oidOk(b: Uint8Array, s: number, e: number): boolean {
  return e - s >= 1 && e - s <= 64 && b[s] !== 0x80 && (b[e - 1]! & 0x80) === 0;
}

/** AlgorithmIdentifier content: an OID and at most one parameter element. */
function algId(b: Uint8Array, s: number, e: number): boolean {
  const o = el(b, s, e);
  if (o < 0 || !is(Tag.OID) || !oidOk(b, C, o)) return false;
  return o === e || el(b, o, e) === e;
}

/** Name content: a few non-empty SETs (the count is capped so every check stays constant-time). */
function nameOk(b: Uint8Array, s: number, e: number): boolean {
  for (let p = s, n = 0; p < e; n++) {
    const q = el(b, p, e);
    if (n === MAX_RDNS || q < 0 || !is(Tag.SET) || q === C) return false;
    p = q;
  }
  return true;
}

function timeOk(q: number): boolean {
  return (is(Tag.UTCTime) || is(Tag.GeneralizedTime)) && q - C >= 10 && q - C <= 24;
}

/** A BIT STRING holding a key or signature: whole octets, something in them. */
function bitsOk(b: Uint8Array, q: number): boolean {
  return is(Tag.BIT_STRING) && q - C >= 2 && b[C] === 0;
}

function spkiOk(b: Uint8Array, s: number, e: number): boolean {
  const a = el(b, s, e);
  if (a < 0 || !is(Tag.SEQUENCE) || !algId(b, C, a)) return false;
  const k = el(b, a, e);
  return k === e && bitsOk(b, k);
}

/** TBSCertificate or TBSCertList content: which of the two it is, or 0. */
function tbsKind(b: Uint8Array, s: number, e: number): number {
  let q = el(b, s, e);
  if (q < 0) return 0;
  let explicitVersion = false;
  if (is(0xa0)) {
    if (el(b, C, q) !== q || !is(Tag.INTEGER) || q - C !== 1 || b[C]! > 2) return 0;
    explicitVersion = true;
    q = el(b, q, e);
    if (q < 0) return 0;
  }
  let intLen = 0;
  let intFirst = 0;
  if (is(Tag.INTEGER)) {
    intLen = q - C;
    intFirst = b[C]!;
    if (intLen === 0 || intLen > 64) return 0;
    q = el(b, q, e);
  } else if (explicitVersion) return 0;
  if (q < 0 || !is(Tag.SEQUENCE) || !algId(b, C, q)) return 0;
  q = el(b, q, e);
  if (q < 0 || !is(Tag.SEQUENCE) || !nameOk(b, C, q)) return 0;
  const p = q;
  q = el(b, p, e);
  if (q < 0) return 0;
  if (is(Tag.SEQUENCE)) return intLen > 0 && certRest(b, C, q, e) ? CERT : 0;
  // A CRL's version, when present, is v1 (0, tolerated) or v2 (1).
  if (explicitVersion || (intLen !== 0 && (intLen !== 1 || intFirst > 1)) || !timeOk(q)) return 0;
  return crlRest(b, q, e) ? CRL : 0;
}

/** From Validity (content [vs, ve)) to the end of a TBSCertificate. */
function certRest(b: Uint8Array, vs: number, ve: number, e: number): boolean {
  const t1 = el(b, vs, ve);
  if (t1 < 0 || !timeOk(t1)) return false;
  const t2 = el(b, t1, ve);
  if (t2 !== ve || !timeOk(t2)) return false;
  let q = el(b, ve, e);
  if (q < 0 || !is(Tag.SEQUENCE) || !nameOk(b, C, q)) return false;
  q = el(b, q, e);
  if (q < 0 || !is(Tag.SEQUENCE) || !spkiOk(b, C, q)) return false;
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3], each at most once and in that order.
  for (let last = 0, p = q; p < e; p = q) {
    q = el(b, p, e);
    const n = T & 0x1f;
    if (q < 0 || (T & 0xc0) !== 0x80 || n <= last || n > 3 || (n === 3 && !is(0xa3))) return false;
    last = n;
  }
  return true;
}

/** From thisUpdate (ending at p) to the end of a TBSCertList. */
function crlRest(b: Uint8Array, p: number, e: number): boolean {
  let stage = 0; // 1 nextUpdate, 2 revokedCertificates, 3 crlExtensions
  while (p < e) {
    const q = el(b, p, e);
    if (q < 0) return false;
    const s = timeOk(q) ? 1 : is(Tag.SEQUENCE) ? 2 : is(0xa0) ? 3 : 0;
    if (s <= stage) return false;
    stage = s;
    p = q;
  }
  return true;
}

const PKCS7 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];
const PKCS5 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
const PKCS12_PBE = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];

function startsWith(b: Uint8Array, s: number, e: number, prefix: readonly number[]): boolean {
  if (e - s < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[s + i] !== prefix[i]) return false;
  return true;
}

/** ContentInfo content: a PKCS#7 content type and its [0] EXPLICIT content. */
function cmsOk(b: Uint8Array, s: number, e: number): boolean {
  const o = el(b, s, e);
  if (o < 0 || !is(Tag.OID) || o - C !== 9 || !startsWith(b, C, o, PKCS7)) return false;
  const type = b[o - 1]!;
  if (type < 1 || type > 6) return false;
  const x = el(b, o, e);
  if (x !== e || !is(0xa0)) return false;
  const inner = el(b, C, x);
  if (inner !== x) return false;
  if (type === 1) return is(Tag.OCTET_STRING);
  if (!is(Tag.SEQUENCE)) return false;
  if (type !== 2) return true;
  // SignedData: version 1 to 5, then the digestAlgorithms SET.
  const v = el(b, C, inner);
  if (v < 0 || !is(Tag.INTEGER) || v - C !== 1 || b[C]! < 1 || b[C]! > 5) return false;
  return el(b, v, inner) > 0 && is(Tag.SET);
}

/** Content of a SEQUENCE whose first element is an INTEGER: PKCS#8, SEC1, PKCS#1 or DSA private key. */
function keyOk(b: Uint8Array, s: number, e: number): boolean {
  const v = el(b, s, e);
  if (v < 0) return false;
  const version = v - C === 1 ? b[C]! : -1;
  const q = el(b, v, e);
  if (q < 0) return false;
  if (is(Tag.SEQUENCE)) {
    // PrivateKeyInfo / OneAsymmetricKey: algorithm, key octets, then [0] attributes and [1] public key.
    if ((version !== 0 && version !== 1) || !algId(b, C, q)) return false;
    const k = el(b, q, e);
    if (k < 0 || !is(Tag.OCTET_STRING) || k - C < 16) return false;
    return trailers(b, k, e, 0xa0, 0x81);
  }
  if (is(Tag.OCTET_STRING)) {
    // ECPrivateKey: a bare scalar could be anything, so at least one of [0] and [1] must follow.
    if (version !== 1 || q - C < 20 || q - C > 66 || q === e) return false;
    return trailers(b, q, e, 0xa0, 0xa1);
  }
  if (!is(Tag.INTEGER) || (version !== 0 && version !== 1) || q - C < 32 || b[C]! & 0x80) return false;
  // RSAPrivateKey: nine INTEGERs (version 1 adds otherPrimeInfos); OpenSSL's DSA key: six.
  let n = 2;
  let p = q;
  for (; p < e && n <= 9; n++) {
    const r = el(b, p, e);
    if (r < 0) return false;
    if (!is(Tag.INTEGER)) {
      if (version !== 1 || n !== 9 || !is(Tag.SEQUENCE) || r !== e) return false;
      return true;
    }
    p = r;
  }
  return p === e && version === 0 && (n === 9 || n === 6);
}

/** Optional context-tagged elements [first] then [second] after `p`, tiling up to `e`. */
function trailers(b: Uint8Array, p: number, e: number, first: number, second: number): boolean {
  let q = p;
  if (q < e) {
    const r = el(b, q, e);
    if (r < 0 || (!is(first) && !is(second))) return false;
    const firstSeen = is(first);
    q = r;
    if (q < e && firstSeen) {
      const t = el(b, q, e);
      if (t < 0 || !is(second)) return false;
      q = t;
    }
  }
  return q === e;
}

/** EncryptedPrivateKeyInfo content after its AlgorithmIdentifier SEQUENCE (content [as, ae)). */
function encryptedKeyOk(b: Uint8Array, as: number, ae: number, e: number): boolean {
  const o = el(b, as, ae);
  if (o < 0 || !is(Tag.OID) || !(startsWith(b, C, o, PKCS5) || startsWith(b, C, o, PKCS12_PBE))) return false;
  if (!algId(b, as, ae)) return false;
  const k = el(b, ae, e);
  return k === e && is(Tag.OCTET_STRING) && k - C >= 8;
}

let E = 0; // end of the object the last accepted probe found

/** The kind of DER object starting with a SEQUENCE at `s`, or 0; sets E. */
function derAt(b: Uint8Array, s: number): number {
  const e = el(b, s, b.length);
  if (e < 0 || !is(Tag.SEQUENCE)) return 0;
  const c = C;
  const k1 = el(b, c, e);
  if (k1 < 0) return 0;
  let kind = 0;
  if (is(Tag.SEQUENCE)) {
    const c1 = C;
    const k2 = el(b, k1, e);
    if (k2 < 0) return 0;
    if (k2 === e) {
      if (is(Tag.BIT_STRING)) kind = spkiOk(b, c, e) ? SPKI : 0;
      else if (is(Tag.OCTET_STRING)) kind = encryptedKeyOk(b, c1, k1, e) ? KEY : 0;
    } else if (is(Tag.SEQUENCE) && algId(b, C, k2)) {
      const k3 = el(b, k2, e);
      if (k3 === e && bitsOk(b, k3)) kind = tbsKind(b, c1, k1);
    }
  } else if (is(Tag.INTEGER)) kind = keyOk(b, c, e) ? KEY : 0;
  else if (is(Tag.OID)) kind = cmsOk(b, c, e) ? CMS : 0;
  if (kind !== 0) E = e;
  return kind;
}

// ---- PEM ----

const DASH = 0x2d;
const BEGIN = Buffer.from('-----BEGIN ', 'latin1');
const END = Buffer.from('-----END ', 'latin1');
const DASHES = Buffer.from('-----', 'latin1');
const MAX_LABEL = 64;

function labelByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20 || c === 0x23 || c === 0x5f;
}

function fiveDashes(b: Uint8Array, i: number): boolean {
  return b[i] === DASH && b[i + 1] === DASH && b[i + 2] === DASH && b[i + 3] === DASH && b[i + 4] === DASH;
}

/** A PEM block whose BEGIN line starts at `s` (the caller matched 'BEGIN ' at s + 5), or 0; sets E. */
function pemAt(b: Buffer, s: number): number {
  if (!fiveDashes(b, s)) return 0;
  const ls = s + BEGIN.length;
  const lmax = Math.min(b.length, ls + MAX_LABEL + 1);
  let le = ls;
  for (; le < lmax; le++) {
    const c = b[le]!;
    if (c === DASH && fiveDashes(b, le)) break;
    if (!labelByte(c) && c !== DASH) return 0;
  }
  if (le === ls || le === lmax) return 0;
  const bodyStart = le + 5;
  // A body holds no run of five dashes, so the next one must open our END line; this search stops at
  // the next block's dashes at the latest, which keeps the whole sweep linear.
  const d = b.indexOf(DASHES, bodyStart);
  const end = d + END.length + (le - ls) + 5;
  if (d < 0 || end - s > MAX_PEM || end > b.length) return 0;
  if (b.compare(END, 0, END.length, d, d + END.length) !== 0) return 0;
  if (b.compare(b, ls, le, d + END.length, end - 5) !== 0 || !fiveDashes(b, end - 5)) return 0;
  for (let i = bodyStart; i < d; i++) {
    const c = b[i]!;
    if ((c < 0x20 || c > 0x7e) && c !== 0x0a && c !== 0x0d && c !== 0x09) return 0;
  }
  E = end;
  return PEM;
}

// ---- the passes ----

interface Pass {
  readonly pattern: Buffer;
  /** Where an object may start relative to the match, nearest first: start = match - back. */
  readonly backs: readonly number[];
  readonly minBack: number;
  readonly maxBack: number;
  /** Only objects with a one-octet length: longer ones are the `30 81`/`30 82` passes' business. */
  readonly short: boolean;
}

const pass = (bytes: number[] | Buffer, backs: number[], short: boolean): Pass => ({
  pattern: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes),
  backs,
  minBack: Math.min(...backs),
  maxBack: Math.max(...backs),
  short,
});

// Order breaks ties between passes whose earliest candidate starts coincide: longer objects first.
const PASSES: readonly Pass[] = [
  pass([0x30, 0x82], [0], false),
  pass([0x30, 0x81], [0], false),
  pass(Buffer.from('BEGIN ', 'latin1'), [5], false),
  // 30 L 30 05 | 06 03 2b 65 xx (SPKI), 30 L 02 01 0v 30 05 | 06 03 2b 65 xx (PKCS#8).
  pass([0x06, 0x03, 0x2b, 0x65], [4, 7], true),
  // 30 L 30 L 06 07 2a 86 48 | ce 3d 02 01 (SPKI), with 02 01 0v ahead of the algorithm (PKCS#8).
  pass([0xce, 0x3d, 0x02, 0x01], [9, 12], true),
  // 30 L | 02 01 01 04 (ECPrivateKey).
  pass([0x02, 0x01, 0x01, 0x04], [2], true),
];
const NPASS = PASSES.length;
const PEM_PASS = 2;

function probe(b: Buffer, p: Pass, i: number, s: number): number {
  if (i === PEM_PASS) return pemAt(b, s);
  if (p.short && (b[s] !== 0x30 || b[s + 1]! >= 0x80)) return 0;
  return derAt(b, s);
}

function clamp(v: number | undefined, lo: number, hi: number, dflt: number): number {
  const n = v === undefined || Number.isNaN(v) ? dflt : Math.trunc(v);
  return n < lo ? lo : n > hi ? hi : n;
}

/** Candidates only: structurally plausible DER or PEM ranges; the caller parses them. */
export function* sweep(buf: Uint8Array, opts: SweepOptions = {}): Generator<SweepHit> {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = b.length;
  const from = clamp(opts.from, 0, len, 0);
  const to = clamp(opts.to, from, len, len);
  const maxHits = clamp(opts.maxHits, 0, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_HITS);
  if (maxHits === 0) return;
  // next[i]: pass i's current match, or -1 when it has none left in this window.
  const next = new Array<number>(NPASS).fill(-1);
  const hay = new Array<Buffer>(NPASS);
  let pos = from; // nothing before this may start a hit: the start of the sweep or past the last hit
  let hits = 0;
  for (let w = from; w < to;) {
    const we = Math.min(to, w + WINDOW);
    if (pos < w) pos = w; // every start before w was tried in an earlier window
    // A window owns the starts in [w, we); each pass looks only at matches that could begin one.
    const find = (i: number, at: number): number => {
      const a = hay[i]!.indexOf(PASSES[i]!.pattern, at);
      return a === -1 || a >= we + PASSES[i]!.maxBack ? -1 : a;
    };
    for (let i = 0; i < NPASS; i++) {
      const p = PASSES[i]!;
      hay[i] = b.subarray(0, Math.min(len, we + p.maxBack + p.pattern.length - 1));
      next[i] = find(i, pos + p.minBack);
    }
    for (;;) {
      let i = -1;
      let key = Infinity;
      for (let j = 0; j < NPASS; j++) {
        const a = next[j]!;
        if (a >= 0 && a - PASSES[j]!.maxBack < key) {
          key = a - PASSES[j]!.maxBack;
          i = j;
        }
      }
      if (i < 0) break;
      const p = PASSES[i]!;
      const a = next[i]!;
      let kind = 0;
      let s = 0;
      for (let k = p.backs.length - 1; k >= 0 && kind === 0; k--) {
        s = a - p.backs[k]!;
        if (s >= pos && s < we) kind = probe(b, p, i, s);
      }
      if (kind === 0) {
        next[i] = find(i, a + 1);
        continue;
      }
      yield { offset: s, end: E, kind: KIND[kind] as SweepHit['kind'] };
      if (++hits >= maxHits) return;
      pos = E;
      if (pos >= we) break;
      for (let j = 0; j < NPASS; j++) {
        const q = PASSES[j]!;
        if (next[j]! >= 0 && next[j]! - q.minBack < pos) next[j] = find(j, pos + q.minBack);
      }
    }
    w = Math.max(we, pos);
  }
}

/** A hit from sweepFd, with its bytes: a view of the read buffer, valid until the next hit is asked for. */
export interface FdSweepHit extends SweepHit {
  readonly bytes: Uint8Array;
}

/**
 * Sweep a file descriptor from its current position to its end in chunks, with memory fixed at one
 * chunk plus SWEEP_OVERLAP. Offsets are relative to where reading began.
 */
export function* sweepFd(
  fd: number,
  opts: { chunkSize?: number; maxHits?: number } = {},
): Generator<FdSweepHit> {
  const chunk = clamp(opts.chunkSize, SWEEP_OVERLAP, 1 << 30, 8 << 20);
  let left = clamp(opts.maxHits, 0, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_HITS);
  const buf = Buffer.allocUnsafe(chunk + SWEEP_OVERLAP);
  let have = 0;
  let base = 0; // file offset of buf[0]
  let skip = 0; // file offset where the last hit ended: its nested objects are not reported
  let eof = false;
  while (left > 0) {
    while (have < buf.length && !eof) {
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) eof = true;
      have += n;
    }
    const view = buf.subarray(0, have);
    const to = eof ? have : have - SWEEP_OVERLAP;
    for (const h of sweep(view, { from: Math.max(0, skip - base), to, maxHits: left })) {
      left--;
      skip = base + h.end;
      yield { offset: base + h.offset, end: skip, kind: h.kind, bytes: view.subarray(h.offset, h.end) };
    }
    if (eof) return;
    buf.copyWithin(0, to, have);
    base += to;
    have -= to;
  }
}
