import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { EvidenceLog } from '@keywarden/evidence';
import {
  addPerson,
  custodyGaps,
  GovernError,
  grantRole,
  isOperation,
  leave,
  loadQuorumPolicy,
  loadRequest,
  OPERATIONS,
  quorumFromLog,
  readPrivateKey,
  recordApproval,
  recordPolicy,
  replay,
  requireQuorumFromLog,
  revokeRole,
  rosterAt,
  rulesFor,
  saveRequest,
  signApproval,
  verifyApproval,
  createRequest,
  type ApprovalRequest,
  type ChangeContext,
  type QuorumPolicy,
  type QuorumResult,
} from '@keywarden/govern';
import { DEFAULT_LOG_DIR } from './evidence-commands.ts';
import { EXIT } from './exit-codes.ts';
import { parseInstant } from './options.ts';
import { write } from './output.ts';

interface LogOpts {
  log?: string;
  policy?: string;
  as?: string;
  request?: string;
  json?: boolean;
}

const logDir = (o: LogOpts): string => o.log ?? process.env.KEYWARDEN_EVIDENCE_DIR ?? DEFAULT_LOG_DIR;
const policyFile = (o: LogOpts): string => o.policy ?? join(dirname(DEFAULT_LOG_DIR), 'quorum.yaml');
const instant = (at: string | undefined, flag: string): number =>
  at === undefined ? Date.now() : parseInstant(at, flag);

async function withLog<T>(
  o: LogOpts,
  fn: (log: EvidenceLog, dir: string) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const dir = logDir(o);
  if (readOnly && !existsSync(join(dir, 'checkpoint')))
    throw new GovernError('BAD_ARGUMENT', `no evidence log at ${dir} (use --log DIR)`);
  const log = await EvidenceLog.open(dir, readOnly ? { readOnly: true } : { create: true });
  try {
    return await fn(log, dir);
  } finally {
    log.close();
  }
}

/** The policy in force: the one in the log, or the policy file recorded as the first (bootstrap). */
async function policyInForce(log: EvidenceLog, o: LogOpts): Promise<QuorumPolicy> {
  const logged = replay(log).policy;
  if (logged) return logged;
  const p = loadQuorumPolicy(policyFile(o));
  await recordPolicy(log, p, { actor: o.as ?? 'cli' });
  return p;
}

/**
 * Roster changes go through the quorum when the policy in force has a roster-change rule and the
 * roster already has people (the very first entries bootstrap it).
 */
async function rosterContext(log: EvidenceLog, dir: string, o: LogOpts): Promise<ChangeContext> {
  const ctx: ChangeContext = { actor: o.as ?? 'cli' };
  const st = replay(log);
  const policy = st.policy ?? (existsSync(policyFile(o)) ? loadQuorumPolicy(policyFile(o)) : undefined);
  const governed =
    policy && st.roster.people.size > 0 && policy.rules.some((r) => r.operations.includes('roster-change'));
  if (!governed) return ctx;
  if (!o.request)
    throw new GovernError(
      'QUORUM_NOT_MET',
      'roster changes need an approved roster-change request (--request ID)',
    );
  const r = loadRequest(dir, o.request);
  if (r.operation !== 'roster-change')
    throw new GovernError('BAD_ARGUMENT', `request ${o.request} is for ${r.operation}, not roster-change`);
  requireQuorumFromLog(log, r, Date.now());
  return {
    ...ctx,
    requestDigest: o.request.startsWith('sha256:')
      ? (o.request as `sha256:${string}`)
      : `sha256:${o.request}`,
  };
}

const common = (c: Command): Command =>
  c
    .option('--log <dir>', `the evidence log directory (default: ${DEFAULT_LOG_DIR})`)
    .option(
      '--policy <file>',
      'quorum policy YAML used when the log has none yet (default: .keywarden/quorum.yaml)',
    );

