export { EvidenceError, type EvidenceErrorCode } from './error.ts';
export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, sha256 } from './hash.ts';
export {
  arrayHashes,
  consistencyProof,
  inclusionProof,
  rangeHash,
  rootFromInclusion,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  type SubtreeHashes,
} from './merkle.ts';
export { canonicalize, parseCanonical } from './jcs.ts';
export * from './statement.ts';
export {
  ALG_ED25519,
  formatVkey,
  keyHash,
  openNote,
  parseNote,
  parseVkey,
  signNote,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type ParsedNote,
} from './note.ts';
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpointText,
  type Checkpoint,
  type SignedCheckpoint,
} from './checkpoint.ts';
export { FileSigner } from './file-signer.ts';
export { encodeTileIndex, entriesPath, tilePath, TILE_HEIGHT, TILE_WIDTH } from './tile-path.ts';
export { CHECKPOINT_FILE, isLogDir, KEY_FILE, VKEY_FILE } from './layout.ts';
export { EvidenceLog, type OpenOptions } from './log.ts';
export { verifyBundle, MAX_BUNDLE_BYTES, type BundleResult, type ProofBundle } from './bundle.ts';
export { verifyLog, type LogReport, type Problem, type VerifyOptions } from './verify-log.ts';
export * from './witness/index.ts';
