import { GovernError } from '../error.ts';
import { digestOf, type Digest } from '../policy/canonical.ts';
import { entriesOf, type GovernLog, type ReadableLog } from './governed-log.ts';
import { normalisePublicKey } from './public-key.ts';
import { Roster, type RosterStatement } from './roster.ts';

const PERSON_ID = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9-]{0,63}$/;

/** Who made a change and, when the policy asks for one, the request whose quorum authorised it. */
export interface ChangeContext {
  actor: string;
  at?: number;
  requestDigest?: Digest;
}

/** The roster as of an instant, from the log (entries appended after `upTo` are not seen). */
export function rosterAt(
  log: ReadableLog,
  instant: number,
  upTo = log.size,
): { roster: Roster; snapshot: ReturnType<Roster['snapshot']> } {
  const roster = Roster.fromStatements(entriesOf(log, upTo));
  return { roster, snapshot: roster.snapshot(instant) };
}

export function loadRoster(log: ReadableLog, upTo = log.size): Roster {
  return Roster.fromStatements(entriesOf(log, upTo));
}

/** Checks the change against the replayed roster first, so an inconsistent change is never logged. */
async function record(log: GovernLog, s: RosterStatement): Promise<number> {
  const roster = loadRoster(log);
  roster.apply(s);
  const withDigest: RosterStatement = { ...s, rosterDigest: digestOf(roster.snapshot(Date.parse(s.at))) };
  return log.append(withDigest);
}

function base(
  ctx: ChangeContext,
  person: string,
): Pick<RosterStatement, 'type' | 'at' | 'actor' | 'person' | 'requestDigest'> {
  if (!PERSON_ID.test(person))
    throw new GovernError('BAD_ARGUMENT', `person id "${person}" must match ${PERSON_ID.source}`);
  return {
    type: 'roster.changed',
    at: new Date(ctx.at ?? Date.now()).toISOString(),
    actor: ctx.actor,
    person,
    ...(ctx.requestDigest && { requestDigest: ctx.requestDigest }),
  };
}

export async function addPerson(
  log: GovernLog,
  p: { id: string; name: string; email?: string; publicKey: string },
  ctx: ChangeContext,
): Promise<number> {
  if (p.name.length > 200 || (p.email && p.email.length > 200))
    throw new GovernError('BAD_ARGUMENT', `${p.id}: name or email too long`);
  return record(log, {
    ...base(ctx, p.id),
    change: 'added',
    name: p.name,
    ...(p.email && { email: p.email }),
    publicKey: normalisePublicKey(p.publicKey, p.id),
  });
}

export async function grantRole(
  log: GovernLog,
  g: { person: string; role: string; scope?: string; validFrom?: number; validUntil?: number },
  ctx: ChangeContext,
): Promise<number> {
  if (!ROLE.test(g.role)) throw new GovernError('BAD_ARGUMENT', `role "${g.role}" must match ${ROLE.source}`);
  return record(log, {
    ...base(ctx, g.person),
    change: 'role-granted',
    role: g.role,
    ...(g.scope && { scope: g.scope }),
    ...(g.validFrom !== undefined && { validFrom: new Date(g.validFrom).toISOString() }),
    ...(g.validUntil !== undefined && { validUntil: new Date(g.validUntil).toISOString() }),
  });
}

export async function revokeRole(
  log: GovernLog,
  g: { person: string; role: string; scope?: string },
  ctx: ChangeContext,
): Promise<number> {
  return record(log, {
    ...base(ctx, g.person),
    change: 'role-revoked',
    role: g.role,
    ...(g.scope && { scope: g.scope }),
  });
}

export async function removePerson(log: GovernLog, person: string, ctx: ChangeContext): Promise<number> {
  return record(log, { ...base(ctx, person), change: 'removed' });
}
