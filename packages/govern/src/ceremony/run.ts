import { randomBytes, type KeyObject } from 'node:crypto';
import { requireQuorumFromLog } from '../approvals/log-records.ts';
import { requestDigest, type ApprovalRequest } from '../approvals/request.ts';
import { GovernError } from '../error.ts';
import type { Hsm } from '../hsm/hsm.ts';
import { sha256Digest, type Digest } from '../policy/canonical.ts';
import type { GovernLog } from '../roster/governed-log.ts';
import type { Roster } from '../roster/roster.ts';
import {
  CEREMONY_KIND,
  signEntry,
  verifyEntrySignature,
  type CeremonyEntry,
  type HsmRecord,
} from './entry.ts';
import { hsmGenerate, hsmSign } from './hsm-actions.ts';
import type { CeremonyScript, CeremonyStepDoc } from './script.ts';
import { CEREMONY_ID, loadCeremony, type CeremonyState, type StepState } from './state.ts';

/** A person taking part, with their own Ed25519 key (held in memory for this call only). */
export interface CeremonySigner {
  person: string;
  key: KeyObject;
}

const MAX_TEXT = 2000;
const MAX_ARTEFACT_BYTES = 256 * 1024 * 1024;

type Unsigned = Omit<CeremonyEntry, 'signatures'>;

/**
 * Signs an entry by every signer, checking each signature against the key the roster holds for that
 * person at the entry's time: a wrong key file is refused here, before anything is logged.
 */
function signAll(e: Unsigned, signers: readonly CeremonySigner[], roster: Roster): CeremonyEntry {
  const at = Date.parse(e.at);
  const signatures: Record<string, string> = {};
  for (const s of signers) {
    const person = roster.personAt(s.person, at);
    if (!person) throw new GovernError('BAD_ARGUMENT', `${s.person} is not on the roster at ${e.at}`);
    let sig: string;
    try {
      sig = signEntry(e, s.key);
    } catch {
      throw new GovernError('BAD_ARGUMENT', `the key given for ${s.person} cannot sign (not Ed25519?)`);
    }
    const signed = { ...e, signatures: { [s.person]: sig } } as CeremonyEntry;
    if (!verifyEntrySignature(signed, sig, person.publicKey))
      throw new GovernError('BAD_ARGUMENT', `the key given for ${s.person} is not their key on the roster`);
    signatures[s.person] = sig;
  }
  return { ...e, signatures };
}

/** Whether the person holds the role for the ceremony's key (any key when the script names none). */
function holdsRole(
  roster: Roster,
  person: string,
  role: string,
  keyId: string | undefined,
  t: number,
): boolean {
  if (keyId !== undefined) return roster.holds(person, role, keyId, t);
  return roster.grantsAt(t).some((g) => g.person === person && g.role === role);
}

function checkText(v: string, what: string): string {
  if (v.trim() === '') throw new GovernError('BAD_ARGUMENT', `${what} must not be empty`);
  if (v.length > MAX_TEXT)
    throw new GovernError('BAD_ARGUMENT', `${what} is longer than ${MAX_TEXT} characters`);
  return v;
}

/**
 * Opens a ceremony: checks every participant holds their role now and that each role of the script
 * is staffed, then logs the start entry carrying the whole script, so the log alone suffices later.
 */
