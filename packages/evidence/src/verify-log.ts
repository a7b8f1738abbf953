import { join } from 'node:path';
import { openCheckpoint, parseCheckpointText, type Checkpoint } from './checkpoint.ts';
import type { EvidenceError } from './error.ts';
import { HASH_SIZE, leafHash } from './hash.ts';
import { parseCanonical } from './jcs.ts';
import { CHECKPOINT_FILE, readBounded, WITNESSED_DIR, witnessedSizes } from './layout.ts';
import { rangeHash, type SubtreeHashes } from './merkle.ts';
import { parseNote, type NoteVerifier } from './note.ts';
import { decodeBundle, edgeRoot, perfectRoot } from './tiles.ts';
import { entriesPath, levelCount, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tile-path.ts';

export interface Problem {
  /** The file at fault, relative to the log directory ("checkpoint", "tile/0/000.p/5", ...). */
  file: string;
  /** The entry index, or the hash index within a tile. */
  index?: number;
  what: string;
}

export interface LogReport {
  ok: boolean;
  origin?: string;
  size?: number;
  root?: string;
  /** Names of the trusted keys whose signatures verified on the checkpoint. */
  signedBy: string[];
  entries: number;
  tiles: number;
  problems: Problem[];
  /** How many cosigned checkpoints kept under witnessed/ were checked against the tree. */
  witnessed?: number;
}

export interface VerifyOptions {
  vkeys: readonly NoteVerifier[];
  /** A checkpoint trusted from earlier (e.g. kept by an auditor): detects rollback and fork. */
  trusted?: string;
  /** The origin the checkpoint must carry; default: the name of the key that signed it. */
  origin?: string;
}

/** Bounds what one verification holds in memory (32 bytes a leaf). */
export const MAX_VERIFY_ENTRIES = 1 << 24;
const MAX_PROBLEMS = 1000;
const MAX_PER_FILE = 16;
const ZERO = Buffer.alloc(HASH_SIZE);

/**
 * Verifies a log directory with no database: every entry bundle is rehashed, every tile recomputed and
 * compared byte for byte, the checkpoint root and signature checked, and, given an earlier trusted
 * checkpoint, consistency with it. Problems are collected, not thrown, so one run names them all.
 */
export function verifyLog(dir: string, o: VerifyOptions): LogReport {
  const problems: Problem[] = [];
  const report: LogReport = { ok: false, signedBy: [], entries: 0, tiles: 0, problems };
  const add = (p: Problem): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else if (problems.length === MAX_PROBLEMS)
      problems.push({ file: '-', what: 'too many problems; stopped listing' });
  };
  const finish = (): LogReport => {
    report.ok = problems.length === 0;
    return report;
  };

  let cp: Checkpoint;
  try {
    const text = readBounded(join(dir, CHECKPOINT_FILE), CHECKPOINT_FILE).toString('utf8');
    try {
      const opened = openCheckpoint(text, o.vkeys);
      report.signedBy = opened.note.verifiedBy;
      cp = opened;
    } catch (err) {
      add({ file: CHECKPOINT_FILE, what: (err as Error).message });
      // Carry on with the unverified body so the remaining damage is still named.
      cp = parseCheckpointText(parseNote(text).text);
    }
  } catch (err) {
    add({ file: CHECKPOINT_FILE, what: (err as Error).message });
    return finish();
  }
  report.origin = cp.origin;
  report.size = cp.size;
  report.root = cp.root.toString('base64');
  const wantOrigin = o.origin ?? report.signedBy[0] ?? o.vkeys[0]?.name;
  if (wantOrigin !== undefined && cp.origin !== wantOrigin)
    add({ file: CHECKPOINT_FILE, what: `origin ${cp.origin} is not the expected origin ${wantOrigin}` });
  if (cp.size > MAX_VERIFY_ENTRIES) {
    add({
      file: CHECKPOINT_FILE,
      what: `size ${cp.size} exceeds the ${MAX_VERIFY_ENTRIES} entries one run verifies`,
    });
    return finish();
  }

  const size = cp.size;
  const leaves: (Buffer | undefined)[] = new Array<Buffer | undefined>(size);
  for (let b = 0; b * TILE_WIDTH < size; b++) {
    const width = Math.min(TILE_WIDTH, size - b * TILE_WIDTH);
    const f = entriesPath(b, width);
    let entries: Buffer[];
    try {
      entries = decodeBundle(readBounded(join(dir, f), f), f);
    } catch (err) {
      add({ file: f, index: b * TILE_WIDTH, what: (err as Error).message });
      continue;
    }
    if (entries.length !== width)
      add({
        file: f,
        index: b * TILE_WIDTH,
        what: `holds ${entries.length} entries; the checkpoint needs ${width} here`,
      });
    for (let i = 0; i < Math.min(width, entries.length); i++) {
      const index = b * TILE_WIDTH + i;
      const e = entries[i]!;
      try {
        parseCanonical(e.toString('utf8'), `entry ${index}`);
      } catch (err) {
        add({ file: f, index, what: (err as EvidenceError).message });
      }
      leaves[index] = leafHash(e);
      report.entries++;
    }
  }

  // levels[l] holds the recomputed hashes at tile level l; a hash we could not recompute (missing
  // entry) falls back to the stored one so the rest of the tree can still be checked.
  const levels: Buffer[][] = [];
  let below: (Buffer | undefined)[] = leaves;
  for (let level = 0; level < levelCount(size); level++) {
    const count = Math.floor(size / TILE_WIDTH ** level);
    const computed: Buffer[] = new Array<Buffer>(count);
    for (let t = 0; t * TILE_WIDTH < count; t++) {
      const width = Math.min(TILE_WIDTH, count - t * TILE_WIDTH);
      const f = tilePath(level, t, width);
      let stored: Buffer | undefined;
      try {
        stored = readBounded(join(dir, f), f);
        report.tiles++;
        if (stored.length !== width * HASH_SIZE) {
          add({
            file: f,
            what: `is ${stored.length} bytes; a tile of ${width} hashes is ${width * HASH_SIZE}`,
          });
        }
      } catch (err) {
        add({ file: f, what: (err as Error).message });
      }
      const storedAt = (i: number): Buffer | undefined =>
        stored && (i + 1) * HASH_SIZE <= stored.length
          ? stored.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)
          : undefined;
      for (let i = 0; i < width; i++)
        computed[t * TILE_WIDTH + i] = below[t * TILE_WIDTH + i] ?? Buffer.from(storedAt(i) ?? ZERO);
      if (stored)
        compareTile(f, level, t, computed.slice(t * TILE_WIDTH, t * TILE_WIDTH + width), storedAt, add);
    }
    levels.push(computed);
    const up: Buffer[] = [];
    for (let t = 0; (t + 1) * TILE_WIDTH <= count; t++)
      up.push(perfectRoot(computed.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)));
    below = up;
  }

  const edge = levels.map((l) => l.slice(l.length - (l.length % TILE_WIDTH)));
  const root = edgeRoot(edge);
  if (!root.equals(cp.root))
    add({
      file: CHECKPOINT_FILE,
      what: `root ${cp.root.toString('base64')} is not the root of the ${size} entries on disk (${root.toString('base64')})`,
    });

  if (o.trusted !== undefined) checkTrusted(o.trusted, 'trusted checkpoint', o, cp, levels, add);
  // Cosigned checkpoints the log has moved past: each must still be a prefix of this tree.
  for (const name of witnessedSizes(dir)) {
    const file = `${WITNESSED_DIR}/${name}`;
    try {
      checkTrusted(readBounded(join(dir, file), file).toString('utf8'), file, o, cp, levels, add);
      report.witnessed = (report.witnessed ?? 0) + 1;
    } catch (err) {
      add({ file, what: (err as Error).message });
    }
  }
  return finish();
}

