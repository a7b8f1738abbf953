import { Decompress } from 'fzstd';
import { Sink, type Decoded } from './sink.ts';

/**
 * zstd through fzstd's streaming decoder, one frame at a time. fzstd allocates a frame's whole window
 * (up to 2 GiB) from its header before decoding anything, so we read every frame header ourselves
 * first and refuse what the reference decoder would refuse by default (a window over 128 MiB), and
 * what the output cap already rules out (a declared content size over it).
 */

const MAGIC = 0xfd2fb528;
// zstd's own decoder refuses windows above 2^27 unless told otherwise (--long / --memory).
const MAX_WINDOW = 2 ** 27;

interface Frame {
  readonly start: number;
  readonly end: number;
  readonly window: number;
  readonly contentSize: number | undefined;
}

/** The frames of `buf` (skippable frames left out) up to where the layout breaks, and why it does. */
function frames(buf: Buffer): { list: Frame[]; error?: string } {
  const list: Frame[] = [];
  let pos = 0;
  const fail = (error: string) => ({ list, error });
  while (pos < buf.length) {
    if (pos + 8 > buf.length) return fail(`truncated frame header at offset ${pos}`);
    const magic = buf.readUInt32LE(pos);
    if (magic >>> 4 === 0x184d2a5) {
      const next = pos + 8 + buf.readUInt32LE(pos + 4);
      if (next > buf.length) return fail(`truncated skippable frame at offset ${pos}`);
      pos = next;
      continue;
    }
    if (magic !== MAGIC) return fail(`no zstd frame at offset ${pos}`);
    const fhd = buf[pos + 4]!;
    if (fhd & 0x08) return fail(`reserved bit set in the frame header at offset ${pos}`);
    const single = (fhd & 0x20) !== 0;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsFlag = fhd >> 6;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : 1 << fcsFlag;
    let p = pos + 5;
    let window = 0;
    if (!single) {
      const wd = buf[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (p + dictBytes + fcsBytes > buf.length) return fail(`truncated frame header at offset ${pos}`);
    let dictId = 0;
    for (let i = dictBytes - 1; i >= 0; i--) dictId = dictId * 256 + buf[p + i]!;
    if (dictId !== 0) return fail(`frame at offset ${pos} needs dictionary ${dictId}, which we do not have`);
    p += dictBytes;
    let contentSize: number | undefined;
    if (fcsBytes > 0) {
      let v = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + buf[p + i]!;
      contentSize = fcsBytes === 2 ? v + 256 : v;
    }
    p += fcsBytes;
    if (single) window = contentSize ?? 0;
    for (;;) {
      if (p + 3 > buf.length) return fail(`truncated block header at offset ${p}`);
      const bh = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16);
      const type = (bh >> 1) & 3;
      if (type === 3) return fail(`reserved block type at offset ${p}`);
      const body = type === 1 ? 1 : bh >>> 3;
      if (p + 3 + body > buf.length) return fail(`truncated block at offset ${p}`);
      p += 3 + body;
      if (bh & 1) break;
    }
    if (fhd & 0x04) p += 4; // content checksum
    if (p > buf.length) return fail(`truncated checksum at offset ${p - 4}`);
    list.push({ start: pos, end: p, window, contentSize });
    pos = p;
  }
  return { list };
}

const OVER_CAP = new Error('output cap reached');

/**
 * Decode every frame of `input`, at most `cap` bytes; frames before a break in the layout are kept.
 * The frames' XXH64 content checksums are not verified (fzstd skips them).
 */
export function unzstd(input: Buffer, cap: number): Decoded {
  const sink = new Sink(cap);
  const { list, error } = frames(input);
  let windows = 0;
  for (const f of list) {
    if (f.contentSize !== undefined && sink.length + f.contentSize > cap) {
      sink.over = true; // refused on the declared size, before allocating anything
      return sink.done();
    }
    if (f.window > MAX_WINDOW)
      return sink.done(`frame at offset ${f.start} asks for a ${f.window}-byte window, over ${MAX_WINDOW}`);
    // Many small frames each demanding a large window would allocate without bound; the windows of
    // honest frames add up to no more than their output.
    windows += f.window;
    if (windows > cap + MAX_WINDOW)
      return sink.done(`frames ask for ${windows} bytes of windows for at most ${cap} bytes of output`);
    const before = sink.length;
    try {
      const d = new Decompress((chunk) => {
        if (!sink.push(chunk)) throw OVER_CAP;
      });
      d.push(input.subarray(f.start, f.end), true);
    } catch (err) {
      if (err === OVER_CAP) return sink.done();
      return sink.done(`frame at offset ${f.start}: ${(err as Error).message}`);
    }
    const got = sink.length - before;
    if (f.contentSize !== undefined && got !== f.contentSize)
      return sink.done(`frame at offset ${f.start} declares ${f.contentSize} bytes, decoded ${got}`);
  }
  return sink.done(error);
}
