import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from './evaluate.ts';
import { quantumVulnerable, moscaDeadline, algorithmName, COMPOSITE_SIGNATURES } from './pqc.ts';
import { parseOrgPolicy } from './org-policy.ts';
import { AUTHORITIES, AUTHORITY_NAMES } from './authorities.ts';

const t = (d: string) => Date.parse(d + 'T00:00:00Z');

test('NIST IR 8547 ipd: RSA-2048 deprecated after 2030, disallowed after 2035', () => {
  const a = { algorithm: 'RSA', size: 2048 };
  assert.equal(classify(a, t('2030-12-31'), 'nist').key.status, 'acceptable');
  assert.equal(classify(a, t('2031-01-01'), 'nist').key.status, 'deprecated');
  assert.equal(classify(a, t('2035-12-31'), 'nist').key.status, 'deprecated');
  assert.equal(classify(a, t('2036-01-01'), 'nist').key.status, 'disallowed');
  assert.deepEqual(classify(a, t('2026-01-01'), 'nist').key.nextChange, {
    status: 'deprecated',
    from: '2031-01-01',
  });
});

test('BSI TR-02102-1: RSA below 3000 bits non-conformant from 2024-01-01', () => {
  const a = { algorithm: 'RSA', size: 2048 };
  assert.equal(classify(a, t('2023-12-31'), 'bsi').key.status, 'legacy');
  assert.equal(classify(a, t('2024-01-01'), 'bsi').key.status, 'disallowed');
  assert.equal(classify({ algorithm: 'RSA', size: 3072 }, t('2024-01-01'), 'bsi').key.status, 'acceptable');
});

test('CNSA 2.0: classical signatures exclusive PQ after 2030', () => {
  assert.equal(
    classify({ algorithm: 'EC', curve: 'P-384' }, t('2031-01-01'), 'cnsa2').key.status,
    'disallowed',
  );
  assert.equal(classify({ algorithm: 'ML-DSA-87' }, t('2031-01-01'), 'cnsa2').key.status, 'acceptable');
});

test('hash judged separately; unknown algorithms never acceptable', () => {
  const r = classify(
    { algorithm: 'RSA', size: 3072, signatureAlgorithm: 'sha1WithRSAEncryption' },
    t('2026-01-01'),
    'nist',
  );
  assert.equal(r.hash?.status, 'disallowed');
  assert.equal(classify({ algorithm: '1.2.3.4' }, t('2026-01-01'), 'nist').key.status, 'unknown');
  assert.equal(classify({ algorithm: 'RSA', size: 2048 }, t('2026-01-01'), 'nope').key.status, 'unknown');
});

test('PQC classification and Mosca deadline', () => {
  assert.equal(quantumVulnerable({ algorithm: 'RSA' }), true);
  assert.equal(quantumVulnerable({ algorithm: 'Ed25519' }), true);
  assert.equal(quantumVulnerable({ algorithm: 'ML-DSA-65' }), false);
  assert.equal(quantumVulnerable({ algorithm: 'AES-256' }), 'unknown');
  const m = moscaDeadline({
    disallowFrom: '2036-01-01',
    shelfLifeYears: 10,
    migrationYears: 3,
    at: t('2026-12-02'),
  });
  assert.equal(m.migrateBy, '2026-01-01');
  assert.equal(m.late, true);
  assert.equal(
    moscaDeadline({ disallowFrom: '2036-01-01', shelfLifeYears: 2, migrationYears: 3, at: t('2026-12-02') })
      .late,
    false,
  );
});

test('only rules whose dates were checked claim to be verified, and each says against what', () => {
  const verified = Object.values(AUTHORITIES)
    .flat()
    .filter((r) => r.confidence === 'verified');
  assert.deepEqual(verified.map((r) => r.id).sort(), [
    'bsi-rsa',
    'bsi-rsa-small',
    'nist-ec',
    'nist-ec-224',
    'nist-eddsa',
    'nist-rsa-112',
    'nist-rsa-128',
  ]);
  for (const r of verified) assert.match(r.verifiedBy ?? '', /\w{4,}/, r.id);
  for (const name of AUTHORITY_NAMES) assert.ok(AUTHORITIES[name]!.length > 0, name);
});

test('BSI: RSA below 2000 bits was never conformant; EdDSA and PQ signatures hash internally', () => {
  assert.equal(classify({ algorithm: 'RSA', size: 1024 }, t('2020-01-01'), 'bsi').key.status, 'disallowed');
  assert.equal(classify({ algorithm: 'RSA', size: 2000 }, t('2020-01-01'), 'bsi').key.status, 'legacy');
  const ed = classify({ algorithm: 'Ed25519', signatureAlgorithm: 'Ed25519' }, t('2026-01-01'), 'nist');
  assert.equal(ed.hash, undefined);
  assert.equal(ed.key.rule, 'nist-eddsa');
  const pss = classify(
    { algorithm: 'RSA', size: 3072, signatureAlgorithm: 'rsassaPss' },
    t('2026-01-01'),
    'nist',
  );
  assert.equal(pss.hash?.status, 'unknown', 'the PSS hash is in parameters the store does not keep');
  assert.equal(
    classify(
      { algorithm: 'EC', curve: 'P-256', signatureAlgorithm: 'ecdsa-with-SHA224' },
      t('2031-01-01'),
      'nist',
    ).hash?.status,
    'disallowed',
  );
});

test('composite ML-DSA OIDs: not quantum-vulnerable, and unknown until a policy dates them', () => {
  const oid = '1.3.6.1.5.5.7.6.45';
  assert.equal(algorithmName(oid), 'ML-DSA-65-ECDSA-P256-SHA512');
  assert.equal(algorithmName('1.3.6.1.5.5.7.6.54'), 'ML-DSA-87-ECDSA-P521-SHA512');
  assert.equal(Object.keys(COMPOSITE_SIGNATURES).length, 18);
  assert.equal(quantumVulnerable({ algorithm: oid }), false);
  assert.equal(
    quantumVulnerable({ algorithm: '1.3.6.1.5.5.7.6.36' }),
    'unknown',
    'outside the composite range',
  );
  assert.equal(classify({ algorithm: oid }, t('2026-01-01'), 'nist').key.status, 'unknown');
  const org = parseOrgPolicy(
    'version: 1\noverrides:\n  - algorithm: COMPOSITE\n    steps:\n      - { status: acceptable, from: 2025-01-01 }\n    reason: hybrid roots\n',
    'o.yaml',
  );
  assert.equal(classify({ algorithm: oid }, t('2026-01-01'), 'nist', org).key.status, 'acceptable');
});
