import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { CA, LEAF, OpensslPki, type Issued } from '../../analyze/src/path/openssl-chain.test-helper.ts';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));

function kw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe(
  'validate, chains, findings and graph from the command line',
  { skip: toolsMissing('openssl') },
  () => {
    let pki: OpensslPki;
    let root: Issued, inter: Issued, leaf: Issued;
    let db: string;
    before(() => {
      pki = new OpensslPki();
      root = pki.root('root');
      inter = pki.issue('inter', root, CA);
      leaf = pki.issue('leaf', inter, [
        ...LEAF,
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:ota.example.com',
      ]);
      const estate = join(pki.dir, 'estate');
      mkdirSync(join(estate, 'trust-anchors'), { recursive: true });
      copyFileSync(root.certFile, join(estate, 'trust-anchors', 'root.pem'));
      copyFileSync(inter.certFile, join(estate, 'inter.pem'));
      copyFileSync(leaf.certFile, join(estate, 'leaf.pem'));
      db = join(pki.dir, 'kw.db');
      const s = kw('scan', estate, '--db', db, '--json', '--threads', '0');
      assert.equal(s.status, 0, s.stderr);
    });
    after(() => pki?.cleanup());

    test('validate --json: valid path leaf first, exit 0', () => {
      const r = kw(
        'validate',
        leaf.certFile,
        '--intermediate',
        inter.certFile,
        '--anchor',
        root.certFile,
        '--purpose',
        'server-auth',
        '--name',
        'ota.example.com',
        '--json',
      );
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { valid: boolean; path: string[]; errors: unknown[] };
      assert.equal(out.valid, true);
      assert.deepEqual(out.path, [leaf.cert.sha256, inter.cert.sha256, root.cert.sha256]);
      assert.deepEqual(out.errors, []);
    });

    test('validate: a wrong purpose, a wrong name, a missing intermediate and a late instant each exit 1 with the rule', () => {
      const run = (...extra: string[]): { rules: string[]; status: number | null } => {
        const r = kw('validate', leaf.certFile, '--anchor', root.certFile, '--json', ...extra);
        return {
          status: r.status,
          rules: (JSON.parse(r.stdout) as { errors: { rule: string }[] }).errors.map((e) => e.rule),
        };
      };
      assert.deepEqual(run('--intermediate', inter.certFile, '--purpose', 'code-signing'), {
        status: 1,
        rules: ['eku.purpose'],
      });
      assert.deepEqual(run('--intermediate', inter.certFile, '--name', 'other.example.com'), {
        status: 1,
        rules: ['name.mismatch'],
      });
      assert.deepEqual(run(), { status: 1, rules: ['path.no-anchor'] });
      const late = new Date(leaf.cert.notAfter + 86_400_000).toISOString();
      const expired = run('--intermediate', inter.certFile, '--at', late);
      assert.equal(expired.status, 1);
      assert.ok(
        expired.rules.includes('validity.expired') && expired.rules.every((r) => r === 'validity.expired'),
      );
    });

    test('validate: an unreadable anchor is an input error naming the file', () => {
      const r = kw('validate', leaf.certFile, '--anchor', join(pki.dir, 'nope.pem'));
      assert.equal(r.status, 3);
      assert.match(r.stderr, /nope\.pem: no such file/);
      const bad = kw('validate', leaf.certFile, '--anchor', join(pki.dir, 'req.cnf'));
      assert.equal(bad.status, 3);
      assert.match(bad.stderr, /req\.cnf: not a PEM bundle, and not a DER certificate/);
    });

    test('chains --json lists the leaf with its path and trust store; findings and graph run on the store', () => {
      const c = kw('chains', '--db', db, '--json');
      assert.equal(c.status, 0, c.stderr);
      const items = JSON.parse(c.stdout) as {
        sha256: string;
        status: string;
        anchor?: { trustStores: string[] };
      }[];
      const it = items.find((i) => i.sha256 === leaf.cert.sha256)!;
      assert.equal(it.status, 'valid');
      assert.match(it.anchor!.trustStores.join(), /trust store at .*trust-anchors\/root\.pem/);
      const f = kw('findings', '--db', db, '--json', '--severity', 'medium');
      assert.equal(f.status, 0, f.stderr);
      const rules = (JSON.parse(f.stdout) as { rule: string; severity: string }[]).map((x) => x.rule);
      assert.ok(rules.includes('KW-REVOCATION-NONE'));
      assert.equal(kw('findings', '--db', db, '--severity', 'bogus').status, 2);
      const g = kw('graph', '--db', db, '--format', 'dot', '--around', leaf.cert.sha256);
      assert.equal(g.status, 0, g.stderr);
      assert.match(g.stdout, /issued-by/);
    });

    test('policy check and policy pqc judge the scanned certificates at the given instant', () => {
      const now = kw('policy', 'check', '--db', db, '--json', '--at', '2027-01-01');
      assert.equal(now.status, 0, now.stderr);
      const rows = (
        JSON.parse(now.stdout) as {
          rows: { assetId: string; status: string; quantumVulnerable: unknown }[];
        }
      ).rows;
      const leafRow = rows.find((r) => r.assetId === `certificate:${leaf.cert.sha256}`)!;
      assert.equal(leafRow.status, 'acceptable');
      assert.equal(leafRow.quantumVulnerable, true);
      const later = JSON.parse(kw('policy', 'check', '--db', db, '--json', '--at', '2036-06-01').stdout) as {
        rows: { assetId: string; status: string }[];
      };
      assert.equal(
        later.rows.find((r) => r.assetId === leafRow.assetId)!.status,
        'disallowed',
        'NIST IR 8547: ECDSA P-256 after 2035',
      );
      const pqc = kw(
        'policy',
        'pqc',
        '--db',
        db,
        '--json',
        '--at',
        '2027-01-01',
        '--shelf-life',
        '10',
        '--migration',
        '2',
      );
      assert.equal(pqc.status, 0, pqc.stderr);
      const [row] = JSON.parse(pqc.stdout) as { migrateBy: string; late: boolean }[];
      assert.equal(row!.migrateBy, '2026-01-01');
      assert.equal(row!.late, true);
      assert.equal(kw('policy', 'check', '--db', db, '--authority', 'nobody').status, 2);
    });

    test('lint picks the profile from the certificate; Web-PKI lints only under web-server', () => {
      const r = kw('lint', leaf.certFile, '--json');
      assert.equal(r.status, 1, 'an 825-day TLS server certificate breaks the 398-day rule');
      const [row] = JSON.parse(r.stdout) as { profile: string; results: { id: string }[] }[];
      assert.equal(row!.profile, 'web-server');
      assert.ok(row!.results.some((x) => x.id === 'kw.webpki.validity-398-days'));
      const general = kw('lint', leaf.certFile, '--profile', 'rfc5280', '--json');
      const [g] = JSON.parse(general.stdout) as { results: { id: string }[] }[];
      assert.ok(!g!.results.some((x) => x.id.startsWith('kw.webpki.')));
      assert.equal(kw('lint', leaf.certFile, '--profile', 'nonsense').status, 2);
    });
  },
);
