/**
 * TUF metadata written by python-securesystemslib, scanned as a tree: every role is stored, the
 * roles signed by keys another file lists are checked after the scan, and the graph and findings
 * show delegation, rotation and the gaps.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RoleSummary } from '@keywarden/core';
import type { AssetRow } from '@keywarden/store';
import { SECURESYSTEMSLIB, SYSTEM_PYTHON, toolsMissing, tufRepository } from '@keywarden/testkit';
import { openTestStore } from '../../store/src/dialects.test-helper.ts';
import { analyzeChains } from './chains.ts';
import { trustGraph } from './graph.ts';
import { runScan } from './scan-job.ts';
import { gapFindings } from './trust-findings.ts';

describe('TUF repositories in a scan', { skip: toolsMissing(SYSTEM_PYTHON, SECURESYSTEMSLIB) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-tuf-scan-'));
  const repo = join(dir, 'estate', 'repo');
  const at = Date.UTC(2026, 11, 1);
  let ctx: Awaited<ReturnType<typeof openTestStore>>;
  const roles: AssetRow[] = [];
  const role = (path: string): AssetRow => {
    const r = roles.find((x) => x.occurrences.some((o) => o.path.endsWith(path)));
    assert.ok(r, `no role stored for ${path}`);
    return r;
  };
  const summary = (path: string): RoleSummary => role(path).record as RoleSummary;

  before(async () => {
    mkdirSync(repo, { recursive: true });
    tufRepository(repo);
    // The same root beside a targets file changed after signing, and a snapshot with no root.
    const tampered = join(dir, 'estate', 'tampered');
    mkdirSync(tampered);
    cpSync(join(repo, 'root.json'), join(tampered, 'root.json'));
    const t = JSON.parse(readFileSync(join(repo, 'targets.json'), 'utf8')) as { signed: { version: number } };
    t.signed.version = 8;
    writeFileSync(join(tampered, 'targets.json'), JSON.stringify(t));
    mkdirSync(join(dir, 'estate', 'orphan'));
    // Same signed content in other whitespace: another file, with no root beside it.
    const snap: unknown = JSON.parse(readFileSync(join(repo, 'snapshot.json'), 'utf8'));
    writeFileSync(join(dir, 'estate', 'orphan', 'snapshot.json'), JSON.stringify(snap));
    ctx = await openTestStore('sqlite');
    await runScan({ roots: [join(dir, 'estate')], store: ctx.store, at, threads: 0 });
    for await (const r of ctx.store.assets({ kind: 'role' })) roles.push(r);
  });
  after(async () => {
    await ctx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each metadata file is a role with version, expiry, keys and delegations', () => {
    // repo: roots v2 and v3, targets, unclaimed, snapshot, timestamp; rogue/2.root.json is repo's v2.
    assert.equal(roles.length, 9);
    const root = summary('repo/root.json');
    assert.equal(root.type, 'root');
    assert.equal(root.version, 3);
    assert.equal(root.expires, Date.UTC(2031, 0, 1));
    assert.equal(root.thresholdMet, true);
    assert.deepEqual(root.delegations.map((d) => `${d.name}:${d.threshold}/${d.keyIds.length}`).sort(), [
      'root:1/1',
      'snapshot:1/1',
      'targets:2/2',
      'timestamp:1/1',
    ]);
    const targets = summary('repo/targets.json');
    assert.equal(targets.repository, 'director', 'ecu_identifier in custom marks the Uptane director');
    assert.equal(summary('repo/unclaimed.json').type, 'delegated');
  });

  test('targets, snapshot and timestamp are checked against root after the scan', () => {
    const targets = summary('repo/targets.json');
    assert.equal(targets.thresholdMet, true);
    assert.equal(targets.validKeys, 2);
    assert.equal(targets.threshold, 2);
    assert.deepEqual(targets.authority, { role: 'root', version: 3 });
    assert.equal(targets.pending, undefined);
    for (const name of ['repo/snapshot.json', 'repo/timestamp.json'])
      assert.equal(summary(name).thresholdMet, true, name);
    const unclaimed = summary('repo/unclaimed.json');
    assert.equal(unclaimed.thresholdMet, true);
    assert.deepEqual(unclaimed.authority, { role: 'targets', version: 7 });
  });

  test('a tampered targets file fails its threshold; a role with no root beside it stays unchecked', () => {
    const bad = summary('tampered/targets.json');
    assert.equal(bad.thresholdMet, false);
    assert.deepEqual(
      bad.signatures.map((s) => s.status),
      ['invalid', 'invalid'],
    );
    const orphan = summary('orphan/snapshot.json');
    assert.equal(orphan.thresholdMet, 'unknown');
    assert.ok(orphan.pending, 'kept for a later scan that brings its root');
    assert.equal(orphan.signatures[0]?.status, 'unverified');
  });

  test('root rotation: v3 signed by v2 supersedes it; the rogue v3 does not', async () => {
    assert.equal(summary('repo/root.json').rotation?.thresholdMet, true);
    assert.equal(summary('rogue/3.root.json').rotation?.thresholdMet, false);
    const edges = await ctx.store.edges({ kind: 'supersedes' });
    assert.deepEqual(
      edges.map((e) => [e.from, e.to]),
      [[role('repo/root.json').id, role('repo/2.root.json').id]],
    );
  });

  test('graph: delegates with thresholds, trusts for root keys, signed-by, and the TUF key is the PEM key', async () => {
    const g = await trustGraph(ctx.store, await analyzeChains(ctx.store, { at }));
    const root = role('repo/root.json').id;
    const targets = role('repo/targets.json').id;
    const d = g.edges.find((e) => e.kind === 'delegates' && e.from === root && e.to === targets);
    assert.match(d?.reason ?? '', /threshold 2; v7 carries 2 valid \(met\)/);
    const trusts = g.edges.filter((e) => e.kind === 'trusts' && e.from === root);
    assert.equal(trusts.length, 1);
    const signedBy = g.edges.filter((e) => e.kind === 'signed-by' && e.from === targets);
    assert.equal(signedBy.length, 2);
    // targets-signer.pub.pem holds one of the targets keys: one key node, also the delegate of root.
    const keys: AssetRow[] = [];
    for await (const k of ctx.store.assets({ kind: 'key' })) keys.push(k);
    const pem = keys.find((k) => k.occurrences.some((o) => o.path.endsWith('targets-signer.pub.pem')));
    assert.ok(pem?.keyId);
    assert.ok(
      pem.occurrences.some((o) => o.format === 'tuf'),
      'the same key is seen in root.json',
    );
    assert.ok(g.edges.some((e) => e.kind === 'delegates' && e.from === root && e.to === `key:${pem.keyId}`));
    assert.ok(g.nodes.some((n) => n.id === root && n.label === 'TUF root v3'));
  });

  test('findings: expired timestamp, tampered threshold, rogue rotation', async () => {
    const f = await gapFindings(ctx.store, await analyzeChains(ctx.store, { at }), { at });
    const of = (rule: string) => f.filter((x) => x.rule === rule).map((x) => x.subject);
    assert.deepEqual(of('KW-TUF-ROLE-EXPIRED'), [role('repo/timestamp.json').identity]);
    assert.deepEqual(of('KW-TUF-THRESHOLD-NOT-MET'), [role('tampered/targets.json').identity]);
    assert.deepEqual(of('KW-TUF-ROOT-ROTATION-UNSIGNED'), [role('rogue/3.root.json').identity]);
    assert.deepEqual(of('KW-TUF-ROLE-UNVERIFIED'), [role('orphan/snapshot.json').identity]);
    assert.deepEqual(of('KW-TUF-ROOT-KEY-ONLINE'), []);
    // Before the timestamp expired, it is not a finding.
    const early = await gapFindings(ctx.store, await analyzeChains(ctx.store, { at: Date.UTC(2019, 0, 1) }), {
      at: Date.UTC(2019, 0, 1),
    });
    assert.equal(early.filter((x) => x.rule === 'KW-TUF-ROLE-EXPIRED').length, 0);
  });
});
