import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { EvidenceLog } from '@keywarden/evidence';
import {
  ceremonyReport,
  DEFAULT_RUNBOOK_POLICY,
  drillsOf,
  GovernError,
  GrapheneHsm,
  loadCeremony,
  loadCeremonyScript,
  loadRequest,
  loadRoster,
  loadRunbooks,
  performStep,
  readPrivateKey,
  recordDrill,
  recordException,
  renderCeremonyHtml,
  runbookFindings,
  RUNBOOK_KINDS,
  startCeremony,
  verifyCeremony,
  type CeremonySigner,
  type DrillResult,
  type RunbookKind,
} from '@keywarden/govern';
import { DEFAULT_LOG_DIR } from './evidence-commands.ts';
import { EXIT } from './exit-codes.ts';
import { parseCount, parseInstant } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';

const MAX_ARTEFACT = 256 * 1024 * 1024;
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const logDir = (o: { log?: string }): string =>
  o.log ?? process.env.KEYWARDEN_EVIDENCE_DIR ?? DEFAULT_LOG_DIR;
const runbookDir = (o: { dir?: string }): string => o.dir ?? process.env.KEYWARDEN_RUNBOOK_DIR ?? 'runbooks';
const LOG_OPTION = ['--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`] as const;

/** `NAME=VALUE`, split at the first `=`; the flag is named in the error. */
function pair(v: string, flag: string): [string, string] {
  const i = v.indexOf('=');
  if (i <= 0 || i === v.length - 1)
    throw new GovernError('BAD_ARGUMENT', `${flag} "${v}" must be NAME=VALUE`);
  return [v.slice(0, i), v.slice(i + 1)];
}

const signer = (person: string, file: string): CeremonySigner => ({ person, key: readPrivateKey(file) });

function readArtefact(file: string): Buffer {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new GovernError('BAD_ARGUMENT', `artefact ${file}: no such file`);
  }
  if (size > MAX_ARTEFACT)
    throw new GovernError('BAD_ARGUMENT', `artefact ${file} is over ${MAX_ARTEFACT} bytes`);
  return readFileSync(file);
}

/** The log opened for writing (it must exist: the roster and policy are already in it). */
async function withLog<T>(
  o: { log?: string },
  f: (log: EvidenceLog) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const log = await EvidenceLog.open(logDir(o), { readOnly });
  try {
    return await f(log);
  } finally {
    log.close();
  }
}

interface StepOptions {
  log?: string;
  as: string;
  key: string;
  witness?: string[];
  artefact?: string[];
  request?: string;
  module?: string;
  token?: string;
  slot?: string;
  pinEnv?: string;
  outDir?: string;
  note?: string;
}