export async function startCeremony(
  script: CeremonyScript,
  log: GovernLog,
  roster: Roster,
  o: { participants: Record<string, string>; by: CeremonySigner; id?: string; at?: number },
): Promise<{ id: string; index: number }> {
  const at = o.at ?? Date.now();
  const doc = script.document;
  const id =
    o.id ?? `${doc.name}-${new Date(at).toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  if (!CEREMONY_ID.test(id)) throw new GovernError('BAD_ARGUMENT', `"${id}" is not a ceremony id`);
  for (let i = 0; i < log.size; i++) {
    const s = log.statement(i) as Partial<CeremonyEntry>;
    if (s.type === 'ceremony.step' && s.kind === CEREMONY_KIND && s.ceremonyId === id)
      throw new GovernError('BAD_ARGUMENT', `ceremony ${id} already exists (log index ${i})`);
  }
  const people = Object.entries(o.participants);
  if (people.length > 64) throw new GovernError('BAD_ARGUMENT', 'more than 64 participants');
  for (const [person, role] of people) {
    if (!(role in doc.roles))
      throw new GovernError('BAD_ARGUMENT', `${person}: role ${role} is not one of the script's roles`);
    if (!holdsRole(roster, person, role, doc.keyId, at))
      throw new GovernError(
        'BAD_ARGUMENT',
        `${person} does not hold role ${role}${doc.keyId ? ` for ${doc.keyId}` : ''} on the roster now`,
      );
  }
  for (const [role, count] of Object.entries(doc.roles)) {
    const n = people.filter(([, r]) => r === role).length;
    if (n < count)
      throw new GovernError(
        'BAD_ARGUMENT',
        `the script needs ${count} ${role}(s); ${n} named as participants`,
      );
  }
  const e: Unsigned = {
    type: 'ceremony.step',
    kind: CEREMONY_KIND,
    at: new Date(at).toISOString(),
    actor: o.by.person,
    ceremonyId: id,
    step: 0,
    stepId: 'start',
    name: `${doc.name} v${doc.version}`,
    phase: 'start',
    outcome: 'done',
    script: doc,
    scriptDigest: script.digest,
    participants: Object.fromEntries(people.sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  const index = await log.append(signAll(e, [o.by], roster));
  return { id, index };
}

export interface StepInput {
  performer: CeremonySigner;
  witnesses?: readonly CeremonySigner[];
  /** Artefacts by name: their bytes are hashed, never logged. */
  artefacts?: Record<string, Uint8Array>;
  /** The token, opened read-write and logged in, for hsm-generate and hsm-sign steps. */
  hsm?: Hsm;
  /** The approval request whose quorum an approval step cites. */
  request?: ApprovalRequest;
  note?: string;
  at?: number;
}

export interface StepResult {
  index: number;
  intentIndex?: number;
  artefacts: Record<string, Digest>;
  hsm?: HsmRecord;
  /** The signature an hsm-sign step made, for the caller to save as the step's output artefact. */
  output?: { name: string; bytes: Uint8Array };
}

function openFor(log: GovernLog, id: string, stepId: string): { state: CeremonyState; s: StepState } {
  const state = loadCeremony(log, id);
  if (state.problems.length)
    throw new GovernError(
      'BAD_ARGUMENT',
      `ceremony ${id} has order problems in its log; it cannot continue: ${state.problems.join('; ')}`,
    );
  if (state.halted)
    throw new GovernError(
      'BAD_ARGUMENT',
      `ceremony ${id} halted at step ${state.halted.entry.stepId} (log index ${state.halted.index}): an exception on a step that allows none`,
    );
  if (state.complete) throw new GovernError('BAD_ARGUMENT', `ceremony ${id} is complete`);
  const s = state.next!;
  if (s.step.id !== stepId) {
    const known = state.steps.find((x) => x.step.id === stepId);
    throw new GovernError(
      'BAD_ARGUMENT',
      known
        ? `step ${stepId} is out of order: the next step of ceremony ${id} is ${s.step.id} (step ${s.n})`
        : `ceremony ${id} has no step ${stepId}`,
    );
  }
  return { state, s };
}

/** Performer and witnesses must be distinct participants in the roles the step asks for. */
function checkPeople(state: CeremonyState, step: CeremonyStepDoc, input: StepInput): void {
  const role = (p: string): string | undefined => state.participants[p];
  const performer = input.performer.person;
  if (role(performer) !== step.role)
    throw new GovernError(
      'BAD_ARGUMENT',
      `${performer} cannot perform ${step.id}: the step is performed by a ${step.role}, and ${performer} takes part as ${role(performer) ?? 'nobody (not a participant)'}`,
    );
  const witnesses = input.witnesses ?? [];
  const seen = new Set([performer]);
  for (const w of witnesses) {
    if (seen.has(w.person))
      throw new GovernError('BAD_ARGUMENT', `${w.person} signs ${step.id} twice (as performer or witness)`);
    seen.add(w.person);
    if (!role(w.person)) throw new GovernError('BAD_ARGUMENT', `witness ${w.person} is not a participant`);
  }
  for (const [wr, count] of Object.entries(step.witnesses)) {
    const n = witnesses.filter((w) => role(w.person) === wr).length;
    if (n < count)
      throw new GovernError(
        'BAD_ARGUMENT',
        `step ${step.id} needs the signatures of ${count} ${wr} witness(es); ${n} given`,
      );
  }
}

function hashArtefacts(step: CeremonyStepDoc, given: Record<string, Uint8Array>): Record<string, Digest> {
  const need = [...step.artefacts, ...(step.input ? [step.input] : [])];
  for (const n of need)
    if (!given[n]) throw new GovernError('BAD_ARGUMENT', `step ${step.id} needs the artefact "${n}"`);
  const out: Record<string, Digest> = {};
  const names = Object.keys(given).sort();
  if (names.length > 32) throw new GovernError('BAD_ARGUMENT', 'more than 32 artefacts on one step');
  for (const n of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(n))
      throw new GovernError('BAD_ARGUMENT', `artefact name "${n}" must match [A-Za-z0-9][A-Za-z0-9._-]*`);
    if (given[n]!.length > MAX_ARTEFACT_BYTES)
      throw new GovernError('BAD_ARGUMENT', `artefact ${n} is over ${MAX_ARTEFACT_BYTES} bytes`);
    out[n] = sha256Digest(given[n]!);
  }
  return out;
}

