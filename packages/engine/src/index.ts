export {
  runScan,
  DEFAULT_MAX_FILE_BYTES,
  type ScanOptions,
  type ScanSummary,
  type ScanProgress,
} from './scan-job.ts';
export {
  certificates,
  keys,
  signatures,
  libraries,
  certificateItem,
  keyItem,
  signatureItem,
  keyLabel,
  signerLabel,
  type CertificateItem,
  type KeyItem,
  type SignatureItem,
  type LibraryItem,
  roles,
  type RoleItem,
} from './inventory.ts';
export { buildReport, type Report, type ReportOptions, type ExpiryItem } from './report.ts';
export { analyzeChains, type ChainItem, type ChainOptions, type TrustAnalysis } from './chains.ts';
export { trustGraph, toDot, type TrustGraph, type GraphNode, type GraphEdge } from './graph.ts';
export { gapFindings, type GapOptions } from './trust-findings.ts';
export { trustStoresOf } from './trust-stores.ts';
export { renderText, renderHtml } from './render.ts';
export { atLeast, isSeverity, RULES, SEVERITIES, type Finding, type Severity } from './findings.ts';
export { EngineError, type EngineErrorCode } from './error.ts';
export { BatchBuilder } from './normalise.ts';
export {
  exportCbom,
  type CycloneDxBom,
  type CdxComponent,
  type CdxDependency,
  type ExportOptions,
} from './cbom-export.ts';
export { importCbom, MAX_BOM_BYTES, type ImportOptions, type ImportSummary } from './cbom-import.ts';
export {
  policyCheck,
  pqcReadiness,
  type PolicyRow,
  type PolicyCheck,
  type Product,
  type ReadinessRow,
  type RowStatus,
} from './policy-check.ts';
export { lintStore, type LintRow, type LintStoreResult } from './lint-run.ts';
export { inventoryDigest, recordScan, scanStatement } from './scan-evidence.ts';