function compareTile(
  f: string,
  level: number,
  t: number,
  want: Buffer[],
  storedAt: (i: number) => Buffer | undefined,
  add: (p: Problem) => void,
): void {
  const bad: number[] = [];
  for (let i = 0; i < want.length; i++) {
    const s = storedAt(i);
    if (s && !s.equals(want[i]!)) bad.push(i);
  }
  const reported = new Set<number>();
  if (level === 0) {
    // Two entries that traded places show up as two hashes that traded places.
    for (const i of bad)
      for (const j of bad)
        if (
          i < j &&
          !reported.has(i) &&
          !reported.has(j) &&
          storedAt(i)!.equals(want[j]!) &&
          storedAt(j)!.equals(want[i]!)
        ) {
          add({
            file: f,
            index: t * TILE_WIDTH + i,
            what: `entries ${t * TILE_WIDTH + i} and ${t * TILE_WIDTH + j} are in swapped order`,
          });
          reported.add(i).add(j);
        }
  }
  let listed = 0;
  for (const i of bad) {
    if (reported.has(i)) continue;
    if (listed++ === MAX_PER_FILE) {
      add({ file: f, what: `and ${bad.length - reported.size - MAX_PER_FILE} more differing hashes` });
      break;
    }
    const what =
      level === 0
        ? `hash ${i} is not the leaf hash of entry ${t * TILE_WIDTH + i} in the entry bundle`
        : `hash ${i} is not the root of the ${TILE_WIDTH ** level} leaves below it`;
    add({ file: f, index: level === 0 ? t * TILE_WIDTH + i : i, what });
  }
}

function checkTrusted(
  text: string,
  file: string,
  o: VerifyOptions,
  cp: Checkpoint,
  levels: Buffer[][],
  add: (p: Problem) => void,
): void {
  let trusted: Checkpoint;
  try {
    trusted = openCheckpoint(text, o.vkeys);
  } catch (err) {
    add({ file, what: (err as Error).message });
    return;
  }
  if (trusted.origin !== cp.origin) {
    add({ file, what: `is for origin ${trusted.origin}, not ${cp.origin}` });
    return;
  }
  if (trusted.size > cp.size) {
    add({
      file: CHECKPOINT_FILE,
      what: `rollback: the log is at size ${cp.size}, older than the trusted size ${trusted.size}`,
    });
    return;
  }
  const get: SubtreeHashes = (height, index) => {
    const l = levels[Math.floor(height / TILE_HEIGHT)]!;
    const span = 2 ** (height % TILE_HEIGHT);
    return span === 1 ? l[index]! : perfectRoot(l.slice(index * span, (index + 1) * span));
  };
  const prefixRoot = rangeHash(get, 0, trusted.size);
  if (!prefixRoot.equals(trusted.root))
    add({
      file: file === 'trusted checkpoint' ? CHECKPOINT_FILE : file,
      what:
        trusted.size === cp.size
          ? `fork: the trusted checkpoint has the same size ${cp.size} but a different root`
          : `fork: the first ${trusted.size} entries do not hash to the trusted root; history was rewritten`,
    });
}
