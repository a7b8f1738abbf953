import { CoreError, malformed } from './error.ts';

/**
 * A bounded DER reader. Every read is checked against the enclosing element's end, lengths must be
 * minimal definite-length encodings, and nesting is capped, so hostile input fails fast with a
 * CoreError instead of reading past a buffer or recursing without bound.
 */

/** One TLV: `tag` is the identifier octet, content is bytes [start, end). `hs` is where the header began. */
export interface Tlv {
  readonly tag: number;
  readonly hs: number;
  readonly start: number;
  readonly end: number;
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  NumericString: 0x12,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export const MAX_DEPTH = 32;

/** Read the TLV at `pos`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) malformed(`truncated header at offset ${pos}`);
  // A caller's bounds outside the buffer would read undefined octets and yield a Tlv with NaN fields.
  if (pos < 0 || limit > buf.length)
    malformed(`range [${pos}, ${limit}) outside a buffer of ${buf.length} octets`);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) malformed(`high-tag-number form at offset ${pos}`);
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) malformed(`indefinite length at offset ${pos}`);
    if (n > 4) malformed(`length of ${n} octets at offset ${pos}`);
    if (start + n > limit) malformed(`truncated length at offset ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (buf[start] === 0 || len < 0x80) malformed(`non-minimal length at offset ${pos}`);
    start += n;
  }
  const end = start + len;
  if (end > limit) malformed(`length ${len} at offset ${pos} runs past the end (${limit})`);
  return { tag, hs: pos, start, end };
}

/** Scratch result of readHead, overwritten by every call: read it at once, never keep it. */
export const head = { tag: 0, start: 0, end: 0 };

/**
 * readTlv without the allocation, for fast paths: fills `head` and returns true exactly when readTlv
 * would accept the element at `pos` within `limit`, false otherwise (the caller then falls back to
 * its checked code, which throws readTlv's usual error).
 */
export function readHead(buf: Uint8Array, pos: number, limit: number): boolean {
  if (pos < 0 || pos + 2 > limit || limit > buf.length) return false;
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) return false;
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (buf[start] === 0 || len < 0x80) return false;
    start += n;
  }
  const end = start + len;
  if (end > limit) return false;
  head.tag = tag;
  head.start = start;
  head.end = end;
  return true;
}

/** Parse a whole buffer region as exactly one TLV. */
export function readOne(buf: Uint8Array, start = 0, end = buf.length): Tlv {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
    malformed(`range [${start}, ${end}) is not a pair of integer offsets`);
  const t = readTlv(buf, start, end);
  if (t.end !== end) malformed(`${end - t.end} trailing bytes after element at offset ${start}`);
  return t;
}

/** The children of a constructed element, checked to tile its content exactly. */
export function children(buf: Uint8Array, parent: Tlv, max = 100_000): Tlv[] {
  if (!(parent.tag & 0x20)) malformed(`element at offset ${parent.hs} is not constructed`);
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    if (out.length >= max) malformed(`more than ${max} elements at offset ${parent.hs}`);
    const t = readTlv(buf, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new CoreError('DER_UNEXPECTED', `missing ${what}`);
  if (t.tag !== tag)
    throw new CoreError(
      'DER_UNEXPECTED',
      `${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)} at offset ${t.hs}`,
    );
  return t;
}

/** Children of a SEQUENCE (or other constructed tag) after checking its tag. */
export function seq(buf: Uint8Array, t: Tlv | undefined, what: string, tag: number = Tag.SEQUENCE): Tlv[] {
  return children(buf, expectTag(t, tag, what));
}

/** Verify nesting depth of a whole element tree; used once on untrusted input before deep decoding. */
export function checkDepth(buf: Uint8Array, t: Tlv, depth = 0): void {
  if (depth > MAX_DEPTH) malformed(`nesting deeper than ${MAX_DEPTH} at offset ${t.hs}`);
  if (!(t.tag & 0x20)) return;
  let pos = t.start;
  while (pos < t.end) {
    const c = readTlv(buf, pos, t.end);
    checkDepth(buf, c, depth + 1);
    pos = c.end;
  }
}

const oidCache = new Map<string, string>();

// A direct-mapped front for oidCache: slot by a cheap hash of the OID octets, confirmed by comparing
// them, so the common OIDs are found without building a string key. Only valid OIDs are ever stored.
const OID_SLOTS = 1024;
const oidSlotBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(OID_SLOTS).fill(undefined);
const oidSlotText: string[] = new Array<string>(OID_SLOTS).fill('');

export function readOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== Tag.OID) malformed(`expected OID at offset ${t.hs}`);
  return readOidAt(buf, t.hs, t.start, t.end);
}

