import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  atLeast,
  buildReport,
  certificates,
  EngineError,
  exportCbom,
  importCbom,
  MAX_BOM_BYTES,
  keys,
  signatures,
  libraries,
  roles,
  renderHtml,
  renderText,
  recordScan,
  runScan,
  type CertificateItem,
  type KeyItem,
  type LibraryItem,
  type Report,
  type RoleItem,
  type Severity,
  type SignatureItem,
} from '@keywarden/engine';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { parseBytes, parseCount, parseInstant, parseSeverity } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';
import { progressBar } from './progress.ts';
import { dbOption, withStore } from './store-option.ts';
import { certificateLine, keyLine, roleLine, signatureLine } from './table.ts';
import { addCeremonyCommands } from './ceremony-commands.ts';
import { addEvidenceCommands } from './evidence-commands.ts';
import { evidenceDirFor, withEvidenceLog } from './evidence-dir.ts';
import { addGovernCommands } from './govern-commands.ts';
import { addHsmCommand } from './hsm-command.ts';
import { addLintCommand } from './lint-command.ts';
import { addPolicyCommands } from './policy-commands.ts';
import { addTrustCommands } from './trust-commands.ts';
import { addWitnessCommand } from './witness-command.ts';

function failOn(report: Report, floor: Severity | undefined): number {
  if (!floor) return EXIT.ok;
  return report.findings.some((f) => atLeast(f.severity, floor)) ? EXIT.findings : EXIT.ok;
}

