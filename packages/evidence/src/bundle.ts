import { openCheckpoint } from './checkpoint.ts';
import type { EvidenceError } from './error.ts';
import { leafHash } from './hash.ts';
import { parseCanonical } from './jcs.ts';
import { rootFromInclusion } from './merkle.ts';
import type { NoteVerifier } from './note.ts';

/** One entry with everything needed to check it offline: the bytes, the path, the signed root. */
export interface ProofBundle {
  format: 'keywarden-evidence-bundle/v1';
  origin: string;
  index: number;
  size: number;
  /** The logged canonical JSON, exactly as hashed. */
  entry: string;
  /** Base64 hashes, leaf sibling first (RFC 6962 PATH). */
  inclusion: string[];
  /** The signed checkpoint note the proof leads to. */
  checkpoint: string;
}

export interface BundleResult {
  ok: boolean;
  index: number;
  size?: number;
  origin?: string;
  problems: string[];
}

const MAX_PROOF = 64;
export const MAX_BUNDLE_BYTES = 1 << 20;

/** Checks a bundle: signature on its checkpoint, origin, canonical entry, inclusion to the root. */
export function verifyBundle(input: unknown, vkeys: readonly NoteVerifier[], origin?: string): BundleResult {
  const problems: string[] = [];
  const b = input as Partial<ProofBundle> | null;
  const index = typeof b?.index === 'number' ? b.index : -1;
  const result = (): BundleResult => ({
    ok: problems.length === 0,
    index,
    size: b?.size,
    origin: b?.origin,
    problems,
  });
  if (typeof b !== 'object' || b === null || b.format !== 'keywarden-evidence-bundle/v1') {
    problems.push('not a keywarden-evidence-bundle/v1 object');
    return result();
  }
  if (
    !Number.isSafeInteger(b.index) ||
    !Number.isSafeInteger(b.size) ||
    typeof b.entry !== 'string' ||
    typeof b.checkpoint !== 'string' ||
    !Array.isArray(b.inclusion) ||
    b.inclusion.length > MAX_PROOF ||
    !b.inclusion.every((h) => typeof h === 'string')
  ) {
    problems.push(
      'bundle fields index, size, entry, inclusion and checkpoint are missing or of the wrong type',
    );
    return result();
  }
  let cp;
  try {
    cp = openCheckpoint(b.checkpoint, vkeys);
  } catch (err) {
    problems.push(`checkpoint: ${(err as Error).message}`);
    return result();
  }
  const want = origin ?? cp.note.verifiedBy[0];
  if (cp.origin !== want) problems.push(`checkpoint origin ${cp.origin} is not the expected origin ${want}`);
  if (b.origin !== cp.origin)
    problems.push(`bundle origin ${b.origin} differs from its checkpoint's ${cp.origin}`);
  if (cp.size !== b.size) problems.push(`bundle size ${b.size} differs from its checkpoint's ${cp.size}`);
  try {
    parseCanonical(b.entry, `entry ${b.index}`);
  } catch (err) {
    problems.push((err as EvidenceError).message);
  }
  const proof = b.inclusion.map((h) => Buffer.from(h, 'base64'));
  const root = rootFromInclusion(leafHash(Buffer.from(b.entry, 'utf8')), b.index!, cp.size, proof);
  if (!root)
    problems.push(`the inclusion proof for entry ${b.index} has the wrong shape for a tree of ${cp.size}`);
  else if (!root.equals(cp.root))
    problems.push(`entry ${b.index} does not lead to the checkpoint root (entry or proof altered)`);
  return result();
}