/** keywarden ceremony start | step | exception | status | report | verify, and keywarden runbook. */
export function addCeremonyCommands(p: Command): void {
  const c = p
    .command('ceremony')
    .description('Scripted key ceremonies: each step a signed entry in the evidence log');
  c.hook('preAction', () => quietOnClosedPipe());

  c.command('start')
    .description('Open a ceremony from a script; prints its id')
    .argument('<script>', 'the ceremony script (YAML)')
    .requiredOption('--as <person>', 'who opens it (signs the start entry)')
    .requiredOption('--key <file>', "that person's Ed25519 private key (PEM)")
    .option('--participant <person=role>', 'a participant and their ceremony role, repeatable', collect)
    .option('--id <id>', 'the ceremony id (default: <script name>-<date>-<random>)')
    .option(...LOG_OPTION)
    .action(
      async (
        file: string,
        o: { as: string; key: string; participant?: string[]; id?: string; log?: string },
      ) => {
        const script = loadCeremonyScript(file);
        const participants = Object.fromEntries((o.participant ?? []).map((v) => pair(v, '--participant')));
        await withLog(o, async (log) => {
          const r = await startCeremony(script, log, loadRoster(log), {
            participants,
            by: signer(o.as, o.key),
            ...(o.id !== undefined && { id: o.id }),
          });
          await write(`${r.id}\n`);
          process.stderr.write(
            `ceremony ${r.id} started (log index ${r.index}); next step: ${script.document.steps[0]!.id}\n`,
          );
        });
      },
    );

  c.command('step')
    .description('Perform the next step, signed by the performer and the witnesses')
    .argument('<id>', 'the ceremony id')
    .argument('<step>', 'the step id (must be the next one)')
    .requiredOption('--as <person>', 'the performer')
    .requiredOption('--key <file>', "the performer's Ed25519 private key (PEM)")
    .option('--witness <person=file>', 'a witness and their private key file, repeatable', collect)
    .option(
      '--artefact <[name=]file>',
      'an artefact to hash (name defaults to the file name), repeatable',
      collect,
    )
    .option('--request <digest>', 'the approval request an approval step cites (saved beside the log)')
    .option('--module <path>', 'PKCS#11 module, for HSM steps')
    .option('--token <label>', 'the token, by label')
    .option('--slot <id>', 'the slot, by PKCS#11 slot id')
    .option('--pin-env <var>', 'environment variable holding the user PIN')
    .option('--out-dir <dir>', 'where an hsm-sign step writes its output artefact', '.')
    .option('--note <text>', 'a note carried in the signed entry')
    .option(...LOG_OPTION)
    .action(async (id: string, stepId: string, o: StepOptions) => {
      const witnesses = (o.witness ?? []).map((v) => signer(...pair(v, '--witness')));
      const artefacts: Record<string, Uint8Array> = {};
      for (const v of o.artefact ?? []) {
        const i = v.indexOf('=');
        const [name, file] = i > 0 ? [v.slice(0, i), v.slice(i + 1)] : [basename(v), v];
        if (artefacts[name]) throw new GovernError('BAD_ARGUMENT', `artefact ${name} given twice`);
        artefacts[name] = readArtefact(file);
      }
      await withLog(o, async (log) => {
        const request = o.request === undefined ? undefined : loadRequest(logDir(o), o.request);
        let hsm: GrapheneHsm | undefined;
        try {
          if (o.module !== undefined) {
            hsm = new GrapheneHsm();
            await hsm.open(o.module, {
              readWrite: true,
              ...(o.token !== undefined && { tokenLabel: o.token }),
              ...(o.slot !== undefined && { slot: parseCount(o.slot, '--slot') }),
              ...(o.pinEnv !== undefined && { pin: { env: o.pinEnv } }),
            });
          }
          const r = await performStep(log, loadRoster(log), id, stepId, {
            performer: signer(o.as, o.key),
            witnesses,
            artefacts,
            ...(hsm && { hsm }),
            ...(request && { request }),
            ...(o.note !== undefined && { note: o.note }),
          });
          if (r.output) {
            mkdirSync(o.outDir ?? '.', { recursive: true });
            writeFileSync(join(o.outDir ?? '.', r.output.name), r.output.bytes);
          }
          const lines = [`step ${stepId} of ${id} recorded at log index ${r.index}`];
          if (r.intentIndex !== undefined) lines.push(`  intent at log index ${r.intentIndex}`);
          for (const [n, d] of Object.entries(r.artefacts)) lines.push(`  ${n}  ${d}`);
          if (r.hsm?.keyId)
            lines.push(
              `  key ${r.hsm.keyId} (${r.hsm.algorithm ?? ''}) label ${r.hsm.label} id ${r.hsm.id}${r.hsm.recovered ? ' (found on resume)' : ''}`,
            );
          if (r.output) lines.push(`  wrote ${join(o.outDir ?? '.', r.output.name)}`);
          const next = loadCeremony(log, id);
          lines.push(next.complete ? 'ceremony complete' : `next step: ${next.next?.step.id ?? '(halted)'}`);
          await write(`${lines.join('\n')}\n`);
        } finally {
          hsm?.close();
        }
      });
    });

  c.command('exception')
    .description('Record a deviation on the next step: who (--as), what (--deviation) and why (--reason)')
    .argument('<id>', 'the ceremony id')
    .argument('<step>', 'the step the deviation concerns (the next one)')
    .requiredOption('--reason <text>', 'why it happened, and why continuing is acceptable')
    .option(
      '--deviation <text>',
      'what deviated from the script (default: the step was not performed as written)',
    )
    .requiredOption('--as <person>', 'who records it')
    .requiredOption('--key <file>', "that person's Ed25519 private key (PEM)")
    .option(...LOG_OPTION)
    .action(
      async (
        id: string,
        stepId: string,
        o: { reason: string; deviation?: string; as: string; key: string; log?: string },
      ) => {
        await withLog(o, async (log) => {
          const r = await recordException(log, loadRoster(log), id, stepId, {
            by: signer(o.as, o.key),
            deviation: o.deviation ?? `step ${stepId} was not performed as the script describes`,
            reason: o.reason,
          });
          await write(
            `exception on ${stepId} recorded at log index ${r.index}; ${r.continues ? 'the script allows it: the ceremony continues' : 'the script allows none here: the ceremony is halted'}\n`,
          );
        });
      },
    );

  c.command('status')
    .description('Where a ceremony stands: done, pending and the next step')
    .argument('<id>', 'the ceremony id')
    .option(...LOG_OPTION)
    .action(async (id: string, o: { log?: string }) => {
      await withLog(
        o,
        async (log) => {
          const s = loadCeremony(log, id);
          const lines = [`${id}: ${s.script.document.name} v${s.script.document.version}`];
          for (const st of s.steps)
            lines.push(
              `  ${String(st.n).padStart(2)} ${st.status.padEnd(9)} ${st.step.id}  ${st.step.title}`,
            );
          lines.push(s.halted ? 'halted' : s.complete ? 'complete' : `next: ${s.next?.step.id}`);
          for (const pr of s.problems) lines.push(`problem: ${pr}`);
          await write(`${lines.join('\n')}\n`);
        },
        true,
      );
    });

  c.command('report')
    .description('The ceremony report: participants, steps, signatures, artefact hashes, HSM keys, proofs')
    .argument('<id>', 'the ceremony id')
    .option('--format <format>', 'json or html', 'json')
    .option('--out <file>', 'write to this file instead of stdout')
    .option(...LOG_OPTION)
    .action(async (id: string, o: { format: string; out?: string; log?: string }) => {
      if (o.format !== 'json' && o.format !== 'html')
        throw new GovernError('BAD_ARGUMENT', `--format: "${o.format}" is not json or html`);
      await withLog(
        o,
        async (log) => {
          const r = ceremonyReport(log, id);
          const text = o.format === 'html' ? renderCeremonyHtml(r) : `${JSON.stringify(r, null, 2)}\n`;
          if (o.out) writeFileSync(o.out, text);
          else await write(text);
          process.exitCode = r.verification.ok ? EXIT.ok : EXIT.findings;
        },
        true,
      );
    });

  c.command('verify')
    .description('Re-check a ceremony from the log alone: exit 0 when it verifies, 1 when not')
    .argument('<id>', 'the ceremony id')
    .option('--json', 'print the verification as JSON')
    .option(...LOG_OPTION)
    .action(async (id: string, o: { json?: boolean; log?: string }) => {
      await withLog(
        o,
        async (log) => {
          const v = verifyCeremony(log, id);
          if (o.json) await write(`${JSON.stringify(v, null, 2)}\n`);
          else
            await write(
              v.ok
                ? `ceremony ${id} verifies: ${v.entries.length} entries, every signature and the step order check (${v.status})\n`
                : `ceremony ${id} does NOT verify (${v.status}):\n${v.problems.map((x) => `  ${x}`).join('\n')}\n`,
            );
          process.exitCode = v.ok ? EXIT.ok : EXIT.findings;
        },
        true,
      );
    });

  addRunbookCommands(p);
}

