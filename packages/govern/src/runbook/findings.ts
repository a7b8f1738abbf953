import type { Finding } from '@keywarden/core';
import { GovernError } from '../error.ts';
import { parseDuration } from '../policy/duration.ts';
import type { ReadableLog } from '../roster/governed-log.ts';
import { drillsOf } from './drill.ts';
import { loadRunbooks, RUNBOOK_KINDS, type Runbook, type RunbookKind } from './runbook.ts';

export interface RunbookPolicy {
  /** Kinds of procedure that must exist. */
  required: readonly RunbookKind[];
  /** A ceiling on every runbook's own maxDrillAge ("365d"); the stricter of the two applies. */
  maxDrillAge?: string;
}

/** The four procedures the custody issue names, drilled at least yearly. */
export const DEFAULT_RUNBOOK_POLICY: RunbookPolicy = {
  required: ['expiry', 'compromise', 'custodian-unavailable', 'hsm-end-of-support'],
  maxDrillAge: '365d',
};

export const RUNBOOK_RULES = {
  missing: 'KW-RUNBOOK-MISSING',
  never: 'KW-RUNBOOK-NEVER-EXERCISED',
  stale: 'KW-RUNBOOK-STALE',
  outdated: 'KW-RUNBOOK-DRILL-OUTDATED',
  failed: 'KW-RUNBOOK-LAST-DRILL-FAILED',
} as const;

const DAY = 86_400_000;
const days = (ms: number): number => Math.floor(ms / DAY);

/**
 * Runbook findings at instant `at`: a required kind with no runbook, a runbook never drilled, one
 * whose last drill is older than allowed, one last drilled at an older version of its text, and one
 * whose last drill failed. Drills logged with a date after `at` do not count.
 */
export function runbookFindings(
  dir: string,
  log: ReadableLog,
  policy: RunbookPolicy = DEFAULT_RUNBOOK_POLICY,
  at = Date.now(),
): Finding[] {
  return findingsFor(loadRunbooks(dir), log, policy, at);
}

export function findingsFor(
  runbooks: readonly Runbook[],
  log: ReadableLog,
  policy: RunbookPolicy,
  at: number,
): Finding[] {
  for (const k of policy.required)
    if (!(RUNBOOK_KINDS as readonly string[]).includes(k))
      throw new GovernError(
        'POLICY_INVALID',
        `runbook policy: "${k}" is not one of ${RUNBOOK_KINDS.join(', ')}`,
      );
  const ceiling = policy.maxDrillAge === undefined ? undefined : parseDuration(policy.maxDrillAge);
  if (policy.maxDrillAge !== undefined && ceiling === undefined)
    throw new GovernError(
      'POLICY_INVALID',
      `runbook policy: maxDrillAge "${policy.maxDrillAge}" is not a duration like 365d`,
    );
  const out: Finding[] = [];
  for (const kind of policy.required)
    if (!runbooks.some((r) => r.kind === kind))
      out.push({
        rule: RUNBOOK_RULES.missing,
        severity: 'high',
        subject: `runbook-kind:${kind}`,
        message: `no runbook covers ${kind}; the policy requires one`,
      });
  const drills = drillsOf(log);
  for (const rb of runbooks) {
    const done = (drills.get(rb.id) ?? []).filter((d) => Date.parse(d.at) <= at);
    const last = done[done.length - 1];
    const where = `${rb.file} (version ${rb.version}, ${rb.digest})`;
    if (!last) {
      out.push({
        rule: RUNBOOK_RULES.never,
        severity: 'medium',
        subject: rb.id,
        message: `runbook ${rb.id} (${rb.kind}) has never been exercised`,
        evidence: [where, 'no drill of it in the evidence log'],
      });
      continue;
    }
    const allowed = Math.min(rb.maxDrillAgeMs, ceiling ?? Infinity);
    const age = at - Date.parse(last.at);
    const lastEvidence = `last drill ${last.at} at log index ${last.index}: ${last.result}, version ${last.version}`;
    if (age > allowed)
      out.push({
        rule: RUNBOOK_RULES.stale,
        severity: 'medium',
        subject: rb.id,
        message: `runbook ${rb.id} was last exercised ${days(age)} days ago; at most ${days(allowed)} days are allowed`,
        evidence: [where, lastEvidence],
      });
    if (last.versionDigest !== rb.digest)
      out.push({
        rule: RUNBOOK_RULES.outdated,
        severity: 'low',
        subject: rb.id,
        message: `the last drill of ${rb.id} exercised version ${last.version}, not the current version ${rb.version}`,
        evidence: [where, lastEvidence, `drilled text ${last.versionDigest}`],
      });
    if (last.result === 'failed')
      out.push({
        rule: RUNBOOK_RULES.failed,
        severity: 'medium',
        subject: rb.id,
        message: `the last drill of ${rb.id} failed and none has passed since`,
        evidence: [where, lastEvidence],
      });
  }
  return out;
}
