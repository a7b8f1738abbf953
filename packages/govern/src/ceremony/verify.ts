import { createHash } from 'node:crypto';
import { evaluateQuorum } from '../approvals/evaluate.ts';
import { replay } from '../approvals/log-records.ts';
import { sha256Digest } from '../policy/canonical.ts';
import { entriesOf, type ReadableLog } from '../roster/governed-log.ts';
import { Roster } from '../roster/roster.ts';
import { verifyEntrySignature, type CeremonyEntry } from './entry.ts';
import { loadCeremony, type CeremonyState, type Logged } from './state.ts';

export interface SignatureCheck {
  person: string;
  /** performer (or the one who started or raised the exception) or witness. */
  as: 'performer' | 'witness';
  role?: string;
  ok: boolean;
  problem?: string;
}

export interface EntryCheck {
  index: number;
  phase: CeremonyEntry['phase'];
  stepId: string;
  at: string;
  signatures: SignatureCheck[];
  problems: string[];
}

export interface CeremonyVerification {
  ok: boolean;
  id: string;
  status: 'complete' | 'in-progress' | 'halted';
  entries: EntryCheck[];
  /** Every problem found, each naming the log index it is about. */
  problems: string[];
}

/**
 * Re-checks a ceremony from the log alone: the script in its start entry, the participants' roles as
 * the roster stood then, every signature against the roster key of its signer at the entry's time,
 * the order of entries against the script, approval quorums re-judged as of their entry, and HSM
 * signatures against the key the generate step recorded.
 */
export function verifyCeremony(log: ReadableLog, ceremonyId: string): CeremonyVerification {
  const state = loadCeremony(log, ceremonyId);
  const problems = [...state.problems];
  const roster = rosterOf(log, problems);
  const checks: EntryCheck[] = [];
  const startRoster = roster;
  const t0 = Date.parse(state.start.entry.at);
  const doc = state.script.document;
  for (const [person, role] of Object.entries(state.participants)) {
    const holds =
      doc.keyId !== undefined
        ? startRoster.holds(person, role, doc.keyId, t0)
        : startRoster.grantsAt(t0).some((g) => g.person === person && g.role === role);
    if (!holds)
      problems.push(
        `start (log index ${state.start.index}): ${person} did not hold ${role} when the ceremony began`,
      );
  }
  for (const [role, count] of Object.entries(doc.roles)) {
    const n = Object.values(state.participants).filter((r) => r === role).length;
    if (n < count)
      problems.push(
        `start (log index ${state.start.index}): ${n} ${role}(s) named, the script needs ${count}`,
      );
  }
  for (const l of state.entries) {
    const c = checkEntry(l, state, roster);
    checks.push(c);
    problems.push(...c.problems.map((p) => `${l.entry.stepId} (log index ${l.index}): ${p}`));
  }
  for (const s of state.steps) {
    const rec = s.record;
    if (!rec) continue;
    const where = `${s.step.id} (log index ${rec.index})`;
    if (s.step.action === 'approval') problems.push(...approvalProblems(log, rec, where));
    if (s.step.action === 'hsm-generate') problems.push(...generateProblems(rec, where));
    const planned = s.intent?.entry.hsm;
    const done = rec.entry.hsm;
    if (
      planned &&
      (planned.id !== done?.id || planned.label !== done.label || planned.serial !== done.serial)
    )
      problems.push(
        `${where}: the HSM operation recorded differs from its intent at log index ${s.intent!.index}`,
      );
    if (s.step.action === 'hsm-sign') {
      const key = state.steps.find((x) => x.step.id === s.step.signWith)?.record?.entry.hsm;
      problems.push(...signProblems(rec, key?.spki, s.step.output!, where));
    }
  }
  return {
    ok: problems.length === 0,
    id: ceremonyId,
    status: state.halted ? 'halted' : state.complete ? 'complete' : 'in-progress',
    entries: checks,
    problems,
  };
}

/**
 * The roster from every roster change in the log. Its history is by time and each entry is judged at
 * its own time, so one pass serves all entries.
 */
function rosterOf(log: ReadableLog, problems: string[]): Roster {
  const roster = new Roster();
  for (const { index, statement } of entriesOf(log))
    if (statement.type === 'roster.changed')
      try {
        roster.apply(statement, index);
      } catch (err) {
        problems.push(`roster (log index ${index}): ${(err as Error).message}`);
      }
  return roster;
}

