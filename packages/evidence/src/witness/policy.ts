import { parseCheckpointText } from '../checkpoint.ts';
import { EvidenceError } from '../error.ts';
import { parseNote, parseVkey, type NoteVerifier } from '../note.ts';
import { parseCosignerVkey, type CosignatureVerifier } from './cosigner.ts';

export interface WitnessPolicy {
  /** The log's verifier (or its vkey text); its name must be the checkpoint origin. */
  logKey: NoteVerifier | string;
  /** The witnesses trusted for this log (or their vkeys). */
  witnesses: readonly (CosignatureVerifier | string)[];
  /** How many distinct witnesses must have cosigned. */
  k: number;
}

export interface CosignedReport {
  ok: boolean;
  origin?: string;
  size?: number;
  /** Distinct trusted witnesses whose cosignature verified, with the time each one claims. */
  witnessedBy: { name: string; time: number }[];
  problems: string[];
}

/**
 * A checkpoint is accepted when the log's signature verifies and at least k distinct trusted
 * witnesses cosigned it. Lines by unknown keys are ignored, but a bad line claiming a trusted key is
 * tampering and fails the check even if k others verify.
 */
export function verifyCosigned(checkpoint: string | Uint8Array, policy: WitnessPolicy): CosignedReport {
  const log = typeof policy.logKey === 'string' ? parseVkey(policy.logKey) : policy.logKey;
  const witnesses = policy.witnesses.map((w) => (typeof w === 'string' ? parseCosignerVkey(w) : w));
  if (!Number.isInteger(policy.k) || policy.k < 1 || policy.k > witnesses.length)
    throw new EvidenceError(
      'BAD_ARGUMENT',
      `witness threshold ${policy.k} must be between 1 and the ${witnesses.length} witness key(s) given`,
    );
  const problems: string[] = [];
  const witnessedBy: { name: string; time: number }[] = [];
  let note;
  let cp;
  try {
    note = parseNote(checkpoint);
    cp = parseCheckpointText(note.text);
  } catch (err) {
    if (!(err instanceof EvidenceError)) throw err;
    return { ok: false, witnessedBy, problems: [err.message] };
  }
  if (cp.origin !== log.name)
    problems.push(`checkpoint origin ${cp.origin} is not the log key name ${log.name}`);
  const msg = Buffer.from(note.text, 'utf8');
  let logSigned = false;
  const counted = new Set<string>();
  for (const s of note.signatures) {
    if (s.name === log.name && s.keyHash === log.keyHash) {
      if (log.verify(msg, s.signature)) logSigned = true;
      else problems.push(`the log signature by ${s.name} does not verify`);
      continue;
    }
    const w = witnesses.find((x) => x.name === s.name && x.keyHash === s.keyHash);
    if (!w) continue;
    const time = w.verify(note.text, s.signature);
    if (time === undefined) {
      problems.push(`the cosignature by witness ${s.name} does not verify`);
      continue;
    }
    // cosignature/v1 does not commit to the name: one key listed twice is still one witness.
    const key = w.publicKey.toString('hex');
    if (counted.has(key)) continue;
    counted.add(key);
    witnessedBy.push({ name: w.name, time });
  }
  if (!logSigned) problems.push(`no valid signature by the log key ${log.name}`);
  if (witnessedBy.length < policy.k)
    problems.push(
      `${witnessedBy.length} of the required ${policy.k} witness cosignatures verify (of ${witnesses.length} trusted)`,
    );
  return { ok: problems.length === 0, origin: cp.origin, size: cp.size, witnessedBy, problems };
}
