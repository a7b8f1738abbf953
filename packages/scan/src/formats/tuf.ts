import { hash } from 'node:crypto';
import { checkTufSignatures, isTufMetadata, parseTufMetadata, type RoleSummary } from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * TUF and Uptane metadata, found by content (`signed._type` plus `signatures`), not by name: one
 * role observation per file, and a public-key observation per declared key so a root key links to
 * the same key met elsewhere (a PEM file, a certificate). Only root can be checked from its own file;
 * other roles' signatures stay unverified here, with the threshold 'unknown'.
 */

/** Signed bytes above this are not carried to the cross-file check (a targets file of ~10k images fits). */
const MAX_PENDING = 2 * 1024 * 1024;

const TOP_LEVEL = new Set(['root', 'targets', 'snapshot', 'timestamp']);

/** The role a file name implies: `3.root.json` and `unclaimed.json` → root, unclaimed. */
function roleFromName(name: string | undefined): string | undefined {
  const base = name?.split(/[\\/!]/).pop();
  const m = base && /^(?:\d+\.)?(.+)\.json$/i.exec(base);
  return m?.[1];
}

/** Uptane's two repositories sit under directories named for them in the reference layouts. */
function repositoryFromPath(name: string | undefined): RoleSummary['repository'] {
  if (!name) return undefined;
  if (/(^|[\\/])director([\\/]|$)/i.test(name)) return 'director';
  if (/(^|[\\/])(image|images|image-repo)([\\/]|$)/i.test(name)) return 'image';
  return undefined;
}

export function detectTuf(buf: Buffer, name?: string): Detected[] {
  if (!isTufMetadata(buf)) return [];
  let meta;
  try {
    meta = parseTufMetadata(buf);
  } catch (err) {
    return [
      {
        type: 'unparseable',
        offset: 0,
        encoding: 'json',
        format: 'tuf',
        reason: err instanceof Error ? err.message : String(err),
      },
    ];
  }
  const named = roleFromName(name);
  const delegated = meta.type === 'targets' && named !== undefined && !TOP_LEVEL.has(named);
  const check = checkTufSignatures(meta);
  const own = meta.type === 'root' ? meta.roles.find((r) => r.name === 'root') : undefined;
  const repository = repositoryFromPath(name) ?? meta.uptane;
  const keys = [...meta.keys.values()];
  const role: RoleSummary = {
    name: delegated ? named : meta.type,
    type: delegated ? 'delegated' : meta.type,
    ...(repository && { repository }),
    version: meta.version,
    ...(meta.specVersion !== undefined && { specVersion: meta.specVersion }),
    ...(meta.expires !== undefined && { expires: meta.expires }),
    ...(own && { threshold: own.threshold }),
    keys: keys.map((k) => ({
      ...(k.keyId && { keyId: k.keyId }),
      declaredKeyId: k.declaredKeyId,
      keytype: k.keytype,
      scheme: k.scheme,
      ...(k.algorithm !== undefined && { algorithm: k.algorithm }),
      ...(k.size !== undefined && { size: k.size }),
      ...(k.curve !== undefined && { curve: k.curve }),
      ...(k.spki && { spki: k.spki.toString('base64') }),
    })),
    delegations: [...meta.roles, ...meta.delegations].map((d) => ({
      name: d.name,
      threshold: d.threshold,
      keyIds: d.keyIds,
      ...(d.paths && { paths: d.paths }),
      ...(d.terminating !== undefined && { terminating: d.terminating }),
    })),
    signatures: check.signatures,
    thresholdMet: check.thresholdMet,
    ...(check.thresholdMet !== 'unknown' && { validKeys: check.validKeys }),
    ...((check.thresholdMet === 'unknown' || (meta.type === 'root' && meta.version > 1)) &&
      meta.signedBytes.length <= MAX_PENDING && {
        pending: { signed: meta.signedBytes.toString('base64'), signatures: meta.signatures },
      }),
    targets: meta.targetsCount,
    sha256: hash('sha256', buf, 'hex'),
  };
  const out: Detected[] = [{ type: 'role', offset: 0, encoding: 'json', role }];
  for (const k of keys) {
    if (!k.keyId || !k.algorithm) continue;
    out.push({
      type: 'public-key',
      offset: 0,
      encoding: 'json',
      format: 'tuf',
      key: {
        keyId: k.keyId,
        algorithm: k.algorithm,
        ...(k.size !== undefined && { size: k.size }),
        ...(k.curve !== undefined && { curve: k.curve }),
      },
    });
  }
  return out;
}
