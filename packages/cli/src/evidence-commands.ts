import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  EvidenceError,
  EvidenceLog,
  MAX_BUNDLE_BYTES,
  parseVkey,
  verifyBundle,
  verifyLog,
  VKEY_FILE,
  type BundleResult,
  type LogReport,
  type NoteVerifier,
} from '@keywarden/evidence';
import { DEFAULT_SQLITE_FILE } from '@keywarden/store';
import { EXIT } from './exit-codes.ts';
import { parseCount } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';
import { addEvidenceWitnessCommand } from './witness-command.ts';
import {
  addWitnessVerifyOptions,
  checkWitnessPolicy,
  witnessPolicyFrom,
  witnessText,
} from './witness-verify.ts';

/** The log lives beside the default database unless --log says otherwise. */
export const DEFAULT_LOG_DIR = join(dirname(DEFAULT_SQLITE_FILE), 'evidence');

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const logDir = (o: { log?: string }): string =>
  o.log ?? process.env.KEYWARDEN_EVIDENCE_DIR ?? DEFAULT_LOG_DIR;

/** Bad input to verify is exit 3, distinct from "verified and found tampered" (exit 1). */
class InputProblem extends Error {}

/** --key takes a vkey itself or a file of vkeys, one a line. */
function loadKeys(values: readonly string[]): NoteVerifier[] {
  const keys: NoteVerifier[] = [];
  for (const v of values) {
    const lines = /^[^+\s]+\+[0-9a-f]{8}\+\S+$/.test(v.trim()) ? [v] : readText(v, '--key').split('\n');
    for (const l of lines) {
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      try {
        keys.push(parseVkey(l));
      } catch (err) {
        throw new InputProblem(`--key ${v}: ${(err as Error).message}`);
      }
    }
  }
  return keys;
}