/** The OID whose content is buf[start, end) and whose header began at `hs` (for error messages). */
export function readOidAt(buf: Uint8Array, hs: number, start: number, end: number): string {
  if (start === end || end - start > 64) malformed(`OID of ${end - start} octets at offset ${hs}`);
  let h = end - start;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  // Two candidate slots, so two hot OIDs that hash alike do not keep evicting each other.
  const slot = (h ^ (h >>> 13)) & (OID_SLOTS - 1);
  const known = oidSlotBytes[slot];
  if (known !== undefined && sameBytes(known, buf, start, end)) return oidSlotText[slot]!;
  const other = slot ^ 1;
  const near = oidSlotBytes[other];
  if (near !== undefined && sameBytes(near, buf, start, end)) return oidSlotText[other]!;
  const oid = decodeOid(buf, hs, start, end);
  const into = known !== undefined && near === undefined ? other : slot;
  oidSlotBytes[into] = new Uint8Array(buf.subarray(start, end)); // a copy: the input may be reused
  oidSlotText[into] = oid;
  return oid;
}

function decodeOid(buf: Uint8Array, hs: number, start: number, end: number): string {
  const key = latin1(buf, start, end);
  const hit = oidCache.get(key);
  if (hit !== undefined) return hit;
  const arcs: number[] = [];
  let v = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (v === 0 && b === 0x80) malformed(`non-minimal OID arc at offset ${hs}`);
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) malformed(`OID arc too large at offset ${hs}`);
    if (!(b & 0x80)) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        arcs.push(first, v - first * 40);
      } else arcs.push(v);
      v = 0;
    } else if (i === end - 1) malformed(`unterminated OID at offset ${hs}`);
  }
  const oid = arcs.join('.');
  if (oidCache.size < 4096) oidCache.set(key, oid);
  return oid;
}

/** Whether `a` holds exactly the octets buf[start, end). */
export function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  const n = a.length;
  if (n !== end - start) return false;
  // The cache lookups call this for every name, key and shared extension: a native compare's fixed
  // cost pays off from a few dozen octets (names, keys, URLs), a loop four octets a step below that.
  if (n >= 64) {
    if (start < 0 || end > buf.length) return false;
    return compareBytes.call(buf, a, 0, n, start, end) === 0;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const j = start + i;
    if (a[i] !== buf[j] || a[i + 1] !== buf[j + 1] || a[i + 2] !== buf[j + 2] || a[i + 3] !== buf[j + 3])
      return false;
  }
  for (; i < n; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

// Buffer's compare accepts any Uint8Array as `this`, so inputs that are not Buffers work too.
const compareBytes = Buffer.prototype.compare as (
  this: Uint8Array,
  target: Uint8Array,
  targetStart: number,
  targetEnd: number,
  sourceStart: number,
  sourceEnd: number,
) => number;

/** INTEGER as lowercase hex without the sign octet (serials, moduli). Negative values keep a '-' prefix. */
export function readIntegerHex(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== Tag.INTEGER && t.tag !== Tag.ENUMERATED) malformed(`expected INTEGER at offset ${t.hs}`);
  let { start } = t;
  const { end } = t;
  if (start === end) malformed(`empty INTEGER at offset ${t.hs}`);
  if (buf[start]! & 0x80) {
    // Two's complement negative: invert and add one to get the magnitude.
    const mag = Buffer.from(buf.subarray(start, end));
    for (let i = 0; i < mag.length; i++) mag[i] = ~mag[i]! & 0xff;
    for (let i = mag.length - 1; i >= 0; i--) {
      mag[i] = (mag[i]! + 1) & 0xff;
      if (mag[i] !== 0) break;
    }
    return '-' + stripHex(mag.toString('hex'));
  }
  while (start < end - 1 && buf[start] === 0) start++;
  return hex(buf, start, end);
}

