import { mkdirSync, readFileSync } from 'node:fs';
import { parseCheckpointText } from '../checkpoint.ts';
import { join } from 'node:path';
import { replaceDurable } from '../durable-fs.ts';
import { EvidenceError } from '../error.ts';
import { CHECKPOINT_FILE, LOCK_FILE, WITNESSED_DIR } from '../layout.ts';
import { acquireLock } from '../lock.ts';
import { parseNote } from '../note.ts';

/**
 * Adds signature lines to a signed note. A newer line from the same key replaces the older one, so
 * repeated cosigning leaves one cosignature per witness, not a growing pile.
 */
export function addSignatureLines(note: string, lines: readonly string[]): string {
  const parsed = parseNote(note);
  const extra = parseNote(`${parsed.text}\n${lines.join('')}`).signatures;
  const id = (s: { name: string; keyHash: number }): string => `${s.name}\u0000${s.keyHash}`;
  const replaced = new Set(extra.map(id));
  const kept = parsed.signatures.filter((s) => !replaced.has(id(s)));
  const all = [...kept, ...extra];
  const seen = new Set<string>();
  const out = all.filter((s) => (seen.has(s.line) ? false : (seen.add(s.line), true)));
  return `${parsed.text}\n${out.map((s) => s.line).join('')}`;
}

/**
 * Writes cosignature lines into the log's checkpoint file, under the log's lock. Refuses when the log
 * has moved on since the cosigned checkpoint was read: the lines would sign a note it no longer holds.
 */
export function attachCosignatures(dir: string, cosignedText: string, lines: readonly string[]): string {
  const path = join(dir, CHECKPOINT_FILE);
  const release = acquireLock(join(dir, LOCK_FILE));
  try {
    let current: string;
    try {
      current = readFileSync(path, 'utf8');
    } catch (err) {
      throw new EvidenceError('BAD_ARGUMENT', `cannot read ${path}`, { cause: err });
    }
    if (parseNote(current).text !== cosignedText)
      throw new EvidenceError(
        'BAD_ARGUMENT',
        `${path} changed while the witnesses were asked; cosign the new checkpoint instead`,
      );
    const next = addSignatureLines(current, lines);
    const kept = join(dir, WITNESSED_DIR, String(parseCheckpointText(cosignedText).size));
    try {
      mkdirSync(join(dir, WITNESSED_DIR), { recursive: true });
      replaceDurable(kept, Buffer.from(next));
      replaceDurable(path, Buffer.from(next));
    } catch (err) {
      throw new EvidenceError('LOG_WRITE', `cannot write ${path}`, { cause: err });
    }
    return next;
  } finally {
    release();
  }
}
