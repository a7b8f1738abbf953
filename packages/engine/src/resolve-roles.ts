import {
  checkTufSignatures,
  type RoleSummary,
  type TufAuthority,
  type TufKey,
  type TufMetadata,
} from '@keywarden/core';
import type { AssetRow, EdgeInput, Store } from '@keywarden/store';
import { signedByEdges } from './role-edges.ts';

/**
 * A TUF/Uptane role other than root is signed by keys another file lists: root for the top-level
 * roles, the delegating targets for a delegated role. Once the scan has stored every metadata file,
 * this pass finds each pending role's authority in the same repository directory (the highest
 * version present), checks the signatures against it and the threshold, and records the outcome
 * with a delegates edge from the authority to the role. Root rotation is checked the same way: root
 * v(N+1) must carry a threshold of root vN's root keys.
 */

interface Role {
  readonly row: AssetRow;
  readonly r: RoleSummary;
  readonly dirs: ReadonlySet<string>;
}

const dirOf = (path: string): string => {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('!'));
  return i < 0 ? '' : path.slice(0, i);
};

export async function resolveRoles(store: Store, at = Date.now()): Promise<{ checked: number }> {
  const roles: Role[] = [];
  for await (const row of store.assets({ kind: 'role' }))
    roles.push({
      row,
      r: row.record as RoleSummary,
      dirs: new Set(row.occurrences.map((o) => dirOf(o.path))),
    });
  let checked = 0;
  for (const role of roles) {
    const { r } = role;
    const authority =
      r.type === 'root'
        ? previousRoot(roles, role)
        : best(roles, role, (c) =>
            r.type === 'delegated'
              ? (c.r.type === 'targets' || c.r.type === 'delegated') &&
                c.r.delegations.some((d) => d.name === r.name)
              : c.r.type === 'root',
          );
    if (!authority || !r.pending) continue;
    if (r.type === 'root') {
      const rotation = verify(role, authority, 'root');
      if (!rotation) continue;
      checked++;
      const { pending: _p, ...rest } = r;
      void _p;
      await store.amendAsset(
        role.row.id,
        {
          record: {
            ...rest,
            rotation: {
              from: authority.r.version,
              thresholdMet: rotation.thresholdMet,
              validKeys: rotation.validKeys,
              threshold: rotation.threshold,
            },
          },
        },
        rotation.thresholdMet === true ? [rotationEdge(authority, role)] : [],
        at,
      );
      continue;
    }
    const check = verify(role, authority, r.name);
    if (!check) continue;
    checked++;
    const { pending: _pending, ...rest } = r;
    void _pending;
    const record: RoleSummary = {
      ...rest,
      signatures: check.signatures,
      thresholdMet: check.thresholdMet,
      validKeys: check.validKeys,
      ...(check.threshold !== undefined && { threshold: check.threshold }),
      authority: { role: authority.r.name, version: authority.r.version },
    };
    const spec = [...authority.r.delegations].find((d) => d.name === r.name);
    const edges: EdgeInput[] = [
      ...signedByEdges(record, role.row.id),
      {
        kind: 'delegates',
        from: authority.row.id,
        to: role.row.id,
        reason:
          `${authority.r.name} v${authority.r.version} delegates ${r.name} to ${spec?.keyIds.length ?? 0} keys, ` +
          `threshold ${spec?.threshold ?? '?'}; v${r.version} carries ${check.validKeys} valid (${check.thresholdMet ? 'met' : 'not met'})`,
      },
    ];
    await store.amendAsset(role.row.id, { record }, edges, at);
  }
  return { checked };
}

const sharesDir = (a: Role, b: Role): boolean => [...a.dirs].some((d) => b.dirs.has(d));
const sameRepository = (a: Role, b: Role): boolean =>
  !a.r.repository || !b.r.repository || a.r.repository === b.r.repository;

/** The highest-version role in the same directory and repository that matches. */
function best(roles: readonly Role[], role: Role, match: (c: Role) => boolean): Role | undefined {
  let out: Role | undefined;
  for (const c of roles)
    if (c !== role && match(c) && sharesDir(c, role) && sameRepository(c, role))
      if (!out || c.r.version > out.r.version) out = c;
  return out;
}

function previousRoot(roles: readonly Role[], role: Role): Role | undefined {
  return best(roles, role, (c) => c.r.type === 'root' && c.r.version === role.r.version - 1);
}

/** Only a rotation the old root keys signed supersedes; one they did not is a finding, not an edge. */
function rotationEdge(old: Role, successor: Role): EdgeInput {
  return {
    kind: 'supersedes',
    from: successor.row.id,
    to: old.row.id,
    reason: `root v${successor.r.version} carries a threshold of root v${old.r.version}'s root keys`,
  };
}

/** Check `role`'s signatures against what `authority` says about role `name`. */
function verify(
  role: Role,
  authority: Role,
  name: string,
): ReturnType<typeof checkTufSignatures> | undefined {
  const spec = authority.r.delegations.find((d) => d.name === name);
  const pending = role.r.pending;
  if (!spec || !pending) return undefined;
  const keys = new Map<string, TufKey>();
  for (const k of authority.r.keys)
    keys.set(k.declaredKeyId, {
      declaredKeyId: k.declaredKeyId,
      computedKeyId: k.declaredKeyId,
      keytype: k.keytype,
      scheme: k.scheme,
      ...(k.keyId && { keyId: k.keyId }),
      ...(k.spki && { spki: Buffer.from(k.spki, 'base64') }),
    });
  const meta: TufMetadata = {
    type: role.r.type === 'delegated' ? 'targets' : role.r.type,
    version: role.r.version,
    keys: new Map(),
    roles: [],
    delegations: [],
    targetsCount: role.r.targets,
    signatures: pending.signatures,
    signedBytes: Buffer.from(pending.signed, 'base64'),
  };
  const auth: TufAuthority = { keys, role: spec };
  return checkTufSignatures(meta, auth);
}
