/** PEM blocks found anywhere in text: concatenated bundles, keys inside config files, logs, scripts. */
export interface PemBlock {
  /** The label between BEGIN and END, e.g. 'CERTIFICATE' or 'RSA PRIVATE KEY'. */
  readonly label: string;
  /** Byte offset of the BEGIN line in the input. */
  readonly offset: number;
  /** Decoded body; empty when the base64 is invalid (see `error`). */
  readonly der: Buffer;
  /** RFC 1421 headers such as Proc-Type and DEK-Info (legacy encrypted OpenSSL keys). */
  readonly headers: Readonly<Record<string, string>>;
  readonly error?: string;
}

const BEGIN = '-----BEGIN ';
const MAX_LABEL = 64;

/** Cheap test used before the full scan: avoids decoding binary files as text when there is no PEM. */
export function hasPem(buf: Uint8Array): boolean {
  return Buffer.prototype.indexOf.call(buf, BEGIN, 0, 'latin1') !== -1;
}

export function findPemBlocks(input: Buffer, maxBlocks = 1_000_000): PemBlock[] {
  return [...pemBlocks(input, maxBlocks)];
}

/**
 * The blocks one at a time, so a caller that handles each as it comes (a scan of a large bundle) keeps
 * only the current block alive instead of every decoded body at once.
 */
export function* pemBlocks(input: Buffer, maxBlocks = 1_000_000): Generator<PemBlock, void, undefined> {
  let count = 0;
  let pos = 0;
  // Where the next '_' is at or after the current body, or -1 when there is none: found lazily and
  // only moved forward, so a bundle costs one scan for it rather than one per block.
  let underscore = 0;
  while (count < maxBlocks) {
    const b = input.indexOf(BEGIN_BYTES, pos);
    if (b === -1) break;
    const labelStart = b + BEGIN.length;
    const labelEnd = input.indexOf(DASHES, labelStart);
    if (labelEnd === -1 || labelEnd - labelStart > MAX_LABEL) {
      pos = labelStart;
      continue;
    }
    const label = readLabel(input, labelStart, labelEnd);
    if (label === undefined) {
      pos = labelStart;
      continue;
    }
    const bodyStart = labelEnd + 5;
    const endMarker = label === CERT_LABEL ? CERT_END : Buffer.from(`-----END ${label}-----`, 'latin1');
    // One search for a single '-' usually lands on our END line, which then also proves the body
    // holds no '-' at all (the fast decoder needs that); otherwise findEnd does the full search.
    const firstDash = input.indexOf(0x2d, bodyStart);
    const e =
      firstDash !== -1 && startsAt(input, endMarker, firstDash)
        ? firstDash
        : findEnd(input, bodyStart, endMarker);
    count++;
    if (e === -1) {
      yield {
        label,
        offset: b,
        der: Buffer.alloc(0),
        headers: {},
        error: `no matching END ${label} line`,
      };
      pos = bodyStart;
      continue;
    }
    if (underscore !== -1 && underscore < bodyStart) underscore = input.indexOf(0x5f, bodyStart);
    // Node's decoder reads '-' and '_' as URL-safe digits, so decodeLines only sees bodies without them.
    const plain = e === firstDash && (underscore === -1 || underscore >= e);
    const der = (plain ? decodeLines(input, bodyStart, e) : undefined) ?? decodeBody(input, bodyStart, e);
    yield der !== undefined
      ? { label, offset: b, der, headers: {} }
      : slowBlock(input, label, b, bodyStart, e);
    pos = e + endMarker.length;
  }
}

/** The label if it matches /^[A-Z0-9 #_-]+$/; the common ones come back as shared strings. */
function readLabel(input: Buffer, start: number, end: number): string | undefined {
  if (start === end) return undefined;
  for (let i = start; i < end; i++) {
    const c = input[i]!;
    if (!(
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x20 ||
      c === 0x23 ||
      c === 0x5f ||
      c === 0x2d
    ))
      return undefined;
  }
  if (end - start === CERT_LABEL.length && input.compare(CERT_BYTES, 0, CERT_BYTES.length, start, end) === 0)
    return CERT_LABEL;
  return input.toString('latin1', start, end);
}

const CERT_LABEL = 'CERTIFICATE';
const CERT_BYTES = Buffer.from(CERT_LABEL, 'latin1');
const CERT_END = Buffer.from(`-----END ${CERT_LABEL}-----`, 'latin1');
const DASHES = Buffer.from('-----', 'latin1');
const BEGIN_BYTES = Buffer.from(BEGIN, 'latin1');

/** Whether `marker` occurs in `input` at `at` (compare's ranges must stay inside the input). */
function startsAt(input: Buffer, marker: Buffer, at: number): boolean {
  const end = at + marker.length;
  return end <= input.length && input.compare(marker, 0, marker.length, at, end) === 0;
}

/**
 * Where our END line starts, or -1 when the block is truncated: no END line, or another BEGIN comes
 * first. A well-formed body holds no run of five dashes, so the first such run after the BEGIN line
 * is usually our END line and one search settles it; anything else takes the two full searches.
 */
function findEnd(input: Buffer, bodyStart: number, endMarker: Buffer): number {
  const dash = input.indexOf(DASHES, bodyStart);
  if (dash === -1) return -1;
  if (startsAt(input, endMarker, dash)) return dash;
  const e = input.indexOf(endMarker, bodyStart);
  const nextBegin = input.indexOf(BEGIN, bodyStart, 'latin1');
  return e === -1 || (nextBegin !== -1 && nextBegin < e) ? -1 : e;
}

