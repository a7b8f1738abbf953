import { EvidenceError } from '../error.ts';
import { HASH_SIZE } from '../hash.ts';

/** tlog-witness: a client MUST NOT send more than 63 consistency proof lines. */
export const MAX_PROOF_LINES = 63;
/** A checkpoint with a few dozen signatures fits easily; anything larger is not a checkpoint. */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Buffer[];
  /** The signed note, as sent. */
  checkpoint: string;
}

function malformed(msg: string): never {
  throw new EvidenceError('BAD_ARGUMENT', `add-checkpoint request: ${msg}`);
}

export function formatAddCheckpoint(
  oldSize: number,
  proof: readonly Uint8Array[],
  checkpoint: string,
): string {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0) malformed(`old size ${oldSize} is not a tree size`);
  if (proof.length > MAX_PROOF_LINES) malformed(`more than ${MAX_PROOF_LINES} proof hashes`);
  const lines = proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('');
  return `old ${oldSize}\n${lines}\n${checkpoint}`;
}

export function parseAddCheckpoint(body: Uint8Array): AddCheckpointRequest {
  if (body.length > MAX_REQUEST_BYTES) malformed(`body larger than ${MAX_REQUEST_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return malformed('body is not UTF-8');
  }
  const end = text.indexOf('\n\n');
  if (end < 0) malformed('no empty line before the checkpoint');
  const head = text.slice(0, end).split('\n');
  const checkpoint = text.slice(end + 2);
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0]!);
  if (!m || !Number.isSafeInteger(Number(m[1])))
    malformed('the first line is not "old <size>" in decimal without leading zeros');
  const proofLines = head.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) malformed(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof = proofLines.map((l, i) => {
    const h = Buffer.from(l, 'base64');
    if (h.length !== HASH_SIZE || h.toString('base64') !== l)
      malformed(`proof line ${i + 1} is not a base64 SHA-256 hash`);
    return h;
  });
  if (checkpoint.length === 0) malformed('no checkpoint after the empty line');
  return { oldSize: Number(m[1]), proof, checkpoint };
}