function params(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i < 1) throw new GovernError('BAD_ARGUMENT', `--param "${kv}" is not NAME=VALUE`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

async function printQuorum(r: QuorumResult, json: boolean | undefined): Promise<void> {
  if (json) return write(JSON.stringify(r, null, 2) + '\n');
  await write(
    `${r.met ? 'MET' : 'NOT MET'}  request ${r.requestDigest}  policy ${r.policyDigest}  at ${r.at}\n`,
  );
  for (const rule of r.rules)
    await write(
      `  rule ${rule.rule}: ${rule.counted.length} of ${rule.needed} ${rule.role}${rule.counted.length ? ` (${rule.counted.join(', ')})` : ''}\n`,
    );
  for (const a of r.approvals)
    await write(
      `  ${a.counted ? 'counted ' : 'refused '} ${a.approver} ${a.decision} ${a.at}${a.reasons.map((x) => `  [${x.code}${x.rule ? ` ${x.rule}` : ''}: ${x.detail}]`).join('')}\n`,
    );
  for (const reason of r.reasons) await write(`  - ${reason}\n`);
}

/** roster, request, approve, approvals, quorum: custody and signed M-of-N approvals in the evidence log. */
export function addGovernCommands(p: Command): void {
  const roster = p
    .command('roster')
    .description('Custodian roster: people and roles, each change a logged statement');

  common(roster.command('add').description('Add a person with their Ed25519 public key'))
    .argument('<person>', 'person id (e.g. alice)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption(
      '--public-key <file>',
      'their Ed25519 public key: SPKI PEM, or 32 raw bytes in base64/hex',
    )
    .option('--email <email>', 'contact address')
    .option('--as <person>', 'who makes the change')
    .option('--request <id>', 'approved roster-change request, when the policy asks for one')
    .action(async (person: string, o: LogOpts & { name: string; publicKey: string; email?: string }) => {
      const key = readFileSync(o.publicKey, 'utf8');
      await withLog(o, async (log, dir) => {
        const i = await addPerson(
          log,
          { id: person, name: o.name, publicKey: key, ...(o.email && { email: o.email }) },
          await rosterContext(log, dir, o),
        );
        await write(`added ${person} (log index ${i})\n`);
      });
    });

  common(
    roster.command('grant').description('Grant a role, optionally limited to keys and a validity interval'),
  )
    .argument('<person>')
    .argument('<role>', 'custodian, approver, auditor, admin or a named role like release-custodian')
    .option('--scope <keys>', 'key id or pattern the role is limited to (e.g. fw-release-*)')
    .option('--from <date>', 'valid from (default: now)')
    .option('--until <date>', 'valid until')
    .option('--as <person>', 'who makes the change')
    .option('--request <id>', 'approved roster-change request, when the policy asks for one')
    .action(
      async (
        person: string,
        role: string,
        o: LogOpts & { scope?: string; from?: string; until?: string },
      ) => {
        await withLog(o, async (log, dir) => {
          const i = await grantRole(
            log,
            {
              person,
              role,
              ...(o.scope && { scope: o.scope }),
              ...(o.from && { validFrom: parseInstant(o.from, '--from') }),
              ...(o.until && { validUntil: parseInstant(o.until, '--until') }),
            },
            await rosterContext(log, dir, o),
          );
          await write(`granted ${role}${o.scope ? ` for ${o.scope}` : ''} to ${person} (log index ${i})\n`);
        });
      },
    );

  common(roster.command('revoke').description('Revoke a role'))
    .argument('<person>')
    .argument('<role>')
    .option('--scope <keys>', 'the scope the role was granted with')
    .option('--as <person>', 'who makes the change')
    .option('--request <id>', 'approved roster-change request, when the policy asks for one')
    .action(async (person: string, role: string, o: LogOpts & { scope?: string }) => {
      await withLog(o, async (log, dir) => {
        const i = await revokeRole(
          log,
          { person, role, ...(o.scope && { scope: o.scope }) },
          await rosterContext(log, dir, o),
        );
        await write(`revoked ${role} from ${person} (log index ${i})\n`);
      });
    });

  common(roster.command('show').description('Who held which role at an instant, from the log'))
    .option('--at <date>', 'the instant (default: now)')
    .option('--json', 'as JSON')
    .action(async (o: LogOpts & { at?: string }) => {
      await withLog(
        o,
        async (log) => {
          const { snapshot } = rosterAt(log, instant(o.at, '--at'));
          if (o.json) return write(JSON.stringify(snapshot, null, 2) + '\n');
          for (const person of snapshot.people)
            await write(
              `${person.id.padEnd(16)} ${person.name}${person.email ? ` <${person.email}>` : ''}  ${person.roles.map((r) => r.role + (r.scope ? `[${r.scope}]` : '')).join(', ') || '(no roles)'}\n`,
            );
          await write(`${snapshot.people.length} people at ${snapshot.at}\n`);
        },
        true,
      );
    });

  common(
    roster
      .command('leave')
      .description('Leaver: revoke every role, remove the person, list keys left short of custody'),
  )
    .argument('<person>')
    .option('--key-id <id...>', 'more key ids to check (e.g. from the inventory)')
    .option('--as <person>', 'who makes the change')
    .option('--request <id>', 'approved roster-change request, when the policy asks for one')
    .option('--json', 'as JSON')
    .action(async (person: string, o: LogOpts & { keyId?: string[] }) => {
      await withLog(o, async (log, dir) => {
        const ctx = await rosterContext(log, dir, o);
        const policy = await policyInForce(log, o);
        const r = await leave(log, person, policy, ctx, { keys: o.keyId ?? [] });
        if (o.json) return write(JSON.stringify(r, null, 2) + '\n');
        await write(
          `${person} left: revoked ${r.revoked.map((x) => x.role + (x.scope ? `[${x.scope}]` : '')).join(', ') || 'no roles'}\n`,
        );
        for (const t of r.tasks) await write(`TASK re-custody ${t.keyId}: ${t.reason}\n`);
        for (const w of r.warnings) await write(`WARN ${w}\n`);
        if (r.tasks.length) process.exitCode = EXIT.findings;
      });
    });

  common(
    p.command('request').description('Open an approval request for a sensitive operation; prints its id'),
  )
    .argument('<operation>', OPERATIONS.join(' | '))
    .requiredOption('--key <id>', 'key identity the operation acts on')
    .requiredOption('--as <person>', 'the requester')
    .option('--param <name=value...>', 'operation parameters (e.g. digest=..., policyDigest=...)')
    .action(async (operation: string, o: LogOpts & { key: string; param?: string[] }) => {
      if (!isOperation(operation))
        throw new GovernError('BAD_ARGUMENT', `"${operation}" is not one of ${OPERATIONS.join(', ')}`);
      await withLog(o, async (log, dir) => {
        const policy = await policyInForce(log, o);
        const r = createRequest({
          operation,
          keyId: o.key,
          requester: o.as!,
          policyDigest: policy.digest,
          parameters: params(o.param),
        });
        if (!rulesFor(policy, operation, o.key, { ...r, createdAt: new Date(r.createdAt) }).length)
          process.stderr.write(
            `keywarden: warning: no rule of policy version ${policy.version} covers ${operation} on ${o.key}; it cannot be approved\n`,
          );
        await write(saveRequest(dir, r) + '\n');
      });
    });

  common(
    p
      .command('approve')
      .description('Sign an approval (or rejection) of a request with your own Ed25519 key'),
  )
    .argument('<request>', 'request id')
    .requiredOption('--as <person>', 'the approver (as on the roster)')
    .requiredOption('--key <file>', 'your Ed25519 private key (PEM); read, never stored')
    .option('--reject', 'sign a rejection instead')
    .action(async (id: string, o: LogOpts & { key: string; reject?: boolean }) => {
      await withLog(o, async (log, dir) => {
        const r: ApprovalRequest = loadRequest(dir, id);
        const person = replay(log).roster.personAt(o.as!, Date.now());
        if (!person) throw new GovernError('BAD_ARGUMENT', `${o.as} is not on the roster`);
        const a = signApproval(r, o.as!, o.reject ? 'reject' : 'approve', readPrivateKey(o.key));
        if (!verifyApproval(a, person.publicKey))
          throw new GovernError(
            'BAD_ARGUMENT',
            `${o.key} is not the key ${o.as} holds on the roster; nothing recorded`,
          );
        const i = await recordApproval(log, r, a);
        const st = quorumFromLog(log, r, Date.now());
        const mine = st.approvals.find((x) => x.approver === o.as);
        if (mine && !mine.counted && mine.decision === 'approve')
          process.stderr.write(
            `keywarden: warning: your approval does not count: ${mine.reasons.map((x) => x.detail).join('; ')}\n`,
          );
        await write(
          `${a.payload.decision} by ${o.as} recorded (log index ${i}); quorum ${st.met ? 'met' : 'not met'}\n`,
        );
      });
    });

  common(
    p
      .command('approvals')
      .description('Quorum status of a request, judged from the log: exit 0 met, 1 not met'),
  )
    .argument('<request>', 'request id')
    .option('--at <date>', 'judge at this instant (default: now)')
    .option('--json', 'as JSON')
    .action(async (id: string, o: LogOpts & { at?: string }) => {
      await withLog(
        o,
        async (log, dir) => {
          const r = quorumFromLog(log, loadRequest(dir, id), instant(o.at, '--at'));
          await printQuorum(r, o.json);
          if (!r.met) process.exitCode = EXIT.findings;
        },
        true,
      );
    });

  const quorum = p.command('quorum').description('The quorum policy recorded in the evidence log');
  common(
    quorum
      .command('apply')
      .description(
        'Record the policy file as the policy in force (a change needs an approved policy-change request)',
      ),
  )
    .option('--as <person>', 'who makes the change')
    .option('--request <id>', 'approved policy-change request with --param policyDigest=<new digest>')
    .action(async (o: LogOpts) => {
      const policy = loadQuorumPolicy(policyFile(o));
      await withLog(o, async (log, dir) => {
        const request = o.request ? loadRequest(dir, o.request) : undefined;
        const i = await recordPolicy(log, policy, { actor: o.as ?? 'cli', ...(request && { request }) });
        await write(`policy version ${policy.version} ${policy.digest} in force (log index ${i})\n`);
      });
    });
  common(
    quorum
      .command('show')
      .description('The policy in force, its hash, and keys at or below their custody quorum'),
  )
    .option('--json', 'as JSON')
    .action(async (o: LogOpts) => {
      await withLog(
        o,
        async (log) => {
          const st = replay(log);
          if (!st.policy)
            throw new GovernError(
              'BAD_ARGUMENT',
              'no quorum policy recorded in the log yet (keywarden quorum apply)',
            );
          const gaps = custodyGaps(st.roster, st.policy, Date.now());
          if (o.json)
            return write(
              JSON.stringify(
                { version: st.policy.version, digest: st.policy.digest, policy: st.policy.document, gaps },
                null,
                2,
              ) + '\n',
            );
          await write(`policy version ${st.policy.version} ${st.policy.digest}\n`);
          for (const g of gaps)
            await write(
              `${g.status === 'below' ? 'BELOW ' : 'MARGIN'} ${g.keyId}: ${g.holders.length} of ${g.needed} ${g.role} (rule ${g.rule})\n`,
            );
        },
        true,
      );
    });
}