function stripHex(h: string): string {
  const s = h.replace(/^(00)+/, '');
  return s === '' ? '00' : s;
}

/** Bit length of a non-negative INTEGER (RSA modulus size). */
export function integerBits(buf: Uint8Array, t: Tlv): number {
  let s = t.start;
  while (s < t.end && buf[s] === 0) s++;
  if (s === t.end) return 0;
  return (t.end - s - 1) * 8 + (32 - Math.clz32(buf[s]!));
}

/** A small non-negative INTEGER as a number (versions, pathLen, reason codes). */
export function readSmallInt(buf: Uint8Array, t: Tlv): number {
  if (t.tag !== Tag.INTEGER && t.tag !== Tag.ENUMERATED) malformed(`expected INTEGER at offset ${t.hs}`);
  const n = t.end - t.start;
  if (n === 0 || n > 6)
    malformed(`INTEGER of ${n} octets where a small number was expected at offset ${t.hs}`);
  if (buf[t.start]! & 0x80) malformed(`negative INTEGER at offset ${t.hs}`);
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + buf[i]!;
  return v;
}

export function readBoolean(buf: Uint8Array, t: Tlv): boolean {
  if (t.tag !== Tag.BOOLEAN || t.end - t.start !== 1) malformed(`expected BOOLEAN at offset ${t.hs}`);
  return buf[t.start] !== 0;
}

/** BIT STRING content without the unused-bits octet, and the count of unused bits. */
export function readBitString(buf: Uint8Array, t: Tlv): { start: number; end: number; unused: number } {
  if (t.tag !== Tag.BIT_STRING) malformed(`expected BIT STRING at offset ${t.hs}`);
  if (t.start === t.end) malformed(`empty BIT STRING at offset ${t.hs}`);
  const unused = buf[t.start]!;
  if (unused > 7 || (unused > 0 && t.end - t.start === 1))
    malformed(`bad unused-bit count at offset ${t.hs}`);
  return { start: t.start + 1, end: t.end, unused };
}

const d2 = (buf: Uint8Array, i: number): number => {
  const a = buf[i]! - 48;
  const b = buf[i + 1]! - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return NaN;
  return a * 10 + b;
};

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, mon: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return mon === 2 && leap ? 29 : (MONTH_DAYS[mon - 1] ?? 0);
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date, as Date.UTC counts them but without its
 * argument coercion (it runs twice per certificate). Years are counted from March so the leap day
 * ends a year; 146097 days make one 400-year era. NaN in gives NaN out.
 */
