/**
 * A small DER encoder for building test certificates and keys (X.690 definite-length encoding).
 *
 * Every function returns a complete TLV as a Buffer; constructed values take their already-encoded
 * children. Nothing here is tuned for hostile input: callers are our own builders.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Definite-length header for a value of `len` octets (short form below 128, long form otherwise). */
export function header(tag: number, len: number): Buffer {
  if (!Number.isInteger(len) || len < 0) throw new RangeError(`bad DER length ${len}`);
  if (len < 0x80) {
    const h = Buffer.allocUnsafe(2);
    h[0] = tag;
    h[1] = len;
    return h;
  }
  let n = 0;
  for (let v = len; v > 0; v = Math.floor(v / 256)) n++;
  const h = Buffer.allocUnsafe(2 + n);
  h[0] = tag;
  h[1] = 0x80 | n;
  for (let i = n - 1, v = len; i >= 0; i--, v = Math.floor(v / 256)) h[2 + i] = v & 0xff;
  return h;
}

/** One TLV whose content is the concatenation of `parts` (header written in place: one allocation). */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  let hl = 2;
  if (len >= 0x80) for (let v = len; v > 0; v = Math.floor(v / 256)) hl++;
  const out = Buffer.allocUnsafe(hl + len);
  out[0] = tag;
  if (hl === 2) out[1] = len;
  else {
    out[1] = 0x80 | (hl - 2);
    for (let i = hl - 1, v = len; i >= 2; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  let pos = hl;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...items);

/** SET OF, with elements sorted by their encodings as DER requires (X.690 11.6). */
export function setOf(...items: Uint8Array[]): Buffer {
  const sorted = [...items].sort((a, b) => Buffer.compare(a, b));
  return tlv(TAG.SET, ...sorted);
}

/** Context-specific [n] EXPLICIT (constructed) wrapper around already-encoded elements. */
export const explicit = (n: number, ...inner: Uint8Array[]): Buffer => tlv(0xa0 | n, ...inner);

/** Context-specific [n] IMPLICIT: `constructed` keeps the 0x20 bit for SEQUENCE-like base types. */
export const implicit = (n: number, content: Uint8Array, constructed = false): Buffer =>
  tlv((constructed ? 0xa0 : 0x80) | n, content);

/** Re-tag an encoded element (IMPLICIT tagging of a value someone else encoded). */
export function retag(encoded: Uint8Array, tag: number): Buffer {
  const out = Buffer.from(encoded);
  out[0] = tag;
  return out;
}

export const boolean = (v: boolean): Buffer => Buffer.from([TAG.BOOLEAN, 1, v ? 0xff : 0x00]);

export const nullValue = (): Buffer => Buffer.from([TAG.NULL, 0]);

export const octetString = (v: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, v);

/** BIT STRING whose content is whole octets (`unused` trailing bits of the last octet are padding). */
export function bitString(v: Uint8Array, unused = 0): Buffer {
  if (unused < 0 || unused > 7 || (unused > 0 && v.length === 0))
    throw new RangeError(`bad unused-bit count`);
  return tlv(TAG.BIT_STRING, Buffer.of(unused), v);
}

/**
 * A named-bit BIT STRING (KeyUsage, ReasonFlags): bit 0 is the most significant bit of the first
 * octet, and DER drops trailing zero bits (X.690 11.2.2), so the value is as short as it can be.
 */
export function namedBits(bits: Iterable<number>): Buffer {
  let max = -1;
  const set = new Set<number>();
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) throw new RangeError(`bad bit number ${b}`);
    set.add(b);
    if (b > max) max = b;
  }
  if (max < 0) return tlv(TAG.BIT_STRING, Buffer.of(0));
  const octets = Buffer.alloc((max >> 3) + 1);
  for (const b of set) octets[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(octets, 7 - (max & 7));
}

