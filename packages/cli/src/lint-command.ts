import { Option, type Command } from 'commander';
import { LINT_PROFILES, lintCertificate, type LintProfile, type LintResult } from '@keywarden/analyze';
import { EngineError, lintStore } from '@keywarden/engine';
import { readCertificates } from './certificate-files.ts';
import { EXIT } from './exit-codes.ts';
import { parseInstant } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';
import { dbOption, withStore } from './store-option.ts';

interface Row {
  readonly subject: string;
  readonly source: string;
  readonly profile: LintProfile;
  readonly reason: string;
  readonly results: readonly LintResult[];
}

/** lint: device-PKI profiles (802.1AR, Matter, ECU, code signing) and RFC 5280, on files or the store. */
export function addLintCommand(p: Command): void {
  p.command('lint')
    .description(
      'Lint certificates against a device PKI profile (chosen by what each certificate is, or --profile)',
    )
    .argument(
      '[files...]',
      'certificate files (PEM bundles or DER); without any, every certificate in the store',
    )
    .addOption(dbOption())
    .addOption(new Option('--profile <profile>', 'the profile to apply').choices([...LINT_PROFILES]))
    .option('--at <date>', 'judge time-dependent lints at this instant (default: now)')
    .option('--json', 'one JSON array of {subject, source, profile, reason, results}')
    .action(
      async (files: string[], o: { db?: string; profile?: LintProfile; at?: string; json?: boolean }) => {
        quietOnClosedPipe();
        const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at');
        const rows: Row[] = [];
        if (files.length > 0) {
          for (const f of files)
            for (const [i, c] of (await readCertificates(f)).entries()) {
              let r;
              try {
                r = lintCertificate(c.der, { at, ...(o.profile && { profile: o.profile }) });
              } catch (e) {
                throw new EngineError('INPUT_INVALID', `${f}: certificate ${i + 1}: ${(e as Error).message}`);
              }
              rows.push({
                subject: c.cert.subject.text,
                source: f,
                profile: r.profile,
                reason: r.reason,
                results: r.results,
              });
            }
        } else
          await withStore(o.db, async (store) => {
            const r = await lintStore(store, { at, ...(o.profile && { profile: o.profile }) });
            for (const x of r.rows) rows.push({ ...x, source: x.assetId });
          });
        if (o.json) await write(JSON.stringify(rows, null, 2) + '\n');
        else
          for (const r of rows) {
            await write(`${r.subject} — ${r.profile} (${r.reason})\n`);
            for (const x of r.results)
              await write(
                `  ${x.severity.padEnd(7)}  ${x.id}: ${x.message} [${x.source.document} ${x.source.section}]\n`,
              );
          }
        process.exitCode = rows.some((r) => r.results.some((x) => x.severity === 'error'))
          ? EXIT.findings
          : EXIT.ok;
      },
    );
}
