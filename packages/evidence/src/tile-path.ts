import { EvidenceError } from './error.ts';

/** C2SP tlog-tiles: tiles are 2^8 hashes wide. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** N split into 3-digit groups, all but the last prefixed with x: 1234067 -> x001/x234/067. */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new EvidenceError('BAD_ARGUMENT', `tile index ${n} is invalid`);
  const parts: string[] = [];
  let rest = n;
  do {
    parts.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** `width` is 1..256; 256 names the full (immutable) tile, anything less a partial one. */
function suffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH)
    throw new EvidenceError('BAD_ARGUMENT', `tile width ${width} is invalid`);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

export function tilePath(level: number, index: number, width: number): string {
  return `tile/${level}/${encodeTileIndex(index)}${suffix(width)}`;
}

export function entriesPath(index: number, width: number): string {
  return `tile/entries/${encodeTileIndex(index)}${suffix(width)}`;
}

/**
 * The tiles a tree of `size` leaves has at one level: every full tile, then at most one partial.
 * Level l holds one hash per complete subtree of 256^l leaves.
 */
export function tilesAt(level: number, size: number): { index: number; width: number }[] {
  const count = Math.floor(size / TILE_WIDTH ** level);
  const out: { index: number; width: number }[] = [];
  for (let i = 0; i * TILE_WIDTH < count; i++)
    out.push({ index: i, width: Math.min(TILE_WIDTH, count - i * TILE_WIDTH) });
  return out;
}

/** Levels that hold at least one hash for a tree of `size` leaves. */
export function levelCount(size: number): number {
  let levels = 0;
  while (Math.floor(size / TILE_WIDTH ** levels) > 0) levels++;
  return levels;
}
