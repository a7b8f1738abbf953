import type { RunbookDrill, Statement } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import type { Digest } from '../policy/canonical.ts';
import { loadRoster } from '../roster/changes.ts';
import { entriesOf, type GovernLog, type ReadableLog } from '../roster/governed-log.ts';
import type { Runbook } from './runbook.ts';

export const DRILL_RESULTS = ['passed', 'passed-with-issues', 'failed'] as const;
export type DrillResult = (typeof DRILL_RESULTS)[number];

/** Logs written before `runbook.drill` existed carried drills as ceremony.step entries of this kind. */
export const LEGACY_DRILL_KIND = 'keywarden/runbook-drill';

export type DrillStatement = RunbookDrill & { actor: string };

interface LegacyDrill {
  type: 'ceremony.step';
  kind: typeof LEGACY_DRILL_KIND;
  at: string;
  runbookId: string;
  runbookVersion: number;
  versionDigest: Digest;
  participants: string[];
  result: DrillResult;
  note?: string;
}

export interface Drill {
  index: number;
  at: string;
  runbookId: string;
  version: number;
  versionDigest: Digest;
  participants: string[];
  result: DrillResult;
  note?: string;
}

export const isDrill = (s: Statement): s is RunbookDrill | (Statement & LegacyDrill) =>
  s.type === 'runbook.drill' ||
  (s.type === 'ceremony.step' && (s as Partial<LegacyDrill>).kind === LEGACY_DRILL_KIND);

/** Records that a runbook was exercised; every participant must be on the roster at the drill's date. */
export async function recordDrill(
  log: GovernLog,
  runbook: Runbook,
  o: { actor: string; participants: readonly string[]; result: DrillResult; at?: number; note?: string },
): Promise<number> {
  const at = o.at ?? Date.now();
  if (o.participants.length === 0 || o.participants.length > 64)
    throw new GovernError('BAD_ARGUMENT', 'a drill names from 1 to 64 participants');
  if (!(DRILL_RESULTS as readonly string[]).includes(o.result))
    throw new GovernError('BAD_ARGUMENT', `a drill result is one of ${DRILL_RESULTS.join(', ')}`);
  if (o.note !== undefined && o.note.length > 2000)
    throw new GovernError('BAD_ARGUMENT', 'the drill note is over 2000 characters');
  const roster = loadRoster(log);
  for (const p of o.participants)
    if (!roster.personAt(p, at))
      throw new GovernError(
        'BAD_ARGUMENT',
        `drill participant ${p} is not on the roster at ${new Date(at).toISOString()}`,
      );
  const s: DrillStatement = {
    type: 'runbook.drill',
    at: new Date(at).toISOString(),
    actor: o.actor,
    runbookId: runbook.id,
    runbookVersion: runbook.version,
    versionDigest: runbook.digest,
    participants: [...new Set(o.participants)].sort(),
    result: o.result,
    ...(o.note !== undefined && { note: o.note }),
  };
  return log.append(s);
}

/** Every drill in the log, by runbook id, oldest first. */
export function drillsOf(log: ReadableLog): Map<string, Drill[]> {
  const out = new Map<string, Drill[]>();
  for (const { index, statement } of entriesOf(log)) {
    if (!isDrill(statement)) continue;
    const d: Drill = {
      index,
      at: statement.at,
      runbookId: statement.runbookId,
      version: statement.runbookVersion,
      versionDigest: statement.versionDigest,
      participants: statement.participants,
      result: statement.result,
      ...(statement.note !== undefined && { note: statement.note }),
    };
    const list = out.get(d.runbookId) ?? [];
    list.push(d);
    out.set(d.runbookId, list);
  }
  for (const list of out.values())
    list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.index - b.index);
  return out;
}