function addRunbookCommands(p: Command): void {
  const rb = p.command('runbook').description('Versioned runbooks and their recorded drills');
  rb.hook('preAction', () => quietOnClosedPipe());
  const DIR_OPTION = [
    '--dir <dir>',
    'the runbook directory (default: $KEYWARDEN_RUNBOOK_DIR or ./runbooks)',
  ] as const;

  rb.command('list')
    .description('Each runbook with its version and last drill')
    .option(...DIR_OPTION)
    .option(...LOG_OPTION)
    .option('--json', 'one JSON array')
    .action(async (o: { dir?: string; log?: string; json?: boolean }) => {
      const books = loadRunbooks(runbookDir(o));
      const drills = await withLog(o, async (log) => drillsOf(log), true).catch(
        () => new Map<string, never[]>(),
      );
      const rows = books.map((b) => {
        const last = drills.get(b.id)?.at(-1);
        return {
          id: b.id,
          kind: b.kind,
          version: b.version,
          owner: b.owner,
          maxDrillAge: b.maxDrillAge,
          file: b.file,
          digest: b.digest,
          ...(last && { lastDrill: last }),
        };
      });
      if (o.json) await write(`${JSON.stringify(rows, null, 2)}\n`);
      else
        for (const r of rows)
          await write(
            `${r.id.padEnd(28)} ${r.kind.padEnd(22)} v${r.version}  owner ${r.owner}  every ${r.maxDrillAge}  last drill: ${r.lastDrill ? `${r.lastDrill.at.slice(0, 10)} ${r.lastDrill.result} (v${r.lastDrill.version})` : 'never'}\n`,
          );
    });

  rb.command('drill')
    .description('Record that a runbook was exercised')
    .argument('<runbook>', 'the runbook id')
    .requiredOption('--as <person>', 'who records the drill')
    .option('--participant <person>', 'someone who took part, repeatable', collect)
    .requiredOption('--result <result>', 'passed, passed-with-issues or failed')
    .option('--at <date>', 'when the drill took place (default: now)')
    .option('--note <text>', 'what was learned')
    .option(...DIR_OPTION)
    .option(...LOG_OPTION)
    .action(
      async (
        id: string,
        o: {
          as: string;
          participant?: string[];
          result: string;
          at?: string;
          note?: string;
          dir?: string;
          log?: string;
        },
      ) => {
        const book = loadRunbooks(runbookDir(o)).find((b) => b.id === id);
        if (!book) throw new GovernError('BAD_ARGUMENT', `no runbook ${id} in ${runbookDir(o)}`);
        await withLog(o, async (log) => {
          const index = await recordDrill(log, book, {
            actor: o.as,
            participants: o.participant ?? [o.as],
            result: o.result as DrillResult,
            ...(o.at !== undefined && { at: parseInstant(o.at, '--at') }),
            ...(o.note !== undefined && { note: o.note }),
          });
          await write(`drill of ${id} v${book.version} recorded at log index ${index}\n`);
        });
      },
    );

  rb.command('findings')
    .description('Missing, never exercised and stale runbooks: exit 1 when there are findings')
    .option(
      '--require <kinds>',
      `comma-separated kinds that must have a runbook (default: ${DEFAULT_RUNBOOK_POLICY.required.join(',')})`,
    )
    .option('--max-drill-age <duration>', 'a ceiling on every runbook’s own drill interval (e.g. 365d)')
    .option('--at <date>', 'judge at this instant (default: now)')
    .option('--json', 'one JSON array of findings')
    .option(...DIR_OPTION)
    .option(...LOG_OPTION)
    .action(
      async (o: {
        require?: string;
        maxDrillAge?: string;
        at?: string;
        json?: boolean;
        dir?: string;
        log?: string;
      }) => {
        const required =
          o.require === undefined
            ? DEFAULT_RUNBOOK_POLICY.required
            : o.require
                .split(',')
                .map((k) => k.trim())
                .filter(Boolean);
        for (const k of required)
          if (!(RUNBOOK_KINDS as readonly string[]).includes(k))
            throw new GovernError(
              'BAD_ARGUMENT',
              `--require: "${k}" is not one of ${RUNBOOK_KINDS.join(', ')}`,
            );
        const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
        const findings = await withLog(
          o,
          async (log) =>
            runbookFindings(
              runbookDir(o),
              log,
              {
                required: required as RunbookKind[],
                ...((o.maxDrillAge ?? DEFAULT_RUNBOOK_POLICY.maxDrillAge) !== undefined && {
                  maxDrillAge: o.maxDrillAge ?? DEFAULT_RUNBOOK_POLICY.maxDrillAge,
                }),
              },
              at,
            ),
          true,
        );
        if (o.json) await write(`${JSON.stringify(findings, null, 2)}\n`);
        else {
          await write(
            findings.length === 0 ? 'no runbook findings\n' : `${findings.length} runbook findings:\n`,
          );
          for (const f of findings) await write(`  ${f.severity.padEnd(8)} ${f.rule}  ${f.message}\n`);
        }
        process.exitCode = findings.length ? EXIT.findings : EXIT.ok;
      },
    );
}
