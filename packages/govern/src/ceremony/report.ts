import type { ProofBundle } from '@keywarden/evidence';
import type { Digest } from '../policy/canonical.ts';
import type { HsmKeyFlags } from '../hsm/inventory.ts';
import type { ReadableLog } from '../roster/governed-log.ts';
import { loadRoster } from '../roster/changes.ts';
import type { Phase } from './entry.ts';
import type { ActionType } from './script.ts';
import { loadCeremony, type StepStatus } from './state.ts';
import { verifyCeremony, type CeremonyVerification, type SignatureCheck } from './verify.ts';

/** What a report needs of the log beyond reading: proofs and the signed checkpoint they lead to. */
export interface ProvableLog extends ReadableLog {
  readonly origin: string;
  readonly checkpoint: string;
  bundle(index: number): ProofBundle;
}

export interface ReportEntry {
  index: number;
  phase: Phase;
  at: string;
  performer: string;
  witnesses: string[];
  signatures: SignatureCheck[];
  artefacts: Record<string, Digest>;
  requestDigest?: Digest;
  deviation?: string;
  reason?: string;
  note?: string;
}

export interface ReportStep {
  n: number;
  id: string;
  title: string;
  action: ActionType;
  role: string;
  witnessesRequired: Record<string, number>;
  allowExceptions: boolean;
  instructions?: string;
  status: StepStatus;
  entries: ReportEntry[];
}

export interface ReportKey {
  step: string;
  keyId?: string;
  algorithm?: string;
  label: string;
  ckaId: string;
  token: string;
  serial: string;
  uri?: string;
  flags?: HsmKeyFlags;
  spki?: string;
  recovered?: boolean;
}

export interface CeremonyReport {
  format: 'keywarden-ceremony-report/v1';
  id: string;
  script: { name: string; version: number; purpose: string; digest: Digest; keyId?: string };
  status: CeremonyVerification['status'];
  startedAt: string;
  startedBy: string;
  participants: { person: string; name?: string; role: string }[];
  steps: ReportStep[];
  keys: ReportKey[];
  artefacts: { step: string; name: string; digest: Digest; index: number }[];
  signatures: { step: string; mechanism?: string; keyId?: string; signature: string; index: number }[];
  exceptions: {
    step: string;
    index: number;
    at: string;
    by: string;
    deviation: string;
    reason: string;
    continued: boolean;
  }[];
  verification: { ok: boolean; problems: string[] };
  log: { origin: string; size: number; checkpoint: string };
  /** One inclusion proof per ceremony entry, all to the checkpoint above: checkable offline. */
  bundles: ProofBundle[];
}

/** Everything an auditor needs about one ceremony, from the log alone, with the proofs to check it. */
export function ceremonyReport(log: ProvableLog, id: string): CeremonyReport {
  const state = loadCeremony(log, id);
  const v = verifyCeremony(log, id);
  const roster = loadRoster(log);
  const t0 = Date.parse(state.start.entry.at);
  const checks = new Map(v.entries.map((c) => [c.index, c]));
  const doc = state.script.document;
  const report: CeremonyReport = {
    format: 'keywarden-ceremony-report/v1',
    id,
    script: {
      name: doc.name,
      version: doc.version,
      purpose: doc.purpose,
      digest: state.script.digest,
      ...(doc.keyId !== undefined && { keyId: doc.keyId }),
    },
    status: v.status,
    startedAt: state.start.entry.at,
    startedBy: state.start.entry.actor,
    participants: Object.entries(state.participants).map(([person, role]) => {
      const name = roster.personAt(person, t0)?.name;
      return { person, ...(name !== undefined && { name }), role };
    }),
    steps: [],
    keys: [],
    artefacts: [],
    signatures: [],
    exceptions: [],
    verification: { ok: v.ok, problems: v.problems },
    log: { origin: log.origin, size: log.size, checkpoint: log.checkpoint },
    bundles: state.entries.map((l) => log.bundle(l.index)),
  };
  for (const s of state.steps) {
    const logged = [s.intent, s.record, ...s.exceptions]
      .filter((x) => x !== undefined)
      .sort((a, b) => a.index - b.index);
    const entries = logged.map((l): ReportEntry => {
      const e = l.entry;
      return {
        index: l.index,
        phase: e.phase,
        at: e.at,
        performer: e.actor,
        witnesses: e.witnesses ?? [],
        signatures: checks.get(l.index)?.signatures ?? [],
        artefacts: e.artefacts ?? {},
        ...(e.requestDigest && { requestDigest: e.requestDigest }),
        ...(e.deviation !== undefined && { deviation: e.deviation }),
        ...(e.reason !== undefined && { reason: e.reason }),
        ...(e.note !== undefined && { note: e.note }),
      };
    });
    report.steps.push({
      n: s.n,
      id: s.step.id,
      title: s.step.title,
      action: s.step.action,
      role: s.step.role,
      witnessesRequired: s.step.witnesses,
      allowExceptions: s.step.allowExceptions,
      ...(s.step.instructions !== undefined && { instructions: s.step.instructions }),
      status: s.status,
      entries,
    });
    const rec = s.record;
    if (rec) {
      for (const [name, digest] of Object.entries(rec.entry.artefacts ?? {}))
        report.artefacts.push({ step: s.step.id, name, digest, index: rec.index });
      const h = rec.entry.hsm;
      if (h && s.step.action === 'hsm-generate')
        report.keys.push({
          step: s.step.id,
          ...(h.keyId !== undefined && { keyId: h.keyId }),
          ...(h.algorithm !== undefined && { algorithm: h.algorithm }),
          label: h.label,
          ckaId: h.id,
          token: h.token,
          serial: h.serial,
          ...(h.uri !== undefined && { uri: h.uri }),
          ...(h.flags && { flags: h.flags }),
          ...(h.spki !== undefined && { spki: h.spki }),
          ...(h.recovered && { recovered: true }),
        });
      if (h?.signature)
        report.signatures.push({
          step: s.step.id,
          ...(h.mechanism !== undefined && { mechanism: h.mechanism }),
          ...(h.keyId !== undefined && { keyId: h.keyId }),
          signature: h.signature,
          index: rec.index,
        });
    }
    for (const x of s.exceptions)
      report.exceptions.push({
        step: s.step.id,
        index: x.index,
        at: x.entry.at,
        by: x.entry.actor,
        deviation: x.entry.deviation ?? '',
        reason: x.entry.reason ?? '',
        continued: s.step.allowExceptions,
      });
  }
  return report;
}
