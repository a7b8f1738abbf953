import { crc32 } from 'node:zlib';
import { bunzip2 } from './bzip2.ts';
import { inflateRaw } from './inflate.ts';
import type { Decoded } from './sink.ts';
import { tooMany, refused, unparseable, type Member, type ReadContext } from './member.ts';

/**
 * zip (and jar, apk, which are zips): the central directory is the truth, as for every unzip; the
 * local headers are only used to find where data starts, or, when the directory is missing (a
 * truncated file), to recover the members written before the cut. zip64 is read. Stored, deflated
 * and bzip2 members are decoded; encrypted ones are refused.
 */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const CENTRAL_FIXED = 46;
const LOCAL_FIXED = 30;
const END_FIXED = 22;

const METHODS: Record<number, string> = {
  0: 'stored',
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'LZMA',
  93: 'zstd',
  95: 'xz',
  98: 'PPMd',
  99: 'AES',
};

interface Entry {
  readonly name: string;
  readonly flags: number;
  readonly method: number;
  readonly crc: number;
  readonly csize: number;
  readonly usize: number;
  readonly dataStart: number;
  readonly mode?: number;
}

function u64(buf: Buffer, at: number): number | undefined {
  const v = buf.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

/** Replace the 32-bit fields that say 0xFFFFFFFF with the zip64 extra field's values, in its order. */
function zip64Sizes(
  buf: Buffer,
  start: number,
  end: number,
  wanted: { usize: number; csize: number; offset: number },
): { usize: number; csize: number; offset: number } | string {
  const out = { ...wanted };
  let p = start;
  while (p + 4 <= end) {
    const id = buf.readUInt16LE(p);
    const size = buf.readUInt16LE(p + 2);
    if (p + 4 + size > end) break;
    if (id === 1) {
      let q = p + 4;
      for (const key of ['usize', 'csize', 'offset'] as const) {
        if (wanted[key] !== 0xffffffff) continue;
        if (q + 8 > p + 4 + size) return `zip64 extra field lacks the ${key}`;
        const v = u64(buf, q);
        if (v === undefined) return `zip64 ${key} beyond 2^53`;
        out[key] = v;
        q += 8;
      }
      return out;
    }
    p += 4 + size;
  }
  if (wanted.usize === 0xffffffff || wanted.csize === 0xffffffff || wanted.offset === 0xffffffff)
    return 'size fields say zip64 but there is no zip64 extra field';
  return out;
}

function ratioReason(e: Entry, maxRatio: number): string {
  const ratio = e.csize === 0 ? 'unbounded' : `${Math.floor(e.usize / e.csize)}:1`;
  return `decompression ratio ${ratio} exceeds maxRatio ${maxRatio}:1 (${e.usize} bytes declared from ${e.csize} compressed bytes)`;
}

function decodeEntry(buf: Buffer, e: Entry, ctx: ReadContext): Member {
  const { name } = e;
  if (e.flags & 0x41 || e.method === 99)
    return refused('encrypted entry: its content cannot be read without the password', name);
  const end = e.dataStart + e.csize;
  if (end > buf.length)
    return unparseable(
      `truncated: data at offset ${e.dataStart} declares ${e.csize} bytes, ${Math.max(0, buf.length - e.dataStart)} remain`,
      name,
    );
  const raw = buf.subarray(e.dataStart, end);
  let data: Buffer;
  if (e.method === 0) {
    if (e.csize !== e.usize)
      return unparseable(`stored entry of ${e.csize} bytes says its size is ${e.usize}`, name);
    data = raw;
  } else if (e.method === 8 || e.method === 12) {
    const cap = ctx.budget.cap(e.csize, true);
    if (e.usize > cap.bytes) {
      ctx.budget.refused(cap);
      const reason =
        cap.limit === 'maxRatio'
          ? ratioReason(e, ctx.limits.maxRatio)
          : `${cap.reason} (${e.usize} bytes declared)`;
      return refused(reason, name);
    }
    // One byte of slack over the declared size shows a lying directory without decoding the rest.
    const d: Decoded = e.method === 8 ? inflateRaw(raw, e.usize + 1) : bunzip2(raw, e.usize + 1);
    ctx.budget.take(d.data.length);
    if (d.error !== undefined) return unparseable(`${METHODS[e.method]} data: ${d.error}`, name);
    if (d.over || d.data.length !== e.usize)
      return unparseable(
        `decompresses to ${d.over ? 'more than ' + (e.usize + 1) : d.data.length} bytes, the directory says ${e.usize}`,
        name,
      );
    data = d.data;
  } else {
    const known = METHODS[e.method];
    return refused(`compression method ${e.method}${known ? ` (${known})` : ''} not supported`, name);
  }
  const sum = crc32(data) >>> 0;
  if (sum !== e.crc)
    return unparseable(`CRC-32 mismatch: recorded ${hex(e.crc)}, computed ${hex(sum)}`, name);
  return e.mode === undefined ? { kind: 'file', name, data } : { kind: 'file', name, data, mode: e.mode };
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

function entryName(buf: Buffer, start: number, length: number, flags: number): string {
  // Bit 11 marks UTF-8; otherwise the name is in CP437, whose ASCII half is all real names use.
  return buf.toString(flags & 0x800 ? 'utf8' : 'latin1', start, start + length);
}

interface End {
  readonly count: number;
  readonly cdStart: number;
  readonly cdEnd: number;
  /** Bytes put before the archive (a self-extractor stub), which its stored offsets do not count. */
  readonly shift: number;
}

/** Locate the central directory through the end record (and its zip64 form), or say why not. */
function findEnd(buf: Buffer): End | string {
  const lowest = Math.max(0, buf.length - END_FIXED - 0xffff);
  let at = -1;
  for (let p = buf.length - END_FIXED; p >= lowest; p--) {
    if (
      buf[p] === 0x50 &&
      buf.readUInt32LE(p) === SIG_END &&
      p + END_FIXED + buf.readUInt16LE(p + 20) <= buf.length
    ) {
      at = p;
      break;
    }
  }
  if (at < 0) return 'no end of central directory record (truncated, or not a zip)';
  let disk = buf.readUInt16LE(at + 4);
  let cdDisk = buf.readUInt16LE(at + 6);
  let count = buf.readUInt16LE(at + 10);
  let cdSize: number | undefined = buf.readUInt32LE(at + 12);
  let cdOffset: number | undefined = buf.readUInt32LE(at + 16);
  // Where the directory really ends; the stored offsets may be shifted by a prefix (self-extractors).
  let cdEndActual = at;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = at - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== SIG_LOCATOR64)
      return 'end record says zip64 but the zip64 locator is missing';
    const claimed = u64(buf, loc + 8);
    let rec =
      claimed !== undefined && claimed + 56 <= loc && buf.readUInt32LE(claimed) === SIG_END64 ? claimed : -1;
    if (rec < 0 && loc >= 56 && buf.readUInt32LE(loc - 56) === SIG_END64) rec = loc - 56;
    if (rec < 0) return 'zip64 end of central directory record not found';
    disk = buf.readUInt32LE(rec + 16);
    cdDisk = buf.readUInt32LE(rec + 20);
    const total = u64(buf, rec + 32);
    cdSize = u64(buf, rec + 40);
    cdOffset = u64(buf, rec + 48);
    if (total === undefined || cdSize === undefined || cdOffset === undefined)
      return 'zip64 end record holds values beyond 2^53';
    count = total;
    cdEndActual = rec;
  }
  if (disk !== 0 || cdDisk !== 0) return 'split (multi-disk) zip archives are not supported';
  const shift = cdEndActual - (cdOffset + cdSize);
  if (shift < 0)
    return `central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record at ${cdEndActual}`;
  if (count * CENTRAL_FIXED > cdSize)
    return `end record declares ${count} entries in a ${cdSize}-byte central directory`;
  return { count, cdStart: cdOffset + shift, cdEnd: cdEndActual, shift };
}

