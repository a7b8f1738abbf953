import type { Command } from 'commander';
import {
  GrapheneHsm,
  hsmFindings,
  takeInventory,
  type HsmInventory,
  type HsmInventoryObject,
} from '@keywarden/govern';
import { EXIT } from './exit-codes.ts';
import { parseCount } from './options.ts';
import { quietOnClosedPipe, write } from './output.ts';

interface InventoryOptions {
  readonly module: string;
  readonly token?: string;
  readonly slot?: string;
  readonly pinEnv?: string;
  readonly json?: boolean;
}

/** hsm inventory: slots, tokens and objects of a PKCS#11 token with key identities, flags and findings. */
export function addHsmCommand(p: Command): void {
  const hsm = p.command('hsm').description('Hardware security modules over PKCS#11');
  hsm
    .command('inventory')
    .description(
      'List the slots, tokens and objects of a PKCS#11 module, with key identities and protection flags',
    )
    .requiredOption('--module <path>', 'the PKCS#11 module (shared library) to load')
    .option('--token <label>', 'the token to open, by label (default: the only initialised token)')
    .option('--slot <id>', 'the slot to open, by PKCS#11 slot id')
    .option(
      '--pin-env <var>',
      'environment variable that holds the user PIN; without it only public objects are listed',
    )
    .option('--json', 'one JSON object {module, slots, tokens, token, objects, findings}')
    .action(async (o: InventoryOptions) => {
      quietOnClosedPipe();
      const adapter = new GrapheneHsm();
      let inv: HsmInventory;
      try {
        await adapter.open(o.module, {
          ...(o.token !== undefined && { tokenLabel: o.token }),
          ...(o.slot !== undefined && { slot: parseCount(o.slot, '--slot') }),
          ...(o.pinEnv !== undefined && { pin: { env: o.pinEnv } }),
        });
        inv = takeInventory(adapter, o.module);
      } finally {
        adapter.close();
      }
      const findings = hsmFindings(inv);
      if (o.json) await write(JSON.stringify({ ...inv, findings }, null, 2) + '\n');
      else {
        const t = inv.token;
        await write(
          `token "${t.label}" (slot ${t.slotId}): ${t.manufacturer} ${t.model}, serial ${t.serial}, ` +
            `firmware ${t.firmwareVersion.major}.${t.firmwareVersion.minor}\n  flags: ${t.flags.join(', ')}\n`,
        );
        if (o.pinEnv === undefined) await write('  (not logged in: private objects are not listed)\n');
        for (const x of [...inv.objects].sort(byIdThenClass)) await write(objectLine(x));
        await write(findings.length === 0 ? 'no findings\n' : `${findings.length} findings:\n`);
        for (const f of findings) await write(`  ${f.severity.padEnd(8)} ${f.rule}  ${f.message}\n`);
        const others = inv.tokens.filter((x) => x.slotId !== t.slotId);
        for (const x of others) await write(`other token: "${x.label}" (slot ${x.slotId})\n`);
      }
      process.exitCode = findings.length > 0 ? EXIT.findings : EXIT.ok;
    });
}

const FLAG_WORDS: ReadonlyArray<readonly [keyof HsmInventoryObject['flags'], string, string]> = [
  ['sensitive', 'sensitive', 'NOT-sensitive'],
  ['alwaysSensitive', 'always-sensitive', 'was-readable'],
  ['extractable', 'EXTRACTABLE', 'non-extractable'],
  ['neverExtractable', 'never-extractable', 'was-extractable'],
  ['local', 'generated-on-token', 'imported'],
  ['private', 'login-only', 'readable-without-login'],
];

const CLASS_ORDER = ['private-key', 'public-key', 'certificate', 'secret-key', 'data'];

/** One key's halves and certificate together, as a reader looks for them. */
function byIdThenClass(a: HsmInventoryObject, b: HsmInventoryObject): number {
  const rank = (x: HsmInventoryObject): number => {
    const i = CLASS_ORDER.indexOf(x.class);
    return i < 0 ? CLASS_ORDER.length : i;
  };
  return (a.id ?? '').localeCompare(b.id ?? '') || rank(a) - rank(b);
}

function objectLine(x: HsmInventoryObject): string {
  const kind = [
    x.keyType,
    x.key?.curve ?? x.curve ?? (x.key?.size !== undefined ? String(x.key.size) : undefined),
  ]
    .filter(Boolean)
    .join(' ');
  const head = [
    `  ${x.class.padEnd(12)}`,
    kind,
    x.label !== undefined && `label="${x.label}"`,
    x.id !== undefined && `id=${x.id}`,
  ]
    .filter(Boolean)
    .join(' ');
  const lines = [head];
  if (x.key) lines.push(`      key ${x.key.keyId} (${x.keySource})`);
  if (x.certificate)
    lines.push(
      `      certificate ${x.certificate.subject}, issuer ${x.certificate.issuer}, ` +
        `until ${new Date(x.certificate.notAfter).toISOString()}`,
    );
  const flags = FLAG_WORDS.filter(([k]) => x.flags[k] !== undefined).map(([k, yes, no]) =>
    x.flags[k] ? yes : no,
  );
  if (x.class !== 'certificate' && x.class !== 'data' && flags.length > 0)
    lines.push(
      `      flags: ${flags.join(', ')}${x.usage.length > 0 ? `; usage: ${x.usage.join(', ')}` : ''}`,
    );
  if (x.keyProblem !== undefined) lines.push(`      problem: ${x.keyProblem}`);
  return lines.join('\n') + '\n';
}
