export * from './error.ts';
export * from './path/types.ts';
export { SignatureCache, certSignatureValid, type SignatureVerdict } from './path/signature.ts';
export { validatePath } from './path/validate.ts';
export { CertIndex, buildPaths, validateBest, type BuildLimits } from './path/paths.ts';
export {
  AUTHORITIES,
  AUTHORITY_NAMES,
  type Rule,
  type Status,
  type Use,
  type Source,
} from './policy/authorities.ts';
export {
  classify,
  disallowedFrom,
  keyRule,
  rulesFor,
  type Verdict,
  type PolicyAsset,
} from './policy/evaluate.ts';
export { parseOrgPolicy, loadOrgPolicy, type OrgPolicy } from './policy/org-policy.ts';
export {
  algorithmName,
  COMPOSITE_SIGNATURES,
  familyOf,
  moscaDeadline,
  quantumVulnerable,
} from './policy/pqc.ts';
export * from './lint/types.ts';
export {
  lintCertificate,
  selectProfile,
  rawFacts,
  lintsFor,
  ALL_LINTS,
  type LintOptions,
  type LintReport,
  type ProfileChoice,
} from './lint/run.ts';