export function* readZip(buf: Buffer, ctx: ReadContext): Generator<Member> {
  const end = findEnd(buf);
  if (typeof end === 'string') return yield* readLocalHeaders(buf, ctx, end);
  let p = end.cdStart;
  for (let i = 0; i < end.count; i++) {
    if (i >= ctx.limits.maxEntries) return yield tooMany(ctx.limits.maxEntries);
    if (p + CENTRAL_FIXED > end.cdEnd || buf.readUInt32LE(p) !== SIG_CENTRAL)
      return yield unparseable(`central directory entry ${i} at offset ${p} is missing or corrupt`);
    const madeBy = buf[p + 5]!;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    const next = p + CENTRAL_FIXED + nameLen + extraLen + commentLen;
    if (next > end.cdEnd)
      return yield unparseable(`central directory entry ${i} at offset ${p} runs past the directory`);
    const name = entryName(buf, p + CENTRAL_FIXED, nameLen, flags);
    const extraStart = p + CENTRAL_FIXED + nameLen;
    const sizes = zip64Sizes(buf, extraStart, extraStart + extraLen, {
      csize: buf.readUInt32LE(p + 20),
      usize: buf.readUInt32LE(p + 24),
      offset: buf.readUInt32LE(p + 42),
    });
    p = next;
    if (typeof sizes === 'string') {
      yield unparseable(sizes, name);
      continue;
    }
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    const type = unixMode & 0o170000;
    // Directories, symbolic links, devices: nothing to scan. MS-DOS attribute 0x10 is a directory.
    if (name.endsWith('/') || (type !== 0 && type !== 0o100000) || (madeBy === 0 && external & 0x10))
      continue;
    const local = sizes.offset + end.shift;
    if (local + LOCAL_FIXED > buf.length || buf.readUInt32LE(local) !== SIG_LOCAL) {
      yield unparseable(`no local header at offset ${local}`, name);
      continue;
    }
    const dataStart = local + LOCAL_FIXED + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const mode = unixMode & 0o7777;
    yield decodeEntry(buf, { name, flags, method, crc, ...sizes, dataStart, ...(mode ? { mode } : {}) }, ctx);
  }
}

