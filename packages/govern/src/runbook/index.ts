export {
  loadRunbook,
  loadRunbooks,
  parseRunbook,
  RUNBOOK_KINDS,
  type Runbook,
  type RunbookKind,
} from './runbook.ts';
export {
  LEGACY_DRILL_KIND,
  DRILL_RESULTS,
  drillsOf,
  isDrill,
  recordDrill,
  type Drill,
  type DrillResult,
  type DrillStatement,
} from './drill.ts';
export {
  DEFAULT_RUNBOOK_POLICY,
  findingsFor,
  RUNBOOK_RULES,
  runbookFindings,
  type RunbookPolicy,
} from './findings.ts';
