import { EvidenceError } from './error.ts';
import { HASH_SIZE } from './hash.ts';
import { openNote, type NoteVerifier, type OpenedNote } from './note.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** Lines after the root; C2SP keeps them signed but gives them no meaning. */
  extensions: string[];
}

function invalid(msg: string): never {
  throw new EvidenceError('NOTE_INVALID', msg);
}

/** The note text of a checkpoint (C2SP tlog-checkpoint): origin, decimal size, base64 root. */
export function formatCheckpoint(c: Pick<Checkpoint, 'origin' | 'size' | 'root'>): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') invalid('checkpoint has fewer than three lines');
  const [origin, size, root, ...rest] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (origin.length === 0) invalid('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    invalid(`checkpoint size ${JSON.stringify(size.slice(0, 20))} is not a decimal without leading zeros`);
  const r = Buffer.from(root, 'base64');
  if (r.length !== HASH_SIZE || r.toString('base64') !== root)
    invalid('checkpoint root is not a base64 SHA-256 hash');
  return { origin, size: Number(size), root: r, extensions: rest };
}

/** A checkpoint whose note carries at least one good signature by a trusted key. */
export interface SignedCheckpoint extends Checkpoint {
  note: OpenedNote;
}

export function openCheckpoint(
  noteText: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): SignedCheckpoint {
  const note = openNote(noteText, verifiers);
  return { ...parseCheckpointText(note.text), note };
}
