import type { RosterChanged, Statement } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import { keyMatches } from '../policy/operations.ts';

export interface Person {
  id: string;
  name: string;
  email?: string;
  /** Raw Ed25519 public key, base64. */
  publicKey: string;
  addedAt: number;
  removedAt?: number;
}

export interface Grant {
  person: string;
  role: string;
  /** Key pattern the role is limited to (a key id or e.g. `fw-*`); absent means every key. */
  scope?: string;
  from: number;
  until?: number;
  /** Log index of the statement that granted it. */
  index?: number;
}

/** The fields govern adds to a roster.changed statement (the log carries any extra fields). */
export interface RosterStatement extends RosterChanged {
  name?: string;
  email?: string;
  publicKey?: string;
  scope?: string;
  validFrom?: string;
  validUntil?: string;
  /** The approval request whose quorum authorised this change, if the policy asked for one. */
  requestDigest?: `sha256:${string}`;
}

export const isRosterStatement = (s: Statement): s is RosterStatement => s.type === 'roster.changed';

const inForce = (from: number, until: number | undefined, t: number): boolean =>
  from <= t && (until === undefined || t < until);

/**
 * The roster's whole history, rebuilt from roster.changed statements in log order. Every question is
 * asked at an instant, so "who held release-custodian when this approval was signed" has one answer
 * that anyone replaying the same log gets too.
 */
export class Roster {
  readonly people = new Map<string, Person>();
  readonly grants: Grant[] = [];

  static fromStatements(entries: Iterable<{ index?: number; statement: Statement }>): Roster {
    const r = new Roster();
    for (const { index, statement } of entries) if (isRosterStatement(statement)) r.apply(statement, index);
    return r;
  }

  /** Applies one change; an inconsistent change (unknown person, role on a removed person) throws. */
  apply(s: RosterStatement, index?: number): void {
    const at = Date.parse(s.at);
    const where = index === undefined ? 'roster change' : `roster change at log index ${index}`;
    const person = this.people.get(s.person);
    switch (s.change) {
      case 'added': {
        if (person && person.removedAt === undefined)
          throw new GovernError('BAD_ARGUMENT', `${where}: ${s.person} is already on the roster`);
        if (!s.publicKey || !s.name)
          throw new GovernError('BAD_ARGUMENT', `${where}: adding ${s.person} needs a name and a public key`);
        this.people.set(s.person, {
          id: s.person,
          name: s.name,
          ...(s.email && { email: s.email }),
          publicKey: s.publicKey,
          addedAt: at,
        });
        return;
      }
      case 'removed':
        this.#active(person, s.person, where, at).removedAt = at;
        for (const g of this.grants)
          if (g.person === s.person && (g.until === undefined || g.until > at))
            g.until = Math.max(at, g.from);
        return;
      case 'role-granted': {
        this.#active(person, s.person, where, at);
        if (!s.role) throw new GovernError('BAD_ARGUMENT', `${where}: a grant names a role`);
        const from = s.validFrom ? Date.parse(s.validFrom) : at;
        const until = s.validUntil ? Date.parse(s.validUntil) : undefined;
        if (Number.isNaN(from) || (until !== undefined && (Number.isNaN(until) || until <= from)))
          throw new GovernError(
            'BAD_ARGUMENT',
            `${where}: validity of ${s.role} for ${s.person} is not a valid interval`,
          );
        this.grants.push({
          person: s.person,
          role: s.role,
          ...(s.scope && { scope: s.scope }),
          from,
          ...(until !== undefined && { until }),
          ...(index !== undefined && { index }),
        });
        return;
      }
      case 'role-revoked': {
        this.#active(person, s.person, where, at);
        const hit = this.grants.filter(
          (g) =>
            g.person === s.person &&
            g.role === s.role &&
            g.scope === s.scope &&
            (g.until === undefined || g.until > at),
        );
        if (!hit.length)
          throw new GovernError(
            'BAD_ARGUMENT',
            `${where}: ${s.person} holds no ${s.role}${s.scope ? ` for ${s.scope}` : ''} to revoke`,
          );
        for (const g of hit) g.until = Math.max(at, g.from);
        return;
      }
    }
  }

  #active(p: Person | undefined, id: string, where: string, at: number): Person {
    if (!p || p.removedAt !== undefined || p.addedAt > at)
      throw new GovernError('BAD_ARGUMENT', `${where}: ${id} is not on the roster`);
    return p;
  }

  /** The person as on the roster at `t`, or undefined if not on it then. */
  personAt(id: string, t: number): Person | undefined {
    const p = this.people.get(id);
    return p && p.addedAt <= t && (p.removedAt === undefined || t < p.removedAt) ? p : undefined;
  }

  /** Grants in force at `t` (of people on the roster at `t`). */
  grantsAt(t: number): Grant[] {
    return this.grants.filter((g) => inForce(g.from, g.until, t) && this.personAt(g.person, t));
  }

  /** Does `person` hold `role` for `keyId` at `t`? A scoped grant counts only for keys it matches. */
  holds(person: string, role: string, keyId: string, t: number): boolean {
    return this.grantsAt(t).some(
      (g) => g.person === person && g.role === role && (!g.scope || keyMatches(g.scope, keyId)),
    );
  }

  /** Distinct people holding `role` for `keyId` at `t`. */
  holders(role: string, keyId: string, t: number): string[] {
    const ids = new Set(
      this.grantsAt(t)
        .filter((g) => g.role === role && (!g.scope || keyMatches(g.scope, keyId)))
        .map((g) => g.person),
    );
    return [...ids].sort();
  }

  /** A snapshot for display and for the roster digest: people and their roles in force at `t`. */
  snapshot(t: number): RosterSnapshot {
    const people = [...this.people.values()]
      .filter((p) => this.personAt(p.id, t))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((p) => ({
        id: p.id,
        name: p.name,
        ...(p.email && { email: p.email }),
        publicKey: p.publicKey,
        roles: this.grantsAt(t)
          .filter((g) => g.person === p.id)
          .map((g) => ({
            role: g.role,
            ...(g.scope && { scope: g.scope }),
            ...(g.until !== undefined && { until: new Date(g.until).toISOString() }),
          }))
          .sort((a, b) => (`${a.role} ${a.scope ?? ''}` < `${b.role} ${b.scope ?? ''}` ? -1 : 1)),
      }));
    return { at: new Date(t).toISOString(), people };
  }
}

export interface RosterSnapshot {
  at: string;
  people: {
    id: string;
    name: string;
    email?: string;
    publicKey: string;
    roles: { role: string; scope?: string; until?: string }[];
  }[];
}
