import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCheckpoint, openCheckpoint } from './checkpoint.ts';
import { replaceDurable, writeAllDurable } from './durable-fs.ts';
import { EvidenceError } from './error.ts';
import { FileSigner } from './file-signer.ts';
import { leafHash } from './hash.ts';
import { parseCanonical } from './jcs.ts';
import { CHECKPOINT_FILE, KEY_FILE, LOCK_FILE, PENDING_FILE, readBounded, VKEY_FILE } from './layout.ts';
import { acquireLock } from './lock.ts';
import { consistencyProof, inclusionProof, type SubtreeHashes } from './merkle.ts';
import { parseVkey, signNote, type NoteSigner, type NoteVerifier } from './note.ts';
import { encodeStatement, type Statement } from './statement.ts';
import {
  decodeBundle,
  decodeTile,
  edgeRoot,
  encodeBundle,
  encodeTile,
  interiorLevels,
  perfectRoot,
} from './tiles.ts';
import { entriesPath, levelCount, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tile-path.ts';
import type { ProofBundle } from './bundle.ts';

export interface OpenOptions {
  /** Create the log when the directory holds none. */
  create?: boolean;
  /** Origin (and key name) of a new log; default keywarden.invalid/evidence/<random>. */
  origin?: string;
  /** Sign checkpoints with this instead of the log's key file (e.g. an HSM). */
  signer?: NoteSigner;
  /** Verifier for the signer; needed with a custom signer to check the checkpoint found on open. */
  verifier?: NoteVerifier;
  /** Skip fsync (benchmarks of the hashing alone, never production). */
  durable?: boolean;
  /** Read proofs and entries only: no lock, no repair, no private key; appends are refused. */
  readOnly?: boolean;
}

/** Stands in for the key in a read-only log, so a read never needs the private key file. */
function noSigner(name: string): NoteSigner {
  return {
    name,
    keyHash: 0,
    sign: () => {
      throw new EvidenceError('LOG_WRITE', 'the evidence log was opened read-only');
    },
  };
}

const TILE_CACHE = 128;

function writeError(msg: string, err: unknown): EvidenceError {
  return new EvidenceError('LOG_WRITE', msg, { cause: err });
}

/**
 * The append-only evidence log: RFC 6962 tree, C2SP tlog-tiles on disk, a C2SP signed-note
 * checkpoint. In memory it keeps only the right edge (the partial tile of each level and the partial
 * entry bundle); everything else is read back from the tiles.
 */
export class EvidenceLog {
  readonly dir: string;
  readonly origin: string;
  readonly #signer: NoteSigner;
  readonly #release: () => void;
  readonly #durable: boolean;
  #size: number;
  #root: Buffer;
  #checkpoint: string;
  #edge: Buffer[][];
  #entryEdge: Buffer[];
  #cache = new Map<string, Buffer[][]>();
  #closed = false;
  /** Set when a write failed: the log must be reopened (and repaired) before more appends. */
  #broken = false;
  /** What open() had to clean up after an interrupted append, for the caller to report. */
  readonly repaired: string[];
  readonly readOnly: boolean;

  private constructor(
    dir: string,
    origin: string,
    signer: NoteSigner,
    release: () => void,
    durable: boolean,
    state: { size: number; root: Buffer; checkpoint: string; edge: Buffer[][]; entryEdge: Buffer[] },
    repaired: string[],
    readOnly = false,
  ) {
    this.dir = dir;
    this.origin = origin;
    this.#signer = signer;
    this.#release = release;
    this.#durable = durable;
    this.#size = state.size;
    this.#root = state.root;
    this.#checkpoint = state.checkpoint;
    this.#edge = state.edge;
    this.#entryEdge = state.entryEdge;
    this.repaired = repaired;
    this.readOnly = readOnly;
  }

  static async open(dir: string, o: OpenOptions = {}): Promise<EvidenceLog> {
    const exists = existsSync(join(dir, CHECKPOINT_FILE));
    if (!exists && !o.create)
      throw new EvidenceError('BAD_ARGUMENT', `${dir} holds no evidence log (no ${CHECKPOINT_FILE} file)`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw writeError(`cannot create the log directory ${dir}`, err);
    }
    if (o.readOnly && !exists) throw new EvidenceError('BAD_ARGUMENT', `${dir} holds no evidence log`);
    const release = o.readOnly ? () => undefined : acquireLock(join(dir, LOCK_FILE));
    try {
      const durable = o.durable ?? true;
      if (!exists) return await EvidenceLog.#create(dir, o, release, durable);
      const { signer, verifier } = o.readOnly
        ? EvidenceLog.#loadVerifier(dir, o)
        : EvidenceLog.#loadSigner(dir, o);
      const text = readFileSync(join(dir, CHECKPOINT_FILE), 'utf8');
      let cp;
      try {
        cp = openCheckpoint(text, [verifier]);
      } catch (err) {
        throw new EvidenceError('LOG_CORRUPT', `${join(dir, CHECKPOINT_FILE)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (cp.origin !== signer.name)
        throw new EvidenceError(
          'LOG_CORRUPT',
          `checkpoint origin ${cp.origin} is not the log key name ${signer.name}`,
        );
      const repaired = o.readOnly ? [] : EvidenceLog.#repair(dir, cp.size);
      const edge = EvidenceLog.#loadEdge(dir, cp.size);
      const entryEdge = EvidenceLog.#loadEntryEdge(dir, cp.size);
      if (!edgeRoot(edge).equals(cp.root))
        throw new EvidenceError(
          'LOG_CORRUPT',
          `the partial tiles of ${dir} do not hash to the checkpoint root; run "keywarden evidence verify" to see where`,
        );
      const log = new EvidenceLog(
        dir,
        cp.origin,
        signer,
        release,
        durable,
        { size: cp.size, root: cp.root, checkpoint: text, edge, entryEdge },
        repaired,
        o.readOnly === true,
      );
      return log;
    } catch (err) {
      release();
      throw err;
    }
  }

  static async #create(
    dir: string,
    o: OpenOptions,
    release: () => void,
    durable: boolean,
  ): Promise<EvidenceLog> {
    const origin =
      o.signer?.name ?? o.origin ?? `keywarden.invalid/evidence/${randomBytes(4).toString('hex')}`;
    let signer: NoteSigner;
    try {
      if (o.signer) {
        if (!o.verifier) throw new EvidenceError('BAD_ARGUMENT', 'a custom signer needs its verifier');
        signer = o.signer;
        writeFileSync(join(dir, VKEY_FILE), `${(o.verifier as { vkey?: string }).vkey ?? ''}\n`);
      } else {
        const fs = FileSigner.create(join(dir, KEY_FILE), origin);
        signer = fs;
        writeFileSync(join(dir, VKEY_FILE), `${fs.vkey}\n`);
      }
    } catch (err) {
      if (err instanceof EvidenceError) throw err;
      throw writeError(`cannot write the key files of ${dir}`, err);
    }
    const root = edgeRoot([]);
    const text = await signNote(formatCheckpoint({ origin, size: 0, root }), [signer]);
    try {
      replaceDurable(join(dir, CHECKPOINT_FILE), Buffer.from(text));
    } catch (err) {
      throw writeError(`cannot write ${join(dir, CHECKPOINT_FILE)}`, err);
    }
    return new EvidenceLog(
      dir,
      origin,
      signer,
      release,
      durable,
      { size: 0, root, checkpoint: text, edge: [], entryEdge: [] },
      [],
    );
  }

  static #loadVerifier(dir: string, o: OpenOptions): { signer: NoteSigner; verifier: NoteVerifier } {
    const verifier = o.verifier ?? EvidenceLog.#readVkey(dir);
    return { signer: noSigner(verifier.name), verifier };
  }

  static #readVkey(dir: string): NoteVerifier {
    const vkeyPath = join(dir, VKEY_FILE);
    try {
      return parseVkey(readFileSync(vkeyPath, 'utf8'));
    } catch (err) {
      throw new EvidenceError('BAD_ARGUMENT', `cannot read the log's verifier key ${vkeyPath}`, {
        cause: err,
      });
    }
  }

  static #loadSigner(dir: string, o: OpenOptions): { signer: NoteSigner; verifier: NoteVerifier } {
    if (o.signer) {
      if (!o.verifier) throw new EvidenceError('BAD_ARGUMENT', 'a custom signer needs its verifier');
      return { signer: o.signer, verifier: o.verifier };
    }
    const vkeyPath = join(dir, VKEY_FILE);
    let verifier;
    try {
      verifier = parseVkey(readFileSync(vkeyPath, 'utf8'));
    } catch (err) {
      throw new EvidenceError('BAD_ARGUMENT', `cannot read the log's verifier key ${vkeyPath}`, {
        cause: err,
      });
    }
    const signer = FileSigner.load(join(dir, KEY_FILE), verifier.name);
    if (signer.keyHash !== verifier.keyHash)
      throw new EvidenceError('BAD_ARGUMENT', `${join(dir, KEY_FILE)} does not match ${vkeyPath}`);
    return { signer, verifier };
  }

  /** Files an interrupted append wrote beyond the checkpoint are removed; the signed state is untouched. */
  static #repair(dir: string, size: number): string[] {
    const pending = join(dir, PENDING_FILE);
    if (!existsSync(pending)) return [];
    const removed: string[] = [];
    let listed: string[] = [];
    try {
      listed = JSON.parse(readFileSync(pending, 'utf8')) as string[];
    } catch {
      // A torn journal means the append never got past writing it: nothing else was written.
    }
    const needed = new Set(neededFiles(size));
    for (const f of Array.isArray(listed) ? listed : []) {
      if (typeof f !== 'string' || !f.startsWith('tile/') || f.includes('..') || needed.has(f)) continue;
      try {
        unlinkSync(join(dir, f));
        removed.push(f);
      } catch {
        // Never written: the crash came first.
      }
    }
    unlinkSync(pending);
    return removed;
  }

  static #loadEdge(dir: string, size: number): Buffer[][] {
    const edge: Buffer[][] = [];
    for (let level = 0; level < levelCount(size); level++) {
      const count = Math.floor(size / TILE_WIDTH ** level);
      const width = count % TILE_WIDTH;
      if (width === 0) {
        edge.push([]);
        continue;
      }
      const f = tilePath(level, Math.floor(count / TILE_WIDTH), width);
      edge.push(decodeTile(readBounded(join(dir, f), f), width, f).map((h) => Buffer.from(h)));
    }
    return edge;
  }

  static #loadEntryEdge(dir: string, size: number): Buffer[] {
    const width = size % TILE_WIDTH;
    if (width === 0) return [];
    const f = entriesPath(Math.floor(size / TILE_WIDTH), width);
    const entries = decodeBundle(readBounded(join(dir, f), f), f);
    if (entries.length !== width)
      throw new EvidenceError('LOG_CORRUPT', `${f} holds ${entries.length} entries, not ${width}`);
    return entries.map((e) => Buffer.from(e));
  }

  get size(): number {
    return this.#size;
  }
  get root(): Buffer {
    return Buffer.from(this.#root);
  }
  /** The current signed checkpoint, as stored. */
  get checkpoint(): string {
    return this.#checkpoint;
  }

  async append(statement: Statement): Promise<number> {
    return (await this.appendBatch([statement]))[0]!;
  }

  /**
   * Appends statements and resolves with their indexes only once entries, tiles and a freshly signed
   * checkpoint are on stable storage. A rejection means nothing was committed: the caller must not
   * perform the operation the statement records.
   */
  async appendBatch(statements: readonly Statement[]): Promise<number[]> {
    if (this.#closed) throw new EvidenceError('LOG_WRITE', 'the evidence log is closed');
    if (this.#broken)
      throw new EvidenceError('LOG_WRITE', 'an earlier append failed; reopen the log to repair it');
    if (statements.length === 0) return [];
    const entries = statements.map(encodeStatement);
    const oldSize = this.#size;
    const newSize = oldSize + entries.length;
    if (!Number.isSafeInteger(newSize)) throw new EvidenceError('BAD_ARGUMENT', 'the log is full');

    const files: { path: string; data: Buffer }[] = [];
    const entryEdge = this.#entryEdge.slice();
    let bundleIndex = Math.floor(oldSize / TILE_WIDTH);
    for (const e of entries) {
      entryEdge.push(e);
      if (entryEdge.length === TILE_WIDTH) {
        files.push({ path: entriesPath(bundleIndex, TILE_WIDTH), data: encodeBundle(entryEdge) });
        entryEdge.length = 0;
        bundleIndex++;
      }
    }
    if (entryEdge.length > 0)
      files.push({ path: entriesPath(bundleIndex, entryEdge.length), data: encodeBundle(entryEdge) });

    const edge = this.#edge.map((l) => l.slice());
    let carry = entries.map((e) => leafHash(e));
    for (let level = 0; carry.length > 0; level++) {
      if (edge.length <= level) edge.push([]);
      const hashes = edge[level]!;
      let tileIndex = Math.floor(Math.floor(oldSize / TILE_WIDTH ** level) / TILE_WIDTH);
      const up: Buffer[] = [];
      for (const h of carry) {
        hashes.push(h);
        if (hashes.length === TILE_WIDTH) {
          files.push({ path: tilePath(level, tileIndex, TILE_WIDTH), data: encodeTile(hashes) });
          up.push(perfectRoot(hashes));
          hashes.length = 0;
          tileIndex++;
        }
      }
      if (hashes.length > 0)
        files.push({ path: tilePath(level, tileIndex, hashes.length), data: encodeTile(hashes) });
      carry = up;
    }
    const root = edgeRoot(edge);
    const text = await signNote(formatCheckpoint({ origin: this.origin, size: newSize, root }), [
      this.#signer,
    ]);

    const stale = partialFiles(oldSize);
    try {
      // The journal need not be durable: files beyond the checkpoint are never read and get rewritten.
      writeLoose(
        join(this.dir, PENDING_FILE),
        Buffer.from(JSON.stringify(files.map((f) => f.path))),
        new Set(),
      );
      const targets = files.map((f) => ({ path: join(this.dir, f.path), data: f.data }));
      if (this.#durable) {
        await writeAllDurable(targets);
        replaceDurable(join(this.dir, CHECKPOINT_FILE), Buffer.from(text));
      } else {
        const dirs = new Set<string>();
        for (const f of targets) writeLoose(f.path, f.data, dirs);
        writeFileSync(join(this.dir, CHECKPOINT_FILE), text);
      }
    } catch (err) {
      this.#broken = true;
      throw writeError(`cannot make ${entries.length} evidence entries durable in ${this.dir}`, err);
    }
    this.#size = newSize;
    this.#root = root;
    this.#checkpoint = text;
    this.#edge = edge;
    this.#entryEdge = entryEdge.slice();
    // The checkpoint no longer needs the shorter partial tiles; longer ones replace them.
    const keep = new Set(partialFiles(newSize));
    for (const f of stale) if (!keep.has(f)) tryUnlink(join(this.dir, f));
    tryUnlink(join(this.dir, PENDING_FILE));
    return entries.map((_, i) => oldSize + i);
  }

  /** Hashes of complete subtrees, from the in-memory edge or the full tiles on disk. */
  readonly #subtree: SubtreeHashes = (height, index) => {
    const level = Math.floor(height / TILE_HEIGHT);
    const r = height % TILE_HEIGHT;
    const first = index * 2 ** r;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const h = this.#levelTile(level, tileIndex)[r]?.[(first - tileIndex * TILE_WIDTH) / 2 ** r];
    if (!h)
      throw new EvidenceError(
        'BAD_ARGUMENT',
        `subtree ${index} at height ${height} is not complete in this log`,
      );
    return h;
  };

  /** A tile with its interior levels, cached: a proof then costs no hashing beyond what it returns. */
  #levelTile(level: number, tileIndex: number): Buffer[][] {
    const count = Math.floor(this.#size / TILE_WIDTH ** level);
    const width = Math.min(TILE_WIDTH, count - tileIndex * TILE_WIDTH);
    if (width <= 0) throw new EvidenceError('BAD_ARGUMENT', `tile ${level}/${tileIndex} lies beyond the log`);
    const f = tilePath(level, tileIndex, width);
    let t = this.#cache.get(f);
    if (!t) {
      const hashes =
        width < TILE_WIDTH
          ? this.#edge[level]!
          : decodeTile(readBounded(join(this.dir, f), f), TILE_WIDTH, f);
      t = interiorLevels(hashes);
      if (this.#cache.size >= TILE_CACHE) this.#cache.delete(this.#cache.keys().next().value!);
    } else this.#cache.delete(f);
    this.#cache.set(f, t);
    return t;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#size)
      throw new EvidenceError('BAD_ARGUMENT', `tree size ${size} is beyond the log's ${this.#size} entries`);
  }

  inclusionProof(index: number, size = this.#size): Buffer[] {
    this.#checkSize(size);
    return inclusionProof(this.#subtree, index, size);
  }

  consistencyProof(m: number, n = this.#size): Buffer[] {
    this.#checkSize(n);
    return consistencyProof(this.#subtree, m, n);
  }

  /** The logged bytes of entry `index` (canonical JSON). */
  entry(index: number): Buffer {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#size)
      throw new EvidenceError('BAD_ARGUMENT', `entry ${index} does not exist (the log has ${this.#size})`);
    const b = Math.floor(index / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, this.#size - b * TILE_WIDTH);
    const at = index - b * TILE_WIDTH;
    if (width < TILE_WIDTH) return Buffer.from(this.#entryEdge[at]!);
    const f = entriesPath(b, TILE_WIDTH);
    const entries = decodeBundle(readBounded(join(this.dir, f), f), f);
    const e = entries[at];
    if (!e) throw new EvidenceError('LOG_CORRUPT', `${f} has no entry ${at}`);
    return Buffer.from(e);
  }

  statement(index: number): Statement {
    return parseCanonical(this.entry(index).toString('utf8'), `entry ${index}`) as Statement;
  }

  /** A self-contained proof that entry `index` is in the log as of the current checkpoint. */
  bundle(index: number): ProofBundle {
    return {
      format: 'keywarden-evidence-bundle/v1',
      origin: this.origin,
      index,
      size: this.#size,
      entry: this.entry(index).toString('utf8'),
      inclusion: this.inclusionProof(index).map((h) => h.toString('base64')),
      checkpoint: this.#checkpoint,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }
}

function writeLoose(path: string, data: Buffer, dirs: Set<string>): void {
  const dir = join(path, '..');
  if (!dirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    dirs.add(dir);
  }
  writeFileSync(path, data);
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already removed.
  }
}

/** Every tile and bundle path a tree of `size` leaves consists of. */
export function neededFiles(size: number): string[] {
  const out: string[] = [];
  const bundles = Math.ceil(size / TILE_WIDTH);
  for (let b = 0; b < bundles; b++) out.push(entriesPath(b, Math.min(TILE_WIDTH, size - b * TILE_WIDTH)));
  for (let level = 0; level < levelCount(size); level++) {
    const count = Math.floor(size / TILE_WIDTH ** level);
    for (let t = 0; t * TILE_WIDTH < count; t++)
      out.push(tilePath(level, t, Math.min(TILE_WIDTH, count - t * TILE_WIDTH)));
  }
  return out;
}

/** The partial tiles and bundle of a tree of `size` leaves: the files a longer tree replaces. */
function partialFiles(size: number): string[] {
  const out: string[] = [];
  if (size % TILE_WIDTH) out.push(entriesPath(Math.floor(size / TILE_WIDTH), size % TILE_WIDTH));
  for (let level = 0; level < levelCount(size); level++) {
    const count = Math.floor(size / TILE_WIDTH ** level);
    if (count % TILE_WIDTH) out.push(tilePath(level, Math.floor(count / TILE_WIDTH), count % TILE_WIDTH));
  }
  return out;
}
