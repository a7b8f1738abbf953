import { Option, type Command } from 'commander';
import { CertIndex, validateBest, type CertInput, type Purpose } from '@keywarden/analyze';
import {
  analyzeChains,
  atLeast,
  buildReport,
  EngineError,
  isSeverity,
  toDot,
  trustGraph,
  type ChainItem,
} from '@keywarden/engine';
import { readCertificates } from './certificate-files.ts';
import { EXIT } from './exit-codes.ts';
import { parseInstant } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';
import { dbOption, withStore } from './store-option.ts';

const PURPOSES = ['code-signing', 'client-auth', 'server-auth', 'any'] as const;
const purposeOption = (): Option =>
  new Option('--purpose <purpose>', 'what the leaf must be valid for').choices(PURPOSES);
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const instant = (at: string | undefined): number =>
  at === undefined ? Date.now() : parseInstant(at, '--at');

/** chains, validate, graph, findings: question 2 of the mission, from the store or from files. */
export function addTrustCommands(p: Command): void {
  // Long listings are piped into head and less: a closed pipe ends the output, not the process.
  p.hook('preAction', () => quietOnClosedPipe());
  p.command('validate')
    .description('Validate one chain from files (RFC 5280 §6): exit 0 when valid, 1 when not')
    .argument('<leaf>', 'the leaf certificate (PEM or DER; extra certificates in the file are intermediates)')
    .option('--intermediate <file>', 'intermediate certificates (PEM bundle or DER), repeatable', collect)
    .option('--anchor <file>', 'trust anchors (PEM bundle or DER), repeatable', collect)
    .option('--at <date>', 'validate at this instant (default: now)')
    .addOption(purposeOption().default('any'))
    .option('--name <dnsname>', 'the DNS name or IP address the leaf must be valid for')
    .option('--json', 'print {valid, path, errors, warnings} as JSON')
    .action(
      async (
        leafFile: string,
        o: {
          intermediate?: string[];
          anchor?: string[];
          at?: string;
          purpose: Purpose;
          name?: string;
          json?: boolean;
        },
      ) => {
        if (!o.anchor?.length)
          throw new EngineError('BAD_ARGUMENT', 'validate needs at least one --anchor FILE');
        const [leaf, ...extra] = await readCertificates(leafFile);
        const pool = [...extra];
        for (const f of o.intermediate ?? []) pool.push(...(await readCertificates(f)));
        const anchors: CertInput[] = [];
        for (const f of o.anchor) anchors.push(...(await readCertificates(f)));
        const r = validateBest(leaf!, new CertIndex(pool, anchors), {
          at: instant(o.at),
          purpose: o.purpose,
          ...(o.name !== undefined && { name: o.name }),
        });
        if (o.json)
          await write(
            JSON.stringify(
              {
                valid: r.valid,
                path: r.path,
                errors: r.errors,
                warnings: r.warnings ?? [],
                candidates: r.candidates,
              },
              null,
              2,
            ) + '\n',
          );
        else {
          await write(`${r.valid ? 'valid' : 'NOT valid'}: ${r.path.length} certificates, leaf first\n`);
          for (const fp of r.path) await write(`  ${fp}\n`);
          for (const e of r.errors) await write(`  error ${e.rule} at ${e.index}: ${e.message}\n`);
          for (const e of r.warnings ?? []) await write(`  warning ${e.rule} at ${e.index}: ${e.message}\n`);
        }
        process.exitCode = r.valid ? EXIT.ok : EXIT.findings;
      },
    );

  p.command('chains')
    .description('Every leaf and signing certificate in the store with its best path to a trust anchor')
    .addOption(dbOption())
    .option('--at <date>', 'validate at this instant (default: now)')
    .addOption(purposeOption())
    .option('--anchor <file>', 'extra trust anchors (PEM bundle or DER), repeatable', collect)
    .option(
      '--trust-store <path>',
      'a path (or prefix) the organisation declares as a trust store, repeatable',
      collect,
    )
    .option('--json', 'one JSON array')
    .action(
      async (o: {
        db?: string;
        at?: string;
        purpose?: Purpose;
        anchor?: string[];
        trustStore?: string[];
        json?: boolean;
      }) => {
        const anchors: CertInput[] = [];
        for (const f of o.anchor ?? []) anchors.push(...(await readCertificates(f)));
        await withStore(o.db, async (store) => {
          const a = await analyzeChains(store, {
            at: instant(o.at),
            ...(o.purpose && { purpose: o.purpose }),
            anchors,
            ...(o.trustStore && { trustStorePaths: o.trustStore }),
          });
          if (o.json) await write(JSON.stringify(a.items, null, 2) + '\n');
          else for (const i of a.items) await write(chainLine(i) + '\n');
        });
      },
    );

  p.command('graph')
    .description('The chain-of-trust graph: assets with their layer, edges with the reason each holds')
    .addOption(dbOption())
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'dot']).default('json'))
    .option(
      '--around <asset>',
      'only what lies within --depth edges of this asset (id, fingerprint, key id or prefix)',
    )
    .option('--depth <n>', 'edges from --around', '2')
    .option('--at <date>', 'validate paths at this instant (default: now)')
    .action(
      async (o: { db?: string; format: 'json' | 'dot'; around?: string; depth: string; at?: string }) => {
        await withStore(o.db, async (store) => {
          const a = await analyzeChains(store, { at: instant(o.at) });
          const g = await trustGraph(store, a, {
            ...(o.around !== undefined && { around: o.around }),
            depth: Number(o.depth),
          });
          await write(o.format === 'dot' ? toDot(g) : JSON.stringify(g, null, 2) + '\n');
        });
      },
    );

  p.command('findings')
    .description('Every finding: gaps in the chain of trust, expiry, weak keys, exposed keys, bad signatures')
    .addOption(dbOption())
    .option('--at <date>', 'judge at this instant (default: now)')
    .option('--severity <severity>', 'only findings at or above this severity')
    .option(
      '--trust-store <path>',
      'a path (or prefix) the organisation declares as a trust store, repeatable',
      collect,
    )
    .option('--support-end <date>', 'the product support end trust anchors must outlive')
    .option('--json', 'one JSON array')
    .action(
      async (o: {
        db?: string;
        at?: string;
        severity?: string;
        trustStore?: string[];
        supportEnd?: string;
        json?: boolean;
      }) => {
        if (o.severity !== undefined && !isSeverity(o.severity))
          throw new EngineError(
            'BAD_ARGUMENT',
            `--severity: "${o.severity}" is not one of info, low, medium, high, critical`,
          );
        const floor = o.severity;
        await withStore(o.db, async (store) => {
          const r = await buildReport(store, {
            at: instant(o.at),
            ...(o.trustStore && { trustStorePaths: o.trustStore }),
            ...(o.supportEnd !== undefined && { supportEnd: parseInstant(o.supportEnd, '--support-end') }),
          });
          const fs = r.findings.filter((f) => !floor || atLeast(f.severity, floor));
          if (o.json) await write(JSON.stringify(fs, null, 2) + '\n');
          else
            for (const f of fs) await write(`${f.severity.padEnd(8)}  ${f.rule.padEnd(36)}  ${f.message}\n`);
        });
      },
    );
}

function chainLine(i: ChainItem): string {
  const status = i.status === 'valid' ? 'valid   ' : i.status === 'invalid' ? 'INVALID ' : 'NO PATH ';
  const anchor = i.anchor
    ? `  anchor: ${i.anchor.subject}${i.anchor.trustStores.length ? '' : ' (in no trust store)'}`
    : '';
  const why = i.errors.length ? `  [${[...new Set(i.errors.map((e) => e.rule))].join(', ')}]` : '';
  return `${status} ${i.role.padEnd(6)}  ${i.pathSubjects.join(' <- ')}${anchor}${why}`;
}
