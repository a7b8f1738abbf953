import { tarChecksumOk } from './sniff.ts';
import { cString, tooMany, refused, unparseable, type Member, type ReadContext } from './member.ts';

/**
 * tar: v7, ustar (name prefix), GNU (long names 'L', base-256 numbers) and pax ('x' records, of which
 * `path` and `size` matter here). Members are views into `buf`; nothing is copied.
 */

const BLOCK = 512;
// Metadata members (pax records, GNU long names) are small; a larger one is hostile or a bug.
const MAX_META_BYTES = 1024 * 1024;
// A run of metadata headers with no member after them is a loop an attacker can make arbitrarily long.
const MAX_META_RUN = 16;

/** A numeric header field: octal digits (NUL- or space-terminated), or GNU base-256 when the top bit is set. */
function tarNumber(h: Buffer, off: number, len: number): number | undefined {
  const first = h[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative base-256: no size or mode is negative
    let v = first & 0x7f;
    for (let i = off + 1; i < off + len; i++) {
      v = v * 256 + h[i]!;
      if (v > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) {
    if (h[i] === 0 && i === off) return 0; // an empty field
    i++;
  }
  let v = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** pax extended header records, "<length> <key>=<value>\n" each; an error message on malformed input. */
function paxRecords(data: Buffer): Map<string, string> | string {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    let q = p;
    let len = 0;
    while (q < data.length && data[q]! >= 0x30 && data[q]! <= 0x39 && len <= data.length) {
      len = len * 10 + (data[q]! - 0x30);
      q++;
    }
    const end = p + len;
    if (q === p || data[q] !== 0x20 || end > data.length || end <= q + 1 || data[end - 1] !== 0x0a)
      return `malformed pax record at offset ${p} of the extended header`;
    const rec = data.toString('utf8', q + 1, end - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) return `pax record without a key at offset ${p} of the extended header`;
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p = end;
  }
  return out;
}

function allZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The ustar name: POSIX ustar (magic "ustar\0") splits long paths into prefix and name; GNU does not. */
function headerName(h: Buffer): string {
  const name = cString(h, 0, 100);
  const posix = h[257] === 0x75 && h.toString('latin1', 257, 263) === 'ustar\0';
  if (!posix || h[345] === 0) return name;
  return `${cString(h, 345, 500)}/${name}`;
}

export function* readTar(buf: Buffer, ctx: ReadContext): Generator<Member> {
  let pos = 0;
  let count = 0;
  let metaRun = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  while (pos < buf.length) {
    if (pos + BLOCK > buf.length) {
      if (!allZero(buf, pos, buf.length))
        yield unparseable(`truncated header at offset ${pos}: ${buf.length - pos} of ${BLOCK} bytes`);
      return;
    }
    const h = buf.subarray(pos, pos + BLOCK);
    if (allZero(buf, pos, pos + BLOCK)) return; // end-of-archive marker
    if (!tarChecksumOk(buf, pos)) return yield unparseable(`bad header checksum at offset ${pos}`);
    const type = h[156]!;
    const isMeta = type === 0x4c || type === 0x4b || type === 0x78 || type === 0x67; // L K x g
    if (isMeta) {
      if (++metaRun > MAX_META_RUN)
        return yield unparseable(`more than ${MAX_META_RUN} metadata headers in a row at offset ${pos}`);
    } else {
      metaRun = 0;
      if (++count > ctx.limits.maxEntries) return yield tooMany(ctx.limits.maxEntries);
    }
    const name = pax?.get('path') ?? longName ?? headerName(h);
    let size = tarNumber(h, 124, 12);
    const paxSize = isMeta ? undefined : pax?.get('size');
    if (paxSize !== undefined) size = /^\d{1,15}$/.test(paxSize) ? Number(paxSize) : undefined;
    if (size === undefined)
      return yield unparseable(`invalid size field in the header at offset ${pos}`, name);
    const start = pos + BLOCK;
    const end = start + size;
    if (end > buf.length)
      return yield unparseable(
        `truncated: the member at offset ${pos} declares ${size} bytes, ${buf.length - start} remain`,
        name,
      );
    pos = start + Math.ceil(size / BLOCK) * BLOCK;
    if (isMeta) {
      if (size > MAX_META_BYTES) {
        yield refused(
          `metadata header of ${size} bytes at offset ${start - BLOCK} exceeds ${MAX_META_BYTES}`,
        );
        continue;
      }
      if (type === 0x4c) longName = cString(buf, start, end);
      else if (type === 0x78) {
        const recs = paxRecords(buf.subarray(start, end));
        if (typeof recs === 'string') return yield unparseable(recs);
        pax = recs;
      }
      continue;
    }
    const wasPax = pax;
    longName = undefined;
    pax = undefined;
    // 1 hard link, 2 symlink, 3/4 devices, 5 directory, 6 FIFO: no content of their own.
    if (type >= 0x31 && type <= 0x36) continue;
    // V volume label, D GNU dump directory, M/N GNU multi-volume and old long-name continuations.
    if (type === 0x56 || type === 0x44 || type === 0x4d || type === 0x4e) continue;
    if (type === 0x53 || [...(wasPax?.keys() ?? [])].some((k) => k.startsWith('GNU.sparse.'))) {
      yield refused('GNU sparse member not supported: its data is not stored contiguously', name);
      continue;
    }
    // '0', NUL (v7), '7' contiguous, and any unknown type: POSIX says to read those as regular files.
    const mode = tarNumber(h, 100, 8);
    yield {
      kind: 'file',
      name,
      data: buf.subarray(start, end),
      ...(mode === undefined ? {} : { mode: mode & 0o7777 }),
    };
  }
}
