import { EvidenceError } from './error.ts';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.ts';

/**
 * Gives the hash of any complete, aligned subtree: `height` levels above the leaves, covering leaves
 * [index * 2^height, (index + 1) * 2^height). Proof generation needs nothing else, so the same code
 * serves an in-memory array and the tiles on disk.
 */
export type SubtreeHashes = (height: number, index: number) => Buffer;

/** The largest power of two strictly less than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Math.log2(n) % 1 === 0;
}

/** MTH(D[lo:hi]) where lo is aligned to the largest power of two dividing the range's left part. */
export function rangeHash(get: SubtreeHashes, lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && lo % n === 0) return get(Math.log2(n), lo / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(get, lo, lo + k), rangeHash(get, lo + k, hi));
}

/** Subtree access over a plain array of leaf hashes (tests, verification of a recomputed tree). */
export function arrayHashes(leaves: readonly Buffer[]): SubtreeHashes {
  const levels: Buffer[][] = [leaves.slice()];
  return (height, index) => {
    while (levels.length <= height) {
      const below = levels[levels.length - 1]!;
      const next: Buffer[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) next.push(nodeHash(below[i]!, below[i + 1]!));
      levels.push(next);
    }
    const h = levels[height]![index];
    if (!h) throw new EvidenceError('BAD_ARGUMENT', `no complete subtree at height ${height} index ${index}`);
    return h;
  };
}

export function rootOf(leaves: readonly Buffer[]): Buffer {
  return rangeHash(arrayHashes(leaves), 0, leaves.length);
}

function checkIndex(what: string, v: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max)
    throw new EvidenceError('BAD_ARGUMENT', `${what} ${v} is out of range (0..${max})`);
}

/** RFC 6962 §2.1.1 PATH(m, D[lo:hi]), returned leaf-sibling first. */
export function inclusionProof(get: SubtreeHashes, index: number, size: number): Buffer[] {
  checkIndex('tree size', size, Number.MAX_SAFE_INTEGER);
  if (size === 0) throw new EvidenceError('BAD_ARGUMENT', 'no inclusion proof exists in an empty tree');
  checkIndex('leaf index', index, size - 1);
  const path: Buffer[] = [];
  let lo = 0;
  let hi = size;
  let m = index;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(rangeHash(get, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(rangeHash(get, lo, lo + k));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]). */
export function consistencyProof(get: SubtreeHashes, m: number, n: number): Buffer[] {
  checkIndex('new tree size', n, Number.MAX_SAFE_INTEGER);
  checkIndex('old tree size', m, n);
  if (m === 0 || m === n) return [];
  const out: Buffer[] = [];
  // SUBPROOF(m, D[lo:hi], b), unrolled: each step either recurses left or right.
  let lo = 0;
  let hi = n;
  let mm = m;
  let complete = true;
  for (;;) {
    const size = hi - lo;
    if (mm === size) {
      if (!complete) out.push(rangeHash(get, lo, hi));
      break;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      out.push(rangeHash(get, lo + k, hi));
      hi = lo + k;
    } else {
      out.push(rangeHash(get, lo, lo + k));
      lo += k;
      mm -= k;
      complete = false;
    }
  }
  return out.reverse();
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === HASH_SIZE && b.length === HASH_SIZE && Buffer.compare(a, b) === 0;
}

/** The root an inclusion proof implies (RFC 9162 §2.1.3.2), or undefined when the proof is malformed. */
export function rootFromInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return undefined;
  if (leaf.length !== HASH_SIZE) return undefined;
  // Bit arithmetic on numbers is 32-bit in JS: divide instead, so sizes beyond 2^32 still work.
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromInclusion(leaf, index, size, proof);
  return r !== undefined && sameHash(r, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show that the tree (m, oldRoot) is a prefix of (n, newRoot)? */
export function verifyConsistency(
  m: number,
  n: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) return false;
  if (m === n) return proof.length === 0 && sameHash(oldRoot, newRoot);
  if (m === 0) return proof.length === 0 && sameHash(oldRoot, EMPTY_ROOT);
  if (proof.some((p) => p.length !== HASH_SIZE) || proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, oldRoot) && sameHash(sr, newRoot);
}
