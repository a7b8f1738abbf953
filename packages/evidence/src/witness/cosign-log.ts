import { parseCheckpointText } from '../checkpoint.ts';
import { EvidenceError } from '../error.ts';
import { EvidenceLog } from '../log.ts';
import { parseNote } from '../note.ts';
import { attachCosignatures } from './attach.ts';
import { witnessCosign } from './client.ts';
import type { CosignatureVerifier } from './cosigner.ts';

export interface WitnessOutcome {
  url: string;
  ok: boolean;
  /** Names on the verified (or, without keys, merely well-formed) lines kept. */
  names: string[];
  error?: string;
}

export interface CosignLogResult {
  size: number;
  /** The checkpoint file's content after the lines were added. */
  checkpoint: string;
  witnesses: WitnessOutcome[];
}

/** A 409 can repeat when the log moves on between calls; a few rounds settle any honest race. */
const MAX_ROUNDS = 3;

/**
 * Asks each witness to cosign the log's current checkpoint, answering a 409 with a consistency
 * proof from the size the witness holds, and writes the cosignatures into the checkpoint file. With
 * witness keys given, only lines that verify against them are kept.
 */
export async function cosignLog(
  dir: string,
  urls: readonly string[],
  trusted: readonly CosignatureVerifier[] = [],
): Promise<CosignLogResult> {
  if (urls.length === 0) throw new EvidenceError('BAD_ARGUMENT', 'no witness URL given');
  const log = await EvidenceLog.open(dir, { readOnly: true });
  const outcomes: WitnessOutcome[] = [];
  const kept: string[] = [];
  let text: string;
  let size: number;
  try {
    const checkpoint = log.checkpoint;
    text = parseNote(checkpoint).text;
    size = parseCheckpointText(text).size;
    for (const url of urls) {
      const o = await askOne(log, url, checkpoint, size);
      if ('error' in o) {
        outcomes.push({ url, ok: false, names: [], error: o.error });
        continue;
      }
      const good = trusted.length === 0 ? o.lines : o.lines.filter((l) => verifies(l, text, trusted));
      if (good.length === 0) {
        outcomes.push({ url, ok: false, names: [], error: 'no cosignature by a trusted witness key' });
        continue;
      }
      kept.push(...good);
      outcomes.push({ url, ok: true, names: good.map((l) => l.split(' ')[1]!) });
    }
  } finally {
    log.close();
  }
  const next = kept.length > 0 ? attachCosignatures(dir, text, kept) : log.checkpoint;
  return { size, checkpoint: next, witnesses: outcomes };
}

async function askOne(
  log: EvidenceLog,
  url: string,
  checkpoint: string,
  size: number,
): Promise<{ lines: string[] } | { error: string }> {
  let old = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const proof = old === 0 || old === size ? [] : log.consistencyProof(old, size);
    const r = await witnessCosign(url, checkpoint, old, proof);
    if ('lines' in r) return { lines: r.lines };
    if ('size' in r) {
      if (r.size > size)
        return {
          error: `the witness has cosigned size ${r.size}, beyond this log's ${size}: the log was rolled back or forked`,
        };
      old = r.size;
      continue;
    }
    return { error: r.status === 0 ? r.message : `HTTP ${r.status}: ${r.message}` };
  }
  return { error: `the witness kept answering 409 after ${MAX_ROUNDS} rounds` };
}

function verifies(line: string, text: string, trusted: readonly CosignatureVerifier[]): boolean {
  const sig = parseNote(`${text}\n${line}`).signatures[0]!;
  const w = trusted.find((t) => t.name === sig.name && t.keyHash === sig.keyHash);
  return w !== undefined && w.verify(text, sig.signature) !== undefined;
}