/** Members recovered from local headers alone, when the central directory cannot be found. */
function* readLocalHeaders(buf: Buffer, ctx: ReadContext, why: string): Generator<Member> {
  let p = 0;
  let count = 0;
  while (p + LOCAL_FIXED <= buf.length && buf.readUInt32LE(p) === SIG_LOCAL) {
    if (++count > ctx.limits.maxEntries) return yield tooMany(ctx.limits.maxEntries);
    const flags = buf.readUInt16LE(p + 6);
    const method = buf.readUInt16LE(p + 8);
    const crc = buf.readUInt32LE(p + 14);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    const extraStart = p + LOCAL_FIXED + nameLen;
    const dataStart = extraStart + extraLen;
    if (dataStart > buf.length) break;
    const name = entryName(buf, p + LOCAL_FIXED, nameLen, flags);
    const sizes = zip64Sizes(buf, extraStart, dataStart, {
      csize: buf.readUInt32LE(p + 18),
      usize: buf.readUInt32LE(p + 22),
      offset: 0,
    });
    if (typeof sizes === 'string') return yield unparseable(`${why}; ${sizes}`, name);
    // With a data descriptor the sizes come after the data, so there is no telling where it ends.
    if (flags & 0x08 && sizes.csize === 0)
      return yield unparseable(
        `${why}; entry at offset ${p} records its size after its data, reading stops`,
        name,
      );
    if (!name.endsWith('/')) yield decodeEntry(buf, { name, flags, method, crc, ...sizes, dataStart }, ctx);
    p = dataStart + sizes.csize;
  }
  yield unparseable(`${why}; members recovered from local headers: ${count}`);
}