export function program(): Command {
  const p = new Command('keywarden')
    .description('System of record for the keys, certificates and signing identities of a device estate')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();

  p.command('scan')
    .description(
      'Discover certificates, keys, CSRs, CRLs and SSH certificates under the given paths and record them',
    )
    .argument('<paths...>', 'files or directories to scan')
    .addOption(dbOption())
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--threads <n>', 'detector worker threads (default: number of cores; 0 = none)')
    .option('--max-file-size <bytes>', 'refuse files larger than this (e.g. 64M)', '256M')
    .option('--stream-above <bytes>', 'sweep non-archive files larger than this in one streaming pass', '64M')
    .option('--at <date>', 'record the scan as taken at this instant (default: now)')
    .option('--fail-on <severity>', 'exit 1 if the inventory then has findings at or above this severity')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--log <dir>', 'evidence log for the scan.completed entry (default: beside the SQLite database)')
    .option('--no-evidence', 'do not record the scan in the evidence log')
    .action(
      async (
        paths: string[],
        o: {
          db?: string;
          log?: string;
          evidence: boolean;
          json?: boolean;
          threads?: string;
          maxFileSize: string;
          streamAbove: string;
          at?: string;
          failOn?: string;
          progress: boolean;
        },
      ) => {
        const threads = o.threads === undefined ? undefined : parseCount(o.threads, '--threads');
        const maxFileBytes = parseBytes(o.maxFileSize, '--max-file-size');
        const streamAboveBytes = parseBytes(o.streamAbove, '--stream-above');
        const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
        const floor = o.failOn === undefined ? undefined : parseSeverity(o.failOn);
        await withStore(o.db, async (store) => {
          const bar = o.progress && process.stderr.isTTY ? progressBar() : undefined;
          let summary;
          try {
            summary = await runScan({
              roots: paths,
              store,
              at,
              maxFileBytes,
              streamAboveBytes,
              ...(threads !== undefined && { threads }),
              ...(bar && { onProgress: bar.update }),
            });
          } finally {
            bar?.stop();
          }
          // The inventory is stored whatever happens next; a log that cannot take the entry fails the command.
          const dir = evidenceDirFor(o.db, o.log);
          const entry = o.evidence
            ? await withEvidenceLog(dir, (log) => recordScan(log, store, summary, at))
            : undefined;
          const evidence = entry === undefined ? undefined : { log: dir, entry };
          if (o.json) await write(JSON.stringify({ ...summary, ...(evidence && { evidence }) }) + '\n');
          else
            await write(
              `scanned ${summary.files} files (${summary.bytes} bytes) in ${summary.seconds}s: ` +
                `${summary.certificates} certificates, ${summary.keys} keys (${summary.privateKeys} private), ` +
                `${summary.csrs} CSRs, ${summary.crls} CRLs, ${summary.sshCertificates} SSH certificates, ` +
                `${summary.signatures} signatures (${summary.invalidSignatures} invalid); ` +
                `${summary.unparseable} unparseable, ${summary.unreadable} unreadable, ${summary.refused} refused\n` +
                `scan ${summary.scanId} stored in ${store.location}` +
                (evidence ? `; recorded as evidence entry ${evidence.entry} in ${evidence.log}` : '') +
                '\n',
            );
          if (!o.json && summary.signatures > 0) {
            await write('signatures:\n');
            for await (const sig of signatures(store, summary.scanId))
              await write(`  ${signatureLine(sig)}\n`);
          }
          if (floor) process.exitCode = failOn(await buildReport(store, { at }), floor);
        });
      },
    );

  const inv = p.command('inventory').description('List what the store holds');
  const kinds = {
    certificates: 'certificates with their occurrences',
    keys: 'keys (public and private) with their occurrences and protection',
    signatures: 'signatures found on artifacts: signer, algorithm, digest, and whether each verifies',
    libraries: 'crypto libraries declared by SBOMs (CycloneDX, SPDX), with the SBOMs that declare them',
    roles: 'TUF/Uptane roles: version, expiry, threshold and whether the signatures meet it',
  } as const;
  for (const kind of Object.keys(kinds) as (keyof typeof kinds)[])
    inv
      .command(kind)
      .description(kinds[kind])
      .addOption(dbOption())
      .option('--expiring-before <date>', 'only certificates whose notAfter is before this date')
      .addOption(new Option('--json', 'one JSON array').conflicts('ndjson'))
      .option('--ndjson', 'one JSON object per line')
      .action(async (o: { db?: string; expiringBefore?: string; json?: boolean; ndjson?: boolean }) => {
        const before =
          o.expiringBefore === undefined ? undefined : parseInstant(o.expiringBefore, '--expiring-before');
        if (before !== undefined && kind !== 'certificates')
          throw new CommanderError(EXIT.usage, 'usage', '--expiring-before applies to certificates only');
        quietOnClosedPipe();
        await withStore(o.db, async (store) => {
          const rows: AsyncIterable<InventoryRow> =
            kind === 'certificates'
              ? certificates(store, before)
              : kind === 'keys'
                ? keys(store)
                : kind === 'signatures'
                  ? signatures(store)
                  : kind === 'roles'
                    ? roles(store)
                    : libraries(store);
          let first = true;
          if (o.json) await write('[');
          for await (const row of rows) {
            if (o.ndjson) await write(JSON.stringify(row) + '\n');
            else if (o.json) await write((first ? '\n' : ',\n') + JSON.stringify(row));
            else await write(line(row) + '\n');
            first = false;
          }
          if (o.json) await write(first ? ']\n' : '\n]\n');
        });
      });

  p.command('report')
    .description(
      'The four-questions report: keys and where they sit, chains and gaps, expiry, what could not be parsed',
    )
    .addOption(dbOption())
    .option('--at <date>', 'judge validity at this instant (default: now)')
    .option('--before <date>', 'also list everything that expires before this date')
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'),
    )
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option(
      '--fail-on <severity>',
      'exit 1 if there are findings at or above this severity (info|low|medium|high|critical)',
    )
    .action(
      async (o: {
        db?: string;
        at?: string;
        before?: string;
        format: 'text' | 'json' | 'html';
        output?: string;
        failOn?: string;
      }) => {
        const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
        const before = o.before === undefined ? undefined : parseInstant(o.before, '--before');
        const floor = o.failOn === undefined ? undefined : parseSeverity(o.failOn);
        await withStore(o.db, async (store) => {
          const report = await buildReport(store, { at, ...(before !== undefined && { before }) });
          const text =
            o.format === 'json'
              ? JSON.stringify(report, null, 2) + '\n'
              : o.format === 'html'
                ? renderHtml(report)
                : renderText(report);
          if (o.output) await writeFile(o.output, text);
          else await write(text);
          process.exitCode = failOn(report, floor);
        });
      },
    );

  p.command('export')
    .description('Write what the store holds in a standard format')
    .command('cbom')
    .description('CycloneDX 1.6 CBOM: certificates, keys, algorithms, signatures and signed artifacts')
    .addOption(dbOption())
    .option('--out <file>', 'write the BOM to a file instead of stdout')
    .option('--at <date>', 'the BOM timestamp (default: now)')
    .action(async (o: { db?: string; out?: string; at?: string }) => {
      const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
      await withStore(o.db, async (store) => {
        const text = JSON.stringify(await exportCbom(store, { at }), null, 2) + '\n';
        if (o.out) await writeFile(o.out, text);
        else await write(text);
      });
    });

  p.command('import')
    .description('Record what a document declares, as declared by its source')
    .command('cbom')
    .description(
      "CycloneDX 1.6 CBOM (ours or another tool's); every asset is recorded at cbom:<source>#<bom-ref>",
    )
    .argument('<file>', 'the CBOM (JSON)')
    .addOption(dbOption())
    .option('--source <name>', 'who declared it (default: the file name)')
    .option('--at <date>', 'record the import as taken at this instant (default: now)')
    .action(async (file: string, o: { db?: string; source?: string; at?: string }) => {
      const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
      const size = await stat(file).then(
        (s) => s.size,
        () => {
          throw new EngineError('INPUT_MISSING', `${file}: no such file`);
        },
      );
      if (size > MAX_BOM_BYTES)
        throw new EngineError(
          'INPUT_INVALID',
          `${file}: ${size} bytes is over the limit of ${MAX_BOM_BYTES}`,
        );
      const json = await readFile(file);
      await withStore(o.db, async (store) => {
        const s = await importCbom(json, store, { source: o.source ?? basename(file), at });
        for (const n of s.notes) process.stderr.write(`note: ${n}\n`);
        await write(
          `imported ${s.components} components from ${file} as declared by ${s.source}: ` +
            `${s.certificates} certificates, ${s.keys} keys, ${s.signatures} signatures, ` +
            `${s.artifacts} artifacts, ${s.csrs} CSRs, ${s.crls} CRLs, ${s.sshCertificates} SSH certificates, ` +
            `${s.edges} links; ${s.skipped} skipped\n` +
            `scan ${s.scanId} stored in ${store.location}\n`,
        );
      });
    });
  addTrustCommands(p);
  addPolicyCommands(p);
  addLintCommand(p);
  addHsmCommand(p);
  addEvidenceCommands(p);
  addGovernCommands(p);
  addCeremonyCommands(p);
  addWitnessCommand(p);
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT.ok;
      if (err.code === 'usage') process.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    const code = exitCodeFor(err);
    process.stderr.write(`keywarden: ${err instanceof Error ? err.message : String(err)}\n`);
    if (code === EXIT.internal && process.env.KEYWARDEN_DEBUG && err instanceof Error)
      process.stderr.write(`${err.stack}\n`);
    return code;
  }
}

type InventoryRow = CertificateItem | KeyItem | SignatureItem | LibraryItem | RoleItem;

function line(row: InventoryRow): string {
  if ('thresholdMet' in row) return roleLine(row);
  if ('declaredBy' in row)
    return `${row.library.padEnd(14)}  ${(row.version ?? '?').padEnd(12)}  ${row.name}  [${row.declaredBy.map((d) => d.path).join(', ')}]`;
  if ('status' in row) return signatureLine(row);
  return 'isCa' in row ? certificateLine(row) : keyLine(row);
}
