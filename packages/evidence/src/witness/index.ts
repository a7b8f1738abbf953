export { addSignatureLines, attachCosignatures } from './attach.ts';
export { witnessCosign, type CosignResult } from './client.ts';
export { cosignLog, type CosignLogResult, type WitnessOutcome } from './cosign-log.ts';
export {
  ALG_COSIGNATURE_V1,
  Cosigner,
  cosignatureMessage,
  formatCosignerVkey,
  parseCosignerVkey,
  type CosignatureVerifier,
} from './cosigner.ts';
export { verifyCosigned, type CosignedReport, type WitnessPolicy } from './policy.ts';
export {
  formatAddCheckpoint,
  parseAddCheckpoint,
  MAX_PROOF_LINES,
  type AddCheckpointRequest,
} from './request.ts';
export { isLoopback, serveWitness, type ServeOptions, type WitnessServer } from './server.ts';
export { loadState, saveState, type LogState } from './state.ts';
export { Witness, type WitnessOptions, type WitnessResponse } from './witness.ts';