function epochDays(year: number, mon: number, day: number): number {
  const y = mon <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * UTCTime or GeneralizedTime as epoch milliseconds. RFC 5280 forms (Zulu, with seconds) are the
 * norm; offsets and missing seconds appear in old certificates and are accepted, fractions too.
 */
export function readTime(buf: Uint8Array, t: Tlv): number {
  const { start, end } = t;
  let i = start;
  let year: number;
  if (t.tag === Tag.UTCTime) {
    const yy = d2(buf, i);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    i += 2;
  } else if (t.tag === Tag.GeneralizedTime) {
    year = d2(buf, i) * 100 + d2(buf, i + 2);
    i += 4;
  } else return malformed(`expected a time at offset ${t.hs}`);
  if (end - i < 8) malformed(`time too short at offset ${t.hs}`);
  const mon = d2(buf, i);
  const day = d2(buf, i + 2);
  const hour = d2(buf, i + 4);
  const min = d2(buf, i + 6);
  i += 8;
  let sec = 0;
  if (i + 1 < end && buf[i]! >= 48 && buf[i]! <= 57) {
    sec = d2(buf, i);
    i += 2;
  }
  let ms = 0;
  if (i < end && (buf[i] === 0x2e || buf[i] === 0x2c)) {
    i++;
    let scale = 100;
    while (i < end && buf[i]! >= 48 && buf[i]! <= 57) {
      ms += (buf[i]! - 48) * scale;
      scale /= 10;
      i++;
    }
    ms = Math.floor(ms);
  }
  let offsetMin = 0;
  if (i < end && buf[i] === 0x5a) i++;
  else if (i + 5 <= end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    const sign = buf[i] === 0x2b ? 1 : -1;
    offsetMin = sign * (d2(buf, i + 1) * 60 + d2(buf, i + 3));
    i += 5;
  }
  if (i !== end) malformed(`unexpected characters in time at offset ${t.hs}`);
  if (!(mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour <= 23 && min <= 59 && sec <= 60))
    malformed(`invalid date or time at offset ${t.hs}`);
  // Date.UTC would quietly roll 31 April into 1 May.
  if (day > daysInMonth(year, mon)) malformed(`no day ${day} in month ${mon} of ${year} at offset ${t.hs}`);
  let utc = epochDays(year, mon, day) * 86_400_000 + hour * 3_600_000 + min * 60_000 + sec * 1000 + ms;
  if (year < 100) {
    // Date.UTC reads years 0-99 as 1900-1999; a GeneralizedTime can name them, so set the year exactly.
    const d = new Date(0);
    d.setUTCFullYear(year, mon - 1, day);
    utc = d.setUTCHours(hour, min, sec, ms);
  }
  const v = utc - offsetMin * 60_000;
  if (!Number.isFinite(v)) malformed(`invalid time at offset ${t.hs}`);
  return v;
}

export const STRING_TYPES: Record<number, string> = {
  [Tag.UTF8String]: 'UTF8String',
  [Tag.NumericString]: 'NumericString',
  [Tag.PrintableString]: 'PrintableString',
  [Tag.TeletexString]: 'TeletexString',
  [Tag.IA5String]: 'IA5String',
  [Tag.VisibleString]: 'VisibleString',
  [Tag.UniversalString]: 'UniversalString',
  [Tag.BMPString]: 'BMPString',
};

/** Decode any ASN.1 character string type; anything else is shown as '#' + hex (RFC 4514 style). */
export function readString(buf: Uint8Array, t: Tlv): string {
  return readStringAt(buf, t.tag, t.hs, t.start, t.end);
}

/** readString for an element read with readHead: tag, header start and content [start, end). */
export function readStringAt(buf: Uint8Array, tag: number, hs: number, start: number, end: number): string {
  switch (tag) {
    case Tag.UTF8String:
      return utf8(buf, start, end);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.NumericString:
    case Tag.VisibleString:
    case Tag.TeletexString:
      return latin1(buf, start, end);
    case Tag.BMPString: {
      let s = '';
      for (let i = start; i + 1 < end; i += 2) s += String.fromCharCode((buf[i]! << 8) | buf[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      let s = '';
      for (let i = start; i + 3 < end; i += 4) {
        const cp = ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      return '#' + hex(buf, hs, end);
  }
}

// Node's undocumented-in-types slice decoders skip toString's argument juggling on the hot path.
const fast = Buffer.prototype as unknown as {
  hexSlice(this: Uint8Array, start: number, end: number): string;
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  utf8Slice(this: Uint8Array, start: number, end: number): string;
};

export function hex(buf: Uint8Array, start: number, end: number): string {
  return fast.hexSlice.call(buf, start, end);
}

export function latin1(buf: Uint8Array, start: number, end: number): string {
  return fast.latin1Slice.call(buf, start, end);
}

export function utf8(buf: Uint8Array, start: number, end: number): string {
  return fast.utf8Slice.call(buf, start, end);
}

export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