function checkEntry(l: Logged, state: CeremonyState, roster: Roster): EntryCheck {
  const e = l.entry;
  const problems: string[] = [];
  const at = Date.parse(e.at);
  const step = state.steps.find((s) => s.step.id === e.stepId)?.step;
  const expected: { person: string; as: 'performer' | 'witness' }[] = [{ person: e.actor, as: 'performer' }];
  if (e.phase === 'intent' || e.phase === 'step')
    for (const w of e.witnesses ?? []) expected.push({ person: w, as: 'witness' });
  const sigs = e.signatures && typeof e.signatures === 'object' ? e.signatures : {};
  const signatures: SignatureCheck[] = expected.map(({ person, as }) => {
    const role = state.participants[person];
    const c: SignatureCheck = { person, as, ...(role && { role }), ok: false };
    const sig = sigs[person];
    const p = roster.personAt(person, at);
    if (typeof sig !== 'string') c.problem = 'no signature';
    else if (!p) c.problem = `${person} is not on the roster at ${e.at}`;
    else if (!verifyEntrySignature(e, sig, p.publicKey))
      c.problem = 'the signature does not verify (entry altered or wrong key)';
    else c.ok = true;
    if (c.problem) problems.push(`${as} ${person}: ${c.problem}`);
    return c;
  });
  for (const extra of Object.keys(sigs))
    if (!expected.some((x) => x.person === extra))
      problems.push(`a signature by ${extra}, who is neither performer nor witness`);
  if (e.phase === 'exception' && !state.participants[e.actor])
    problems.push(`${e.actor} is not a participant`);
  if ((e.phase === 'intent' || e.phase === 'step') && step) {
    if (state.participants[e.actor] !== step.role)
      problems.push(
        `performed by ${e.actor} as ${state.participants[e.actor] ?? 'a non-participant'}; the step needs a ${step.role}`,
      );
    const ws = e.witnesses ?? [];
    if (new Set([e.actor, ...ws]).size !== ws.length + 1) problems.push('a person signs twice');
    for (const [wr, count] of Object.entries(step.witnesses)) {
      const n = ws.filter((w) => state.participants[w] === wr).length;
      if (n < count) problems.push(`${n} of ${count} required ${wr} witness(es)`);
    }
    for (const w of ws) if (!state.participants[w]) problems.push(`witness ${w} is not a participant`);
    if (e.phase === 'step')
      for (const a of [...step.artefacts, ...(step.input ? [step.input] : [])])
        if (!e.artefacts?.[a]) problems.push(`artefact ${a} has no recorded hash`);
  }
  return { index: l.index, phase: e.phase, stepId: e.stepId, at: e.at, signatures, problems };
}

function approvalProblems(log: ReadableLog, rec: Logged, where: string): string[] {
  const rd = rec.entry.requestDigest;
  if (!rd) return [`${where}: the approval step cites no request`];
  const st = replay(log, rec.index);
  const found = st.approvals.get(rd);
  if (!st.policy) return [`${where}: no quorum policy was in force`];
  if (!found) return [`${where}: no approvals for ${rd} precede the step in the log`];
  const r = evaluateQuorum(found.request, found.approvals, st.roster, st.policy, Date.parse(rec.entry.at));
  return r.met ? [] : [`${where}: quorum not met: ${r.reasons.join('; ')}`];
}

function generateProblems(rec: Logged, where: string): string[] {
  const h = rec.entry.hsm;
  if (!h?.spki || !h.keyId) return [`${where}: no key identity recorded`];
  const out: string[] = [];
  const id = createHash('sha256').update(Buffer.from(h.spki, 'base64')).digest('hex');
  if (id !== h.keyId) out.push(`${where}: key identity ${h.keyId} is not the SHA-256 of the recorded SPKI`);
  const f = h.flags ?? {};
  if (f.extractable !== false || f.neverExtractable !== true)
    out.push(`${where}: the generated key is or was extractable according to the token`);
  if (f.sensitive !== true || f.alwaysSensitive !== true)
    out.push(`${where}: the generated key is not always sensitive`);
  if (f.local !== true)
    out.push(`${where}: the token does not report the key as generated on it (CKA_LOCAL)`);
  return out;
}

function signProblems(rec: Logged, spki: string | undefined, output: string, where: string): string[] {
  const h = rec.entry.hsm;
  if (!h?.signature) return [`${where}: no signature recorded`];
  if (!spki) return [`${where}: the signing key's SPKI is not recorded by its generate step`];
  const sig = Buffer.from(h.signature, 'base64');
  const out: string[] = [];
  if (rec.entry.artefacts?.[output] !== sha256Digest(sig))
    out.push(`${where}: the recorded hash of ${output} is not the hash of the recorded signature`);
  if (h.spki !== spki) out.push(`${where}: signed with a key other than the one generated in the ceremony`);
  return out;
}
