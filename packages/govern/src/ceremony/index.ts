export {
  ACTIONS,
  loadCeremonyScript,
  MECHANISMS,
  parseCeremonyScript,
  scriptFromDocument,
  SCRIPT_KIND,
  type ActionType,
  type CeremonyScript,
  type CeremonyScriptDoc,
  type CeremonyStepDoc,
  type MechanismName,
} from './script.ts';
export {
  CEREMONY_KIND,
  isCeremonyEntry,
  signedBytes,
  type CeremonyEntry,
  type HsmRecord,
  type Phase,
} from './entry.ts';
export { loadCeremony, type CeremonyState, type StepState, type StepStatus } from './state.ts';
export {
  performStep,
  recordException,
  startCeremony,
  type CeremonySigner,
  type StepInput,
  type StepResult,
} from './run.ts';
export { verifyCeremony, type CeremonyVerification, type EntryCheck, type SignatureCheck } from './verify.ts';
export {
  ceremonyReport,
  type CeremonyReport,
  type ProvableLog,
  type ReportEntry,
  type ReportKey,
  type ReportStep,
} from './report.ts';
export { renderCeremonyHtml } from './report-html.ts';
export { signatureVerifies } from './hsm-actions.ts';