/**
 * Performs the next step of a ceremony. Order is enforced from the log; every entry is signed by the
 * performer and the witnesses. An HSM step first logs its intent and runs only once that entry is
 * durable (append resolves), then logs what the token did: a crash in between leaves the intent,
 * and running the step again resumes it (a generated key is found by its CKA_ID, not made twice).
 */
export async function performStep(
  log: GovernLog,
  roster: Roster,
  id: string,
  stepId: string,
  input: StepInput,
): Promise<StepResult> {
  const { state, s } = openFor(log, id, stepId);
  const step = s.step;
  checkPeople(state, step, input);
  const signers = [input.performer, ...(input.witnesses ?? [])];
  const at = input.at ?? Date.now();
  const artefacts = hashArtefacts(step, input.artefacts ?? {});
  const base = {
    type: 'ceremony.step' as const,
    kind: CEREMONY_KIND,
    actor: input.performer.person,
    ceremonyId: id,
    step: s.n,
    stepId: step.id,
    name: step.title,
    action: step.action,
    outcome: 'done' as const,
    witnesses: (input.witnesses ?? []).map((w) => w.person),
    ...(input.note !== undefined && { note: checkText(input.note, 'the note') }),
  };
  const entry = (phase: 'intent' | 'step', extra: Partial<Unsigned>, t: number): CeremonyEntry =>
    signAll(
      {
        ...base,
        at: new Date(t).toISOString(),
        phase,
        ...(Object.keys(artefacts).length > 0 && { artefacts }),
        ...extra,
      } as Unsigned,
      signers,
      roster,
    );

  switch (step.action) {
    case 'manual':
    case 'hash-artefact':
      return { index: await log.append(entry('step', {}, at)), artefacts };
    case 'approval': {
      const r = input.request;
      if (!r) throw new GovernError('BAD_ARGUMENT', `step ${step.id} cites an approval request; none given`);
      if (r.operation !== step.operation)
        throw new GovernError(
          'BAD_ARGUMENT',
          `step ${step.id} needs an approved ${step.operation} request, not ${r.operation}`,
        );
      const keyId = state.script.document.keyId;
      if (keyId !== undefined && r.keyId !== keyId)
        throw new GovernError('BAD_ARGUMENT', `the request is for ${r.keyId}, the ceremony for ${keyId}`);
      requireQuorumFromLog(log, r, at);
      const index = await log.append(entry('step', { requestDigest: requestDigest(r) }, at));
      return { index, artefacts };
    }
    case 'hsm-generate':
    case 'hsm-sign': {
      const hsm = input.hsm;
      if (!hsm) throw new GovernError('BAD_ARGUMENT', `step ${step.id} runs on an HSM; no token given`);
      const token = hsm.token();
      let intentIndex = s.intent?.index;
      let planned: HsmRecord;
      let signKey: HsmRecord | undefined;
      if (step.action === 'hsm-generate') {
        planned = s.intent?.entry.hsm ?? {
          token: token.label,
          serial: token.serial,
          label: step.key!.label,
          id: step.key!.id ?? randomBytes(16).toString('hex'),
        };
      } else {
        signKey = state.steps.find((x) => x.step.id === step.signWith)?.record?.entry.hsm;
        if (!signKey?.spki)
          throw new GovernError('BAD_ARGUMENT', `step ${step.signWith} recorded no key to sign with`);
        planned = { ...signKey, mechanism: step.mechanism! };
        delete planned.recovered;
      }
      if (planned.serial !== token.serial || planned.token !== token.label)
        throw new GovernError(
          'BAD_ARGUMENT',
          `step ${step.id} runs on token "${planned.token}" (serial ${planned.serial}), not "${token.label}" (serial ${token.serial})`,
        );
      if (intentIndex === undefined) intentIndex = await log.append(entry('intent', { hsm: planned }, at));
      // From here the intent is durable: only now may the token be touched.
      if (step.action === 'hsm-generate') {
        const made = await hsmGenerate(hsm, step, planned.id);
        const index = await log.append(entry('step', { hsm: made }, Math.max(at, Date.now())));
        return { index, intentIndex, artefacts, hsm: made };
      }
      const data = input.artefacts![step.input!]!;
      const sig = await hsmSign(hsm, step, signKey!, data);
      const out = { ...artefacts, [step.output!]: sha256Digest(sig) };
      const record: HsmRecord = { ...planned, signature: Buffer.from(sig).toString('base64') };
      const index = await log.append(
        signAll(
          {
            ...base,
            at: new Date(Math.max(at, Date.now())).toISOString(),
            phase: 'step',
            artefacts: out,
            hsm: record,
          } as Unsigned,
          signers,
          roster,
        ),
      );
      return { index, intentIndex, artefacts: out, hsm: record, output: { name: step.output!, bytes: sig } };
    }
  }
}

/**
 * Records a deviation on the next step: who (the signer), what and why. The ceremony goes on past
 * it only if the script allows exceptions on that step; otherwise it halts, and stays halted.
 */
export async function recordException(
  log: GovernLog,
  roster: Roster,
  id: string,
  stepId: string,
  o: { by: CeremonySigner; deviation: string; reason: string; at?: number },
): Promise<{ index: number; continues: boolean }> {
  const { state, s } = openFor(log, id, stepId);
  if (!state.participants[o.by.person])
    throw new GovernError('BAD_ARGUMENT', `${o.by.person} is not a participant of ceremony ${id}`);
  const e: Unsigned = {
    type: 'ceremony.step',
    kind: CEREMONY_KIND,
    at: new Date(o.at ?? Date.now()).toISOString(),
    actor: o.by.person,
    ceremonyId: id,
    step: s.n,
    stepId: s.step.id,
    name: s.step.title,
    action: s.step.action,
    phase: 'exception',
    outcome: 'exception',
    deviation: checkText(o.deviation, 'the deviation'),
    reason: checkText(o.reason, 'the reason'),
  };
  const index = await log.append(signAll(e, [o.by], roster));
  return { index, continues: s.step.allowExceptions };
}
