import { MAX_DEPTH, type Tlv } from './der.ts';
import { malformed } from './error.ts';

/**
 * A bounded BER reader for the outer layers of CMS. `openssl cms -stream` and S/MIME output, and
 * some Authenticode signers, write ContentInfo, SignedData and the encapsulated content with
 * indefinite lengths and the content as a constructed OCTET STRING; der.ts refuses both. Everything
 * that is signed or parsed further (certificates, names, algorithm identifiers, signed attributes)
 * stays with the strict DER reader.
 */

/**
 * One element. Content is [start, end); with an indefinite length, `end` is where the end-of-contents
 * octets begin. `next` is where the following element begins.
 */
export interface BerTlv extends Tlv {
  readonly next: number;
  readonly indefinite: boolean;
}

const MAX_CHILDREN = 100_000;

/** The element at `pos`, which must end (end-of-contents included) at or before `limit`. */
export function readBer(buf: Uint8Array, pos: number, limit: number, depth = 0): BerTlv {
  if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(limit) || pos < 0 || limit > buf.length)
    malformed(`range [${pos}, ${limit}) outside a buffer of ${buf.length} octets`);
  if (pos + 2 > limit) malformed(`truncated header at offset ${pos}`);
  if (depth > MAX_DEPTH) malformed(`nesting deeper than ${MAX_DEPTH} at offset ${pos}`);
  const tag = buf[pos]!;
  if (tag === 0) malformed(`unexpected end-of-contents at offset ${pos}`);
  if ((tag & 0x1f) === 0x1f) malformed(`high-tag-number form at offset ${pos}`);
  const first = buf[pos + 1]!;
  let start = pos + 2;
  if (first === 0x80) {
    if (!(tag & 0x20)) malformed(`indefinite length on a primitive element at offset ${pos}`);
    // The content ends where a child would begin with two zero octets; every child is skipped
    // with this same reader, so the scan is bounded by depth and by the children cap.
    let p = start;
    for (let n = 0; ; n++) {
      if (p + 2 > limit) malformed(`no end-of-contents for the element at offset ${pos}`);
      if (buf[p] === 0 && buf[p + 1] === 0)
        return { tag, hs: pos, start, end: p, next: p + 2, indefinite: true };
      if (n >= MAX_CHILDREN) malformed(`more than ${MAX_CHILDREN} elements at offset ${pos}`);
      p = readBer(buf, p, limit, depth + 1).next;
    }
  }
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4) malformed(`length of ${n} octets at offset ${pos}`);
    if (start + n > limit) malformed(`truncated length at offset ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) malformed(`length ${len} at offset ${pos} runs past the end (${limit})`);
  return { tag, hs: pos, start, end, next: end, indefinite: false };
}

/** The children of a constructed element, which tile its content exactly. */
export function berChildren(buf: Uint8Array, parent: Tlv, max = MAX_CHILDREN): BerTlv[] {
  if (!(parent.tag & 0x20)) malformed(`element at offset ${parent.hs} is not constructed`);
  const out: BerTlv[] = [];
  for (let pos = parent.start; pos < parent.end;) {
    if (out.length >= max) malformed(`more than ${max} elements at offset ${parent.hs}`);
    const t = readBer(buf, pos, parent.end);
    out.push(t);
    pos = t.next;
  }
  return out;
}

/** berChildren after checking the tag, as der.ts seq() does. */
export function berSeq(
  buf: Uint8Array,
  t: Tlv | undefined,
  what: string,
  tag: number,
  max?: number,
): BerTlv[] {
  if (!t) return malformed(`missing ${what}`);
  if (t.tag !== tag)
    malformed(`${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)} at offset ${t.hs}`);
  return berChildren(buf, t, max);
}

/**
 * The value of an OCTET STRING as ranges of the input: one for a primitive encoding, the primitive
 * pieces in order for a constructed one (BER). Bounded by depth and by `maxPieces`.
 */
export function octetPieces(
  buf: Uint8Array,
  t: BerTlv,
  maxPieces = 1_000_000,
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const walk = (node: BerTlv, depth: number): void => {
    if (node.tag === 0x04) {
      if (out.length >= maxPieces) malformed(`more than ${maxPieces} OCTET STRING pieces at offset ${t.hs}`);
      out.push({ start: node.start, end: node.end });
      return;
    }
    if (node.tag !== 0x24) malformed(`expected an OCTET STRING piece at offset ${node.hs}`);
    if (depth > MAX_DEPTH) malformed(`nesting deeper than ${MAX_DEPTH} at offset ${node.hs}`);
    for (const c of berChildren(buf, node)) walk(c, depth + 1);
  };
  walk(t, 0);
  return out;
}
