import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bitString, hasTool, needTools, oid, tlv, toPem } from '@keywarden/testkit';
import { openTestStore } from '../../store/src/dialects.test-helper.ts';
import { parseOrgPolicy } from '../../analyze/src/policy/org-policy.ts';
import { policyCheck, pqcReadiness, type PolicyRow } from './policy-check.ts';
import { runScan } from './scan-job.ts';

const t = (d: string) => Date.parse(d + 'T00:00:00Z');
const AT = t('2027-01-01');

// Self-signed certificates made by openssl: the names our parser records are what the rules must match.
function makeTree(root: string): void {
  const cert = (dir: string, name: string, newkey: string[], digest: string[]) => {
    mkdirSync(join(root, dir), { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-nodes',
        ...newkey,
        ...digest,
        '-days',
        '30',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        join(root, dir, `${name}.key`),
        '-out',
        join(root, dir, `${name}.pem`),
      ],
      { stdio: 'pipe' },
    );
  };
  cert('a', 'rsa.example', ['-newkey', 'rsa:2048'], ['-sha256']);
  cert('a', 'ec.example', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-sha256']);
  cert('b', 'ed.example', ['-newkey', 'ed25519'], []);
  cert('b', 'sha1.example', ['-newkey', 'rsa:3072'], ['-sha1']);
  // Debian's OpenSSL 3.0 cannot make ML-DSA keys: an SPKI with the FIPS 204 OID and a key of the
  // ML-DSA-65 public-key length stands in (the policy only reads the algorithm).
  const spki = tlv(0x30, tlv(0x30, oid('2.16.840.1.101.3.4.3.18')), bitString(Buffer.alloc(1952, 7)));
  writeFileSync(join(root, 'b', 'mldsa.pub.pem'), toPem('PUBLIC KEY', spki));
  // An encrypted key whose algorithm the scanner cannot read: it must come out 'unknown'.
  execFileSync('openssl', [
    'pkey',
    '-in',
    join(root, 'b', 'ed.example.key'),
    '-aes256',
    '-passout',
    'pass:pw',
    '-out',
    join(root, 'b', 'sealed.key'),
  ]);
}

describe('policy check over a scanned SQLite store', () => {
  let root = '';
  let ctx: Awaited<ReturnType<typeof openTestStore>> | undefined;
  before(async () => {
    if (!hasTool('openssl')) return; // each test then skips, naming the package
    root = mkdtempSync(join(tmpdir(), 'kw-policy-'));
    makeTree(root);
    ctx = await openTestStore('sqlite');
    await runScan({ roots: [root], store: ctx.store, threads: 0, at: AT });
  });
  after(async () => {
    await ctx?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const cert = (rows: PolicyRow[], cn: string): PolicyRow => {
    const r = rows.find((x) => x.kind === 'certificate' && x.subject.includes(cn));
    assert.ok(r, `${cn} listed`);
    return r;
  };

  test('parser names meet the NIST rules: key and hash judged separately', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const pc = await policyCheck(ctx.store, { at: AT, authority: 'nist' });
    const rsa = cert(pc.rows, 'rsa.example');
    assert.deepEqual(
      [rsa.algorithm, rsa.size, rsa.signatureAlgorithm, rsa.status, rsa.key.rule, rsa.hash?.rule],
      ['RSA', 2048, 'sha256WithRSAEncryption', 'acceptable', 'nist-rsa-112', 'nist-sha2'],
    );
    assert.deepEqual(rsa.nextChange, { status: 'deprecated', from: '2031-01-01' });
    assert.equal(rsa.keyDisallowedFrom, '2036-01-01');
    assert.equal(rsa.quantumVulnerable, true);

    const ec = cert(pc.rows, 'ec.example');
    assert.deepEqual(
      [ec.algorithm, ec.curve, ec.signatureAlgorithm, ec.status, ec.key.rule],
      ['EC', 'P-256', 'ecdsa-with-SHA256', 'acceptable', 'nist-ec'],
    );
    const ed = cert(pc.rows, 'ed.example');
    assert.deepEqual(
      [ed.algorithm, ed.signatureAlgorithm, ed.status, ed.key.rule, ed.hash],
      ['Ed25519', 'Ed25519', 'acceptable', 'nist-eddsa', undefined],
    );
    const sha1 = cert(pc.rows, 'sha1.example');
    assert.deepEqual(
      [sha1.size, sha1.signatureAlgorithm, sha1.key.status, sha1.status, sha1.rule],
      [3072, 'sha1WithRSAEncryption', 'acceptable', 'disallowed', 'nist-sha1'],
    );

    const rsaKey = pc.rows.find(
      (r) => r.kind === 'key' && r.paths.some((p) => p.endsWith('rsa.example.key')),
    );
    assert.deepEqual([rsaKey?.algorithm, rsaKey?.size, rsaKey?.status], ['RSA', 2048, 'acceptable']);
    const ml = pc.rows.find((r) => r.kind === 'key' && r.paths.some((p) => p.endsWith('mldsa.pub.pem')));
    assert.deepEqual([ml?.algorithm, ml?.status, ml?.quantumVulnerable], ['ML-DSA-65', 'acceptable', false]);

    const sealed = pc.rows.find((r) => r.paths.some((p) => p.endsWith('sealed.key')));
    assert.deepEqual(
      [sealed?.kind, sealed?.status, sealed?.quantumVulnerable],
      ['key', 'unknown', 'unknown'],
    );
    assert.ok(!('curve' in rsa) && !('size' in ed.key), 'absent columns stay absent');

    assert.equal(pc.rows.filter((r) => r.kind === 'certificate').length, 4);
    assert.equal(
      pc.counts.unknown,
      1,
      'every openssl-made algorithm has a rule; only the sealed key is unknown',
    );
    const total = Object.values(pc.counts).reduce((a, b) => a + b, 0);
    assert.equal(total, pc.rows.length);
    assert.equal(pc.counts.disallowed, 1);
  });

  test('the day a transition happens is an input', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const before = await policyCheck(ctx.store, { at: t0('2030-12-31'), authority: 'nist' });
    const on = await policyCheck(ctx.store, { at: t0('2031-01-01'), authority: 'nist' });
    assert.equal(cert(before.rows, 'rsa.example').status, 'acceptable');
    assert.equal(cert(on.rows, 'rsa.example').status, 'deprecated');
    assert.equal(cert(on.rows, 'ec.example').status, 'acceptable', 'P-256 is 128-bit: no deprecation step');
  });

  test('BSI, organisation overrides and a bad authority', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const bsi = await policyCheck(ctx.store, { at: AT, authority: 'bsi' });
    assert.equal(cert(bsi.rows, 'rsa.example').status, 'disallowed');
    assert.equal(cert(bsi.rows, 'rsa.example').rule, 'bsi-rsa-small');
    const org = parseOrgPolicy(
      'version: 1\noverrides:\n  - id: keep-2048\n    algorithm: RSA\n    maxSize: 2048\n    steps:\n      - { status: legacy, from: 1970-01-01 }\n    reason: fleet cannot verify larger keys\n',
      'org.yaml',
    );
    const mine = await policyCheck(ctx.store, { at: AT, authority: 'bsi', org });
    assert.equal(mine.orgPolicy, 'org.yaml');
    const rsa = cert(mine.rows, 'rsa.example');
    assert.deepEqual(
      [rsa.status, rsa.rule, rsa.key.reason],
      ['legacy', 'keep-2048', 'fleet cannot verify larger keys'],
    );
    await assert.rejects(policyCheck(ctx.store, { at: AT, authority: 'anssi' }), { code: 'BAD_ARGUMENT' });
  });

  test('post-quantum readiness: estate row from a lifetime, product rows from fleet data', async (t) => {
    if (!needTools(t, 'openssl') || !ctx) return;
    const [estate, ...rest] = await pqcReadiness(ctx.store, {
      at: AT,
      authority: 'nist',
      lifetimeYears: 15,
      shelfLifeYears: 5,
      migrationYears: 3,
    });
    assert.equal(rest.length, 0);
    assert.deepEqual(
      [estate!.product, estate!.supportEnd, estate!.supportEndFrom, estate!.disallowFrom, estate!.migrateBy],
      ['estate', '2042-01-01', 'lifetime', '2036-01-01', '2031-01-01'],
    );
    assert.equal(estate!.notVulnerable, 1, 'the ML-DSA key');
    assert.equal(estate!.unknown, 1, 'the sealed key');
    assert.equal(estate!.vulnerable, estate!.assets - 2);
    assert.equal(estate!.late, false, '2027 + 3 years of migration is before 2031');

    const products = [
      { name: 'gateway', supportEnd: '2030-06-30', pathPrefix: join(root, 'a') + '/' },
      { name: 'meter', supportEnd: '2040-01-01', pathPrefix: join(root, 'b') + '/' },
    ];
    const byName = new Map(
      (
        await pqcReadiness(ctx.store, {
          at: AT,
          authority: 'nist',
          lifetimeYears: 15,
          shelfLifeYears: 5,
          migrationYears: 5,
          products,
        })
      ).map((r) => [r.product, r]),
    );
    const gw = byName.get('gateway')!;
    assert.deepEqual([gw.supportEndFrom, gw.retiresFirst, gw.late], ['fleet', true, false]);
    assert.equal(gw.notVulnerable, 0);
    const meter = byName.get('meter')!;
    assert.deepEqual([meter.retiresFirst, meter.late, meter.notVulnerable], [false, true, 1]);
    assert.equal(gw.assets + meter.assets, estate!.assets);

    const [cnsa] = await pqcReadiness(ctx.store, { at: AT, authority: 'cnsa2', lifetimeYears: 10 });
    assert.deepEqual([cnsa!.disallowFrom, cnsa!.migrateBy, cnsa!.late], ['2031-01-01', '2031-01-01', false]);
    await assert.rejects(
      pqcReadiness(ctx.store, {
        at: AT,
        authority: 'nist',
        lifetimeYears: 5,
        products: [{ name: 'x', supportEnd: '2030' }],
      }),
      { code: 'BAD_ARGUMENT' },
    );
  });
});

function t0(d: string): number {
  return t(d);
}