function readText(file: string, what: string, max = MAX_BUNDLE_BYTES * 64): string {
  try {
    if (statSync(file).size > max) throw new InputProblem(`${what} ${file} is larger than ${max} bytes`);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof InputProblem) throw err;
    throw new InputProblem(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** A file of bundles: one JSON bundle, a JSON array of them, or NDJSON as `export` writes. */
function readBundles(file: string): unknown[] {
  const text = readText(file, 'bundle file').trim();
  try {
    if (text.startsWith('[')) return JSON.parse(text) as unknown[];
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new InputProblem(`${file} is not a proof bundle (JSON or NDJSON): ${(err as Error).message}`);
  }
}

async function openRead(dir: string): Promise<EvidenceLog> {
  if (!existsSync(join(dir, 'checkpoint')))
    throw new EvidenceError('BAD_ARGUMENT', `no evidence log at ${dir} (use --log DIR)`);
  return EvidenceLog.open(dir, { readOnly: true });
}

/** keywarden evidence verify | show | export | checkpoint: the tamper-evident log, no database needed. */
export function addEvidenceCommands(p: Command): void {
  const ev = p
    .command('evidence')
    .description('The tamper-evident evidence log (RFC 6962 tree, C2SP tiles and checkpoints)');
  ev.hook('preAction', () => quietOnClosedPipe());

  addWitnessVerifyOptions(ev.command('verify'))
    .description('Check a log directory or proof bundles offline: exit 0 intact, 1 tampered, 3 bad input')
    .argument('[target]', 'a log directory or a bundle file (default: the log)')
    .option('--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`)
    .option(
      '--key <vkey|file>',
      'trusted verifier key (C2SP vkey text, or a file of them), repeatable',
      collect,
    )
    .option('--trusted <checkpoint>', 'a checkpoint file trusted from earlier: detects rollback and fork')
    .option('--origin <origin>', 'the origin the checkpoint must carry (default: the signing key name)')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        target: string | undefined,
        o: {
          log?: string;
          key?: string[];
          trusted?: string;
          origin?: string;
          json?: boolean;
          witness?: string[];
          witnessThreshold?: string;
        },
      ) => {
        try {
          const path = target ?? logDir(o);
          if (!existsSync(path)) throw new InputProblem(`${path} does not exist`);
          const isDir = statSync(path).isDirectory();
          let keys = loadKeys(o.key ?? []);
          if (keys.length === 0) {
            const own = join(isDir ? path : logDir(o), VKEY_FILE);
            if (!existsSync(own))
              throw new InputProblem('no --key given and no log key file to fall back on');
            process.stderr.write(
              `keywarden: no --key given; trusting ${own}, which proves nothing against whoever can write the log\n`,
            );
            keys = loadKeys([own]);
          }
          if (isDir) {
            const report = verifyLog(path, {
              vkeys: keys,
              ...(o.trusted !== undefined && { trusted: readText(o.trusted, '--trusted', 1 << 20) }),
              ...(o.origin !== undefined && { origin: o.origin }),
            });
            const wp = witnessPolicyFrom(o);
            const wr = wp && checkWitnessPolicy(path, keys, wp);
            await write(
              o.json
                ? `${JSON.stringify(wr ? { ...report, witnesses: wr } : report, null, 2)}\n`
                : logText(path, report) + (wr && wp ? witnessText(wr, wp.k) : ''),
            );
            process.exitCode = report.ok && (wr?.ok ?? true) ? EXIT.ok : EXIT.findings;
          } else {
            if (o.witness)
              throw new InputProblem('--witness checks a log directory; bundles carry no cosignatures');
            const results = readBundles(path).map((b) => verifyBundle(b, keys, o.origin));
            await write(o.json ? `${JSON.stringify(results, null, 2)}\n` : bundleText(results));
            process.exitCode = results.length > 0 && results.every((r) => r.ok) ? EXIT.ok : EXIT.findings;
          }
        } catch (err) {
          if (!(err instanceof InputProblem)) throw err;
          process.stderr.write(`keywarden: ${err.message}\n`);
          process.exitCode = EXIT.input;
        }
      },
    );

  addEvidenceWitnessCommand(ev, logDir);

  ev.command('show')
    .description('Print entry N of the log')
    .argument('<n>', 'entry index (0-based)')
    .option('--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`)
    .option('--json', 'print {index, statement, bundle} as JSON')
    .action(async (nText: string, o: { log?: string; json?: boolean }) => {
      const index = parseCount(nText, 'N');
      const log = await openRead(logDir(o));
      try {
        if (o.json)
          await write(
            `${JSON.stringify({ index, statement: log.statement(index), bundle: log.bundle(index) }, null, 2)}\n`,
          );
        else await write(`${log.entry(index).toString('utf8')}\n`);
      } finally {
        log.close();
      }
    });

  ev.command('export')
    .description('Write a proof bundle per entry (NDJSON) for all entries or a range')
    .option('--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`)
    .option('--from <n>', 'first entry index (default 0)')
    .option('--to <n>', 'last entry index, inclusive (default: the last entry)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (o: { log?: string; from?: string; to?: string; out?: string }) => {
      const log = await openRead(logDir(o));
      try {
        const from = o.from === undefined ? 0 : parseCount(o.from, '--from');
        const to = o.to === undefined ? log.size - 1 : parseCount(o.to, '--to');
        if (to >= log.size || from > to + 1)
          throw new EvidenceError(
            'BAD_ARGUMENT',
            `range ${from}..${to} is outside the log's ${log.size} entries`,
          );
        const lines: string[] = [];
        for (let i = from; i <= to; i++) {
          const line = `${JSON.stringify(log.bundle(i))}\n`;
          if (o.out) lines.push(line);
          else await write(line);
        }
        if (o.out) writeFileSync(o.out, lines.join(''));
      } finally {
        log.close();
      }
    });

  ev.command('checkpoint')
    .description("Print the log's current signed checkpoint")
    .option('--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`)
    .action(async (o: { log?: string }) => {
      const log = await openRead(logDir(o));
      try {
        await write(log.checkpoint);
      } finally {
        log.close();
      }
    });
}

function logText(dir: string, r: LogReport): string {
  const kept = r.witnessed ? `, ${r.witnessed} earlier cosigned checkpoints` : '';
  const head = `${dir}: ${r.origin ?? '?'} size ${r.size ?? '?'}, ${r.entries} entries and ${r.tiles} tiles${kept} checked`;
  if (r.ok)
    return `${head}\nok: every tile matches the entries, the root and the signature by ${r.signedBy.join(', ')}\n`;
  const lines = r.problems.map(
    (p) => `  ${p.file}${p.index !== undefined ? ` [${p.index}]` : ''}: ${p.what}`,
  );
  return `${head}\nTAMPERED: ${r.problems.length} problem(s)\n${lines.join('\n')}\n`;
}

function bundleText(results: BundleResult[]): string {
  if (results.length === 0) return 'no bundles\n';
  return results
    .map((r) =>
      r.ok
        ? `entry ${r.index}: ok (size ${r.size}, ${r.origin})`
        : `entry ${r.index}: TAMPERED: ${r.problems.join('; ')}`,
    )
    .join('\n')
    .concat('\n');
}