/**
 * The body of a block laid out as encoders write it: a line break after the BEGIN line, then lines of
 * one width (a multiple of four) each ending in LF or CRLF, the last no longer than the rest. Node's
 * native decoder does the work; it skips bytes outside the alphabet and stops at '=', so a decoded
 * length equal to the one the layout predicts proves every byte was a base64 digit, except the
 * URL-safe '-' and '_' it also accepts, which the caller rules out first. Anything else returns undefined
 * and decodeBody decides, giving the same bytes for every body both accept.
 */
function decodeLines(input: Buffer, s: number, e: number): Buffer | undefined {
  let p = s;
  if (input[p] === 0x0d) p++;
  if (input[p] !== 0x0a) return undefined;
  p++;
  const nl = input.indexOf(0x0a, p);
  if (nl === -1 || nl >= e) return undefined;
  const brk = input[nl - 1] === 0x0d ? 2 : 1;
  const width = nl - p - (brk - 1);
  if (width <= 0 || width % 4 !== 0) return undefined;
  const stride = width + brk;
  let q = p;
  let digits = 0;
  for (; q + stride <= e; q += stride) {
    if (input[q + width + brk - 1] !== 0x0a || (brk === 2 && input[q + width] !== 0x0d)) return undefined;
    digits += width;
  }
  if (q < e) {
    const last = e - q - brk;
    if (last <= 0 || last >= width || input[e - 1] !== 0x0a || (brk === 2 && input[e - 2] !== 0x0d))
      return undefined;
    digits += last;
  }
  const lastDigit = e - brk - 1;
  const pad = input[lastDigit] === 0x3d ? (input[lastDigit - 1] === 0x3d ? 2 : 1) : 0;
  if (pad !== 0 && digits % 4 !== 0) return undefined;
  const data = digits - pad;
  if (data % 4 === 1) return undefined;
  const der = Buffer.from(latin1Slice.call(input, p, e), 'base64');
  return der.length === Math.floor((data * 3) / 4) ? der : undefined;
}

const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Buffer, s: number, e: number): string }
).latin1Slice;

/** The body as it always was decoded: headers split off, whitespace stripped, base64 checked by regex. */
function slowBlock(input: Buffer, label: string, offset: number, bodyStart: number, e: number): PemBlock {
  let body = input.toString('latin1', bodyStart, e);
  // PEM kept inside a JSON (or escaped YAML) string carries its line breaks as \n escapes.
  if (body.includes('\\')) body = body.replace(/\\[rnt]/g, '\n').replace(/\\\//g, '/');
  const headers: Record<string, string> = {};
  const blank = body.search(/\r?\n\r?\n/);
  if (blank !== -1 && body.slice(0, blank).includes(':')) {
    for (const line of body.slice(0, blank).split(/\r?\n/)) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
    }
    body = body.slice(blank);
  }
  const b64 = body.replace(/[\s]+/g, '');
  // Padding, when present, must complete the last quantum ('A=' is no encoding of anything).
  if (
    !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) ||
    b64.length % 4 === 1 ||
    (b64.endsWith('=') && b64.length % 4 !== 0)
  )
    return { label, offset, der: Buffer.alloc(0), headers, error: 'invalid base64 in PEM body' };
  return { label, offset, der: Buffer.from(b64, 'base64'), headers };
}

// Byte classes for the fast path: 0-63 base64 digit values, then whitespace, '=', and everything else.
const WS = 64;
const PAD = 65;
const OTHER = 255;
const B64 = new Uint8Array(256).fill(OTHER);
{
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) B64[digits.charCodeAt(i)] = i;
  for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) B64[c] = WS;
  B64[0x3d] = PAD;
}

/**
 * Decode a body made only of base64 digits, ASCII whitespace and up to two trailing '=' in one pass.
 * Anything else (RFC 1421 headers, other whitespace, odd padding) returns undefined for the slow
 * path, which decides exactly as before; for the bodies taken here both give the same bytes.
 */
function decodeBody(input: Buffer, start: number, end: number): Buffer | undefined {
  const out = Buffer.allocUnsafe(((end - start) >>> 2) * 3 + 3);
  const T = B64;
  let acc = 0;
  let n = 0; // digits seen, modulo 4
  let o = 0;
  let pad = 0;
  let i = start;
  while (i < end) {
    if (n === 0 && pad === 0) {
      // Whole quanta of four digits: one range check for all four.
      while (i + 4 <= end) {
        const a = T[input[i]!]!;
        const b = T[input[i + 1]!]!;
        const c = T[input[i + 2]!]!;
        const d = T[input[i + 3]!]!;
        if ((a | b | c | d) >= 64) break;
        out[o] = (a << 2) | (b >>> 4);
        out[o + 1] = ((b & 15) << 4) | (c >>> 2);
        out[o + 2] = ((c & 3) << 6) | d;
        o += 3;
        i += 4;
      }
      if (i >= end) break;
    }
    const v = T[input[i++]!]!;
    if (v < 64) {
      if (pad !== 0) return undefined;
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >>> 16;
        out[o++] = (acc >>> 8) & 0xff;
        out[o++] = acc & 0xff;
        acc = 0;
        n = 0;
      }
    } else if (v === PAD) {
      if (++pad > 2) return undefined;
    } else if (v !== WS) return undefined;
  }
  const rem = n;
  // Unpadded tails are fine; padding must complete the last quantum exactly.
  if (rem === 1 || (pad !== 0 && rem + pad !== 4)) return undefined;
  if (rem === 2) out[o++] = (acc >>> 4) & 0xff;
  else if (rem === 3) {
    out[o++] = (acc >>> 10) & 0xff;
    out[o++] = (acc >>> 2) & 0xff;
  }
  return out.subarray(0, o);
}