/** Minimal two's-complement INTEGER content for a bigint. */
function integerContent(v: bigint): Buffer {
  if (v === 0n) return Buffer.of(0);
  const bytes: number[] = [];
  if (v > 0n) {
    for (let x = v; x > 0n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
    if (bytes[0]! & 0x80) bytes.unshift(0);
  } else {
    // Smallest width whose two's complement holds v, then the low bytes of (2^(8n) + v).
    let n = 1;
    while (-(1n << BigInt(8 * n - 1)) > v) n++;
    let x = (1n << BigInt(8 * n)) + v;
    for (let i = 0; i < n; i++, x >>= 8n) bytes.unshift(Number(x & 0xffn));
  }
  return Buffer.from(bytes);
}

/**
 * INTEGER from a number, a bigint, or unsigned big-endian magnitude bytes (e.g. a random serial);
 * bytes get leading zeros stripped and a 0x00 sign octet added when the top bit is set.
 */
export function integer(v: number | bigint | Uint8Array): Buffer {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    return tlv(TAG.INTEGER, integerContent(BigInt(v)));
  }
  if (typeof v === 'bigint') return tlv(TAG.INTEGER, integerContent(v));
  let s = 0;
  while (s < v.length - 1 && v[s] === 0) s++;
  const mag = v.subarray(s);
  if (mag.length === 0) return tlv(TAG.INTEGER, Buffer.of(0));
  return mag[0]! & 0x80 ? tlv(TAG.INTEGER, Buffer.of(0), mag) : tlv(TAG.INTEGER, mag);
}

const oidMemo = new Map<string, Buffer>();

/** OBJECT IDENTIFIER from dotted text; arcs are base-128 with the first two folded as 40*a+b. */
export function oid(dotted: string): Buffer {
  const hit = oidMemo.get(dotted);
  if (hit) return hit;
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`bad OID ${dotted}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a, b] = [arcs[0]!, arcs[1]!];
  if (a < 2n && b > 39n) throw new RangeError(`bad OID ${dotted}: second arc over 39`);
  const out: number[] = [];
  for (const arc of [a * 40n + b, ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let x = arc >> 7n; x > 0n; x >>= 7n) group.unshift(Number(x & 0x7fn) | 0x80);
    out.push(...group);
  }
  const enc = tlv(TAG.OID, Buffer.from(out));
  if (oidMemo.size < 1024) oidMemo.set(dotted, enc);
  return enc;
}

export const utf8String = (s: string): Buffer => tlv(TAG.UTF8String, Buffer.from(s, 'utf8'));

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
export const isPrintable = (s: string): boolean => PRINTABLE.test(s);

export function printableString(s: string): Buffer {
  if (!isPrintable(s)) throw new RangeError(`not a PrintableString: ${JSON.stringify(s)}`);
  return tlv(TAG.PrintableString, Buffer.from(s, 'latin1'));
}

export function ia5String(s: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError(`not an IA5String: ${JSON.stringify(s)}`);
  return tlv(TAG.IA5String, Buffer.from(s, 'latin1'));
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

function wholeSeconds(d: Date): Date {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError('invalid Date');
  return new Date(t - (((t % 1000) + 1000) % 1000));
}

/** UTCTime YYMMDDHHMMSSZ; only years 1950..2049 are representable (RFC 5280 4.1.2.5.1). */
export function utcTime(d: Date): Buffer {
  const w = wholeSeconds(d);
  const y = w.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new RangeError(`UTCTime cannot hold year ${y}`);
  const s = pad2(y % 100) + monthToSecond(w);
  return tlv(TAG.UTCTime, Buffer.from(s, 'latin1'));
}

/** MMDDHHMMSSZ: the part UTCTime and GeneralizedTime share. */
function monthToSecond(w: Date): string {
  return (
    pad2(w.getUTCMonth() + 1) +
    pad2(w.getUTCDate()) +
    pad2(w.getUTCHours()) +
    pad2(w.getUTCMinutes()) +
    pad2(w.getUTCSeconds()) +
    'Z'
  );
}

/** GeneralizedTime YYYYMMDDHHMMSSZ without fractions (RFC 5280 4.1.2.5.2). */
export function generalizedTime(d: Date): Buffer {
  const w = wholeSeconds(d);
  const y = w.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`GeneralizedTime cannot hold year ${y}`);
  const s = String(y).padStart(4, '0') + monthToSecond(w);
  return tlv(TAG.GeneralizedTime, Buffer.from(s, 'latin1'));
}

/** The RFC 5280 choice for certificate validity: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(d: Date): Buffer {
  const y = wholeSeconds(d).getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** PEM armour with 64-character base64 lines (RFC 7468). */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
