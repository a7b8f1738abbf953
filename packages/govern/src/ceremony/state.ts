import { GovernError } from '../error.ts';
import { entriesOf, type ReadableLog } from '../roster/governed-log.ts';
import { isCeremonyEntry, type CeremonyEntry } from './entry.ts';
import { scriptFromDocument, type CeremonyScript, type CeremonyStepDoc } from './script.ts';

export const CEREMONY_ID = /^[a-z0-9][a-z0-9._-]{0,99}$/;

export interface Logged {
  index: number;
  entry: CeremonyEntry;
}

export type StepStatus = 'pending' | 'intent' | 'done' | 'exception';

export interface StepState {
  /** 1-based position in the script (the statement's `step`). */
  n: number;
  step: CeremonyStepDoc;
  status: StepStatus;
  intent?: Logged;
  record?: Logged;
  exceptions: Logged[];
}

export interface CeremonyState {
  id: string;
  start: Logged;
  script: CeremonyScript;
  participants: Record<string, string>;
  steps: StepState[];
  /** Set when an exception was recorded on a step that does not allow one: nothing may follow. */
  halted?: Logged;
  /** The first step not yet done or excepted. */
  next?: StepState;
  complete: boolean;
  /** Order and structure problems met while replaying; a ceremony with any is not continued. */
  problems: string[];
  /** Every entry of this ceremony in log order. */
  entries: Logged[];
}

const isHsm = (s: CeremonyStepDoc): boolean => s.action === 'hsm-generate' || s.action === 'hsm-sign';

/**
 * Rebuilds a ceremony from the log alone: the script from its start entry, then each entry placed
 * against the script in log order. Signatures are not judged here (verifyCeremony does that); what
 * is judged is order, so the same replay both drives a resumed ceremony and underlies verification.
 */
export function loadCeremony(log: ReadableLog, id: string): CeremonyState {
  if (!CEREMONY_ID.test(id)) throw new GovernError('BAD_ARGUMENT', `"${id}" is not a ceremony id`);
  const entries: Logged[] = [];
  for (const { index, statement } of entriesOf(log))
    if (isCeremonyEntry(statement) && statement.ceremonyId === id) entries.push({ index, entry: statement });
  const first = entries[0];
  if (!first) throw new GovernError('BAD_ARGUMENT', `no ceremony "${id}" in the evidence log`);
  if (first.entry.phase !== 'start')
    throw new GovernError(
      'POLICY_INVALID',
      `ceremony ${id}: its first entry (log index ${first.index}) is a ${first.entry.phase}, not the start`,
    );
  const script = scriptFromDocument(
    first.entry.script,
    `ceremony ${id} start entry (log index ${first.index})`,
  );
  const problems: string[] = [];
  if (first.entry.scriptDigest !== script.digest)
    problems.push(
      `the start entry names script digest ${first.entry.scriptDigest}, but the script it carries hashes to ${script.digest}`,
    );
  const steps: StepState[] = script.document.steps.map((step, i) => ({
    n: i + 1,
    step,
    status: 'pending',
    exceptions: [],
  }));
  const state: CeremonyState = {
    id,
    start: first,
    script,
    participants: { ...(first.entry.participants ?? {}) },
    steps,
    complete: false,
    problems,
    entries,
  };
  let cursor = 0; // index into steps of the first unresolved step
  for (const l of entries.slice(1)) {
    const e = l.entry;
    const where = `log index ${l.index} (${e.phase} of ${e.stepId})`;
    if (e.phase === 'start') {
      problems.push(`${where}: a second start entry for the same ceremony`);
      continue;
    }
    if (state.halted) {
      problems.push(`${where}: recorded after the ceremony halted at log index ${state.halted.index}`);
      continue;
    }
    const s = steps[cursor];
    if (!s) {
      problems.push(`${where}: recorded after the last step`);
      continue;
    }
    if (e.stepId !== s.step.id || e.step !== s.n) {
      problems.push(`${where}: out of order; the next step was ${s.step.id} (step ${s.n})`);
      continue;
    }
    if (e.action !== undefined && e.action !== s.step.action)
      problems.push(`${where}: action ${e.action} differs from the script's ${s.step.action}`);
    switch (e.phase) {
      case 'intent':
        if (!isHsm(s.step)) problems.push(`${where}: only HSM steps log an intent`);
        else if (s.intent)
          problems.push(`${where}: a second intent for the step (first at ${s.intent.index})`);
        else {
          s.intent = l;
          s.status = 'intent';
        }
        break;
      case 'step':
        if (isHsm(s.step) && !s.intent)
          problems.push(`${where}: the HSM operation was recorded without a durable intent before it`);
        s.record = l;
        s.status = 'done';
        cursor++;
        break;
      case 'exception':
        s.exceptions.push(l);
        s.status = 'exception';
        if (s.step.allowExceptions) cursor++;
        else state.halted = l;
        break;
      default:
        problems.push(`${where}: unknown phase`);
    }
  }
  state.next = state.halted ? undefined : steps[cursor];
  state.complete = !state.halted && cursor === steps.length;
  return state;
}
