import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  CHECKPOINT_FILE,
  EvidenceError,
  parseCheckpointText,
  parseCosignerVkey,
  parseNote,
  verifyCosigned,
  type CosignatureVerifier,
  type CosignedReport,
  type NoteVerifier,
} from '@keywarden/evidence';
import { parseCount } from './options.ts';

const VKEY = /^[^+\s]+\+[0-9a-f]{8}\+\S+$/;
const MAX_KEY_FILE = 1 << 20;

export const collectValues = (v: string, prev: string[] = []): string[] => [...prev, v];

/** --witness takes a witness vkey itself or a file of them, one a line (# comments allowed). */
export function loadWitnessKeys(values: readonly string[], flag = '--witness'): CosignatureVerifier[] {
  const out: CosignatureVerifier[] = [];
  for (const v of values) {
    let lines = [v];
    if (!VKEY.test(v.trim())) {
      try {
        if (statSync(v).size > MAX_KEY_FILE) throw new Error(`larger than ${MAX_KEY_FILE} bytes`);
        lines = readFileSync(v, 'utf8').split('\n');
      } catch (err) {
        throw new EvidenceError(
          'BAD_ARGUMENT',
          `${flag} ${v}: not a witness vkey and not a readable file (${(err as Error).message})`,
        );
      }
    }
    for (const l of lines) {
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      try {
        out.push(parseCosignerVkey(l));
      } catch (err) {
        throw new EvidenceError('BAD_ARGUMENT', `${flag} ${v}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

export interface WitnessPolicyOptions {
  witness?: string[];
  witnessThreshold?: string;
}

/** Adds --witness and --witness-threshold to `keywarden evidence verify`. */
export function addWitnessVerifyOptions(cmd: Command): Command {
  return cmd
    .option(
      '--witness <vkey|file>',
      'trusted witness key (cosignature/v1 vkey, or a file of them), repeatable',
      collectValues,
    )
    .option('--witness-threshold <k>', 'how many distinct --witness keys must have cosigned (default: all)');
}

export interface WitnessPolicyArgs {
  witnesses: CosignatureVerifier[];
  k: number;
}

/** The policy the options ask for, or undefined when no --witness was given. */
export function witnessPolicyFrom(o: WitnessPolicyOptions): WitnessPolicyArgs | undefined {
  if (!o.witness || o.witness.length === 0) {
    if (o.witnessThreshold !== undefined)
      throw new EvidenceError('BAD_ARGUMENT', '--witness-threshold needs at least one --witness key');
    return undefined;
  }
  const witnesses = loadWitnessKeys(o.witness);
  const k =
    o.witnessThreshold === undefined
      ? witnesses.length
      : parseCount(o.witnessThreshold, '--witness-threshold');
  if (k < 1 || k > witnesses.length)
    throw new EvidenceError(
      'BAD_ARGUMENT',
      `--witness-threshold ${k} must be between 1 and the ${witnesses.length} witness key(s)`,
    );
  return { witnesses, k };
}

/** Checks the log directory's checkpoint file against the policy, with the log key named by its origin. */
export function checkWitnessPolicy(
  dir: string,
  logKeys: readonly NoteVerifier[],
  policy: WitnessPolicyArgs,
): CosignedReport {
  const path = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    if (statSync(path).size > MAX_KEY_FILE) return failed(`${path} is larger than ${MAX_KEY_FILE} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return failed(`cannot read ${path}: ${(err as Error).message}`);
  }
  let origin: string | undefined;
  try {
    origin = parseCheckpointText(parseNote(text).text).origin;
  } catch (err) {
    return failed(`${path}: ${(err as Error).message}`);
  }
  const logKey = logKeys.find((k) => k.name === origin) ?? logKeys[0];
  if (!logKey) return failed('no log key to check the checkpoint with');
  return verifyCosigned(text, { logKey, witnesses: policy.witnesses, k: policy.k });
}

function failed(problem: string): CosignedReport {
  return { ok: false, witnessedBy: [], problems: [problem] };
}

export function witnessText(r: CosignedReport, k: number): string {
  const names = r.witnessedBy.map((w) => `${w.name} (${new Date(w.time * 1000).toISOString()})`);
  if (r.ok)
    return `ok: cosigned by ${r.witnessedBy.length} of the required ${k} witnesses: ${names.join(', ')}\n`;
  return `WITNESS POLICY NOT MET:\n${r.problems.map((p) => `  ${p}`).join('\n')}\n`;
}
