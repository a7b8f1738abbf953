import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AUTHORITY_NAMES, loadOrgPolicy, type OrgPolicy } from '@keywarden/analyze';
import { EngineError, policyCheck, pqcReadiness, type Product } from '@keywarden/engine';
import { parseCount, parseInstant } from './options.ts';
import { write } from './output.ts';
import { dbOption, withStore } from './store-option.ts';

const authorityOption = (): Option =>
  new Option('--authority <name>', 'whose dated rules apply').choices([...AUTHORITY_NAMES]).default('nist');
const instant = (at: string | undefined): number =>
  at === undefined ? Date.now() : parseInstant(at, '--at');

/** policy check and policy pqc: the estate's algorithms against an authority's dated rules. */
export function addPolicyCommands(p: Command): void {
  const policy = p
    .command('policy')
    .description('Crypto policy: algorithms and sizes against dated authority rules');
  policy
    .command('check')
    .description(
      'Every certificate and key: acceptable, legacy, deprecated or disallowed at --at, and what changes next',
    )
    .addOption(dbOption())
    .option('--at <date>', 'judge at this instant (default: now)')
    .addOption(authorityOption())
    .option('--org <file>', 'organisation policy YAML whose overrides win (see docs/policy-example.yaml)')
    .option('--json', 'the whole check as JSON')
    .action(async (o: { db?: string; at?: string; authority: string; org?: string; json?: boolean }) => {
      const org = o.org ? loadOrgPolicy(o.org) : undefined;
      await withStore(o.db, async (store) => {
        const r = await policyCheck(store, {
          at: instant(o.at),
          authority: o.authority,
          ...(org && { org }),
        });
        if (o.json) return write(JSON.stringify(r, null, 2) + '\n');
        for (const row of r.rows) {
          const alg = [row.algorithm, row.size ?? row.curve].filter(Boolean).join(' ');
          const next = row.nextChange ? `  -> ${row.nextChange.status} from ${row.nextChange.from}` : '';
          const qv = row.quantumVulnerable === true ? '  quantum-vulnerable' : '';
          await write(
            `${row.status.padEnd(10)}  ${row.kind.padEnd(11)}  ${alg}${row.signatureAlgorithm ? ` / ${row.signatureAlgorithm}` : ''}  ${row.subject}  [${row.rule ?? 'no rule'}${row.source ? `: ${row.source.document}` : ''}]${next}${qv}\n`,
          );
        }
        await write(
          `${r.rows.length} assets at ${r.at} under ${r.authority}${r.orgPolicy ? ` with ${r.orgPolicy}` : ''}: ` +
            Object.entries(r.counts)
              .map(([k, v]) => `${v} ${k}`)
              .join(', ') +
            '\n',
        );
      });
    });

  policy
    .command('pqc')
    .description(
      'Post-quantum readiness per product line: by when each must have migrated (Mosca: X + Y vs Z)',
    )
    .addOption(dbOption())
    .option('--at <date>', 'judge at this instant (default: now)')
    .addOption(authorityOption())
    .option('--org <file>', 'organisation policy YAML')
    .option(
      '--products <file>',
      'JSON [{name, supportEnd: YYYY-MM-DD, pathPrefix?}] (default: the whole estate)',
    )
    .option('--lifetime <years>', 'service life assumed when there is no product data', '15')
    .option('--shelf-life <years>', 'X: how long signatures and protected data must stay trustworthy', '0')
    .option('--migration <years>', 'Y: how long a migration takes', '0')
    .option('--json', 'JSON rows')
    .action(
      async (o: {
        db?: string;
        at?: string;
        authority: string;
        org?: string;
        products?: string;
        lifetime: string;
        shelfLife: string;
        migration: string;
        json?: boolean;
      }) => {
        const org: OrgPolicy | undefined = o.org ? loadOrgPolicy(o.org) : undefined;
        let products: Product[] | undefined;
        if (o.products) {
          try {
            products = JSON.parse(await readFile(o.products, 'utf8')) as Product[];
          } catch (e) {
            throw new EngineError('INPUT_INVALID', `${o.products}: ${(e as Error).message}`);
          }
          if (!Array.isArray(products))
            throw new EngineError('INPUT_INVALID', `${o.products}: not a JSON array of products`);
        }
        await withStore(o.db, async (store) => {
          const rows = await pqcReadiness(store, {
            at: instant(o.at),
            authority: o.authority,
            ...(org && { org }),
            ...(products && { products }),
            lifetimeYears: parseCount(o.lifetime, '--lifetime'),
            shelfLifeYears: parseCount(o.shelfLife, '--shelf-life'),
            migrationYears: parseCount(o.migration, '--migration'),
          });
          if (o.json) return write(JSON.stringify(rows, null, 2) + '\n');
          for (const r of rows)
            await write(
              `${r.product}: support to ${r.supportEnd} (${r.supportEndFrom}); ${r.vulnerable} quantum-vulnerable, ${r.notVulnerable} not, ${r.unknown} unknown; ` +
                (r.migrateBy
                  ? `migrate by ${r.migrateBy} (${o.authority} disallows from ${r.disallowFrom})${r.late ? '  LATE' : ''}${r.retiresFirst ? '  (retires first)' : ''}`
                  : 'nothing it holds is ever disallowed') +
                '\n',
            );
        });
      },
    );
}
