import { EvidenceError } from './error.ts';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.ts';
import { TILE_WIDTH } from './tile-path.ts';

/** Root of a perfect tree over 2^k hashes. */
export function perfectRoot(hashes: readonly Buffer[]): Buffer {
  let level = hashes.slice();
  if (level.length === 0 || (level.length & (level.length - 1)) !== 0)
    throw new EvidenceError('BAD_ARGUMENT', `perfect subtree over ${level.length} hashes`);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** levels[k][i] = root of hashes [i * 2^k, (i + 1) * 2^k), for every complete such range. */
export function interiorLevels(hashes: readonly Buffer[]): Buffer[][] {
  const levels: Buffer[][] = [hashes.slice()];
  for (let below = levels[0]!; below.length > 1;) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) next.push(nodeHash(below[i]!, below[i + 1]!));
    levels.push(next);
    below = next;
  }
  return levels;
}

/**
 * The tree root from the right edge alone: level l's partial tile holds the complete 256^l-leaf
 * subtrees not yet folded into a full tile. Splitting each level's width into powers of two gives the
 * binary decomposition of the size; folding those subtrees from the right is MTH.
 */
export function edgeRoot(edge: readonly (readonly Buffer[])[]): Buffer {
  const parts: Buffer[] = [];
  for (let level = edge.length - 1; level >= 0; level--) {
    const hashes = edge[level]!;
    let at = 0;
    for (let bit = 7; bit >= 0; bit--) {
      const n = 1 << bit;
      if (hashes.length - at >= n && (hashes.length & n) !== 0) {
        parts.push(perfectRoot(hashes.slice(at, at + n)));
        at += n;
      }
    }
  }
  if (parts.length === 0) return EMPTY_ROOT;
  let h = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) h = nodeHash(parts[i]!, h);
  return h;
}

export function encodeTile(hashes: readonly Buffer[]): Buffer {
  return Buffer.concat(hashes);
}

export function decodeTile(data: Buffer, width: number, file: string): Buffer[] {
  if (data.length !== width * HASH_SIZE)
    throw new EvidenceError(
      'LOG_CORRUPT',
      `${file} is ${data.length} bytes; a tile of width ${width} is ${width * HASH_SIZE}`,
    );
  const out: Buffer[] = [];
  for (let i = 0; i < width; i++) out.push(data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/** tlog-tiles entry bundle: each entry a big-endian uint16 length, then its bytes. */
export function encodeBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length, 0);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.length));
  }
  return Buffer.concat(parts);
}

export function decodeBundle(data: Buffer, file: string): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    if (out.length >= TILE_WIDTH)
      throw new EvidenceError('LOG_CORRUPT', `${file} holds more than ${TILE_WIDTH} entries`);
    if (off + 2 > data.length)
      throw new EvidenceError('LOG_CORRUPT', `${file}: entry ${out.length} has a truncated length`);
    const len = data.readUInt16BE(off);
    if (off + 2 + len > data.length)
      throw new EvidenceError(
        'LOG_CORRUPT',
        `${file}: entry ${out.length} claims ${len} bytes past the end of the bundle`,
      );
    out.push(data.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}
