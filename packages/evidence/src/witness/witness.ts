import { parseCheckpointText, type Checkpoint } from '../checkpoint.ts';
import { EvidenceError } from '../error.ts';
import { EMPTY_ROOT } from '../hash.ts';
import { acquireLock } from '../lock.ts';
import { verifyConsistency } from '../merkle.ts';
import { parseNote, type NoteVerifier, type ParsedNote } from '../note.ts';
import type { Cosigner } from './cosigner.ts';
import { parseAddCheckpoint } from './request.ts';
import { loadState, saveState, type LogState } from './state.ts';

export interface WitnessOptions {
  cosigner: Cosigner;
  /** Verifier keys of the logs this witness follows; each key's name is its log's origin. */
  logKeys: readonly NoteVerifier[];
  /** The JSON state file: latest cosigned size and root per origin. */
  statePath: string;
  /** Seconds since the epoch for cosignature timestamps (default: the clock). */
  now?: () => number;
}

export interface WitnessResponse {
  status: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';
const SIZE = 'text/x.tlog.size';

function refuse(status: number, why: string): WitnessResponse {
  return { status, contentType: TEXT, body: `${why}\n` };
}

/**
 * The witness side of C2SP tlog-witness add-checkpoint. Every request is handled synchronously from
 * the size check to the fsync of the new state, so within one process two requests cannot interleave
 * and roll the stored tree back (the race the spec warns about); a lock file keeps a second process
 * off the same state.
 */
export class Witness {
  readonly #cosigner: Cosigner;
  readonly #keys = new Map<string, NoteVerifier[]>();
  readonly #statePath: string;
  readonly #now: () => number;
  readonly #release: () => void;
  #state: Map<string, LogState>;

  constructor(o: WitnessOptions) {
    if (o.logKeys.length === 0)
      throw new EvidenceError('BAD_ARGUMENT', 'a witness needs at least one log key');
    this.#cosigner = o.cosigner;
    for (const k of o.logKeys) this.#keys.set(k.name, [...(this.#keys.get(k.name) ?? []), k]);
    this.#statePath = o.statePath;
    this.#now = o.now ?? (() => Math.floor(Date.now() / 1000));
    this.#release = acquireLock(`${o.statePath}.lock`);
    try {
      this.#state = loadState(o.statePath);
    } catch (err) {
      this.#release();
      throw err;
    }
  }

  get name(): string {
    return this.#cosigner.name;
  }
  get vkey(): string {
    return this.#cosigner.vkey;
  }

  /** The latest cosigned tree of a log, if any. */
  latest(origin: string): LogState | undefined {
    const s = this.#state.get(origin);
    return s && { size: s.size, root: Buffer.from(s.root) };
  }

  addCheckpoint(body: Uint8Array): WitnessResponse {
    let req;
    let note: ParsedNote;
    let cp: Checkpoint;
    try {
      req = parseAddCheckpoint(body);
      note = parseNote(req.checkpoint);
      cp = parseCheckpointText(note.text);
    } catch (err) {
      if (err instanceof EvidenceError) return refuse(400, err.message);
      throw err;
    }
    const keys = this.#keys.get(cp.origin);
    if (!keys) return refuse(404, `unknown log origin ${JSON.stringify(cp.origin)}`);
    const msg = Buffer.from(note.text, 'utf8');
    // Unknown keys' lines (other witnesses' cosignatures, say) are ignored, as the spec requires.
    const signed = note.signatures.some((s) =>
      keys.some((k) => k.name === s.name && k.keyHash === s.keyHash && k.verify(msg, s.signature)),
    );
    if (!signed) return refuse(403, `no signature by a trusted key of ${cp.origin} verifies`);
    if (req.oldSize > cp.size)
      return refuse(400, `old size ${req.oldSize} is larger than the checkpoint size ${cp.size}`);

    const stored = this.#state.get(cp.origin) ?? { size: 0, root: EMPTY_ROOT };
    if (req.oldSize !== stored.size) return { status: 409, contentType: SIZE, body: `${stored.size}\n` };
    if (req.oldSize === cp.size) {
      if (!cp.root.equals(stored.root))
        return refuse(409, `fork: size ${cp.size} was cosigned with a different root hash`);
    } else if (!verifyConsistency(stored.size, cp.size, stored.root, cp.root, req.proof)) {
      // From size 0 this also insists on an empty proof, as the spec asks.
      return refuse(422, `the consistency proof from size ${stored.size} to ${cp.size} does not verify`);
    }

    const line = this.#cosigner.cosign(note.text, this.#now());
    const next = new Map(this.#state);
    next.set(cp.origin, { size: cp.size, root: Buffer.from(cp.root) });
    // Durable before we answer: a cosignature must never outlive the state that justified it.
    saveState(this.#statePath, next);
    this.#state = next;
    return { status: 200, contentType: TEXT, body: line };
  }

  close(): void {
    this.#release();
  }
}
