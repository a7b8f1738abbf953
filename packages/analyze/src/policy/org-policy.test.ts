import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnalyzeError } from '../error.ts';
import { classify } from './evaluate.ts';
import { loadOrgPolicy, parseOrgPolicy } from './org-policy.ts';

const t = (d: string) => Date.parse(d + 'T00:00:00Z');
const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '../../../../docs/policy-example.yaml');

test('the documented sample loads and its overrides win over the authority', () => {
  const org = loadOrgPolicy(SAMPLE);
  assert.equal(org.rules.length, 3);
  const rsa = { algorithm: 'RSA', size: 2048 };
  // NIST alone: acceptable until 2031; the organisation deprecates from 2027 and disallows from 2029.
  assert.equal(classify(rsa, t('2026-12-31'), 'nist', org).key.status, 'acceptable');
  assert.equal(classify(rsa, t('2027-01-01'), 'nist').key.status, 'acceptable');
  const v = classify(rsa, t('2027-01-01'), 'nist', org).key;
  assert.equal(v.status, 'deprecated');
  assert.equal(v.rule, 'org-rsa-112-early');
  assert.match(v.reason ?? '', /security board/);
  assert.match(v.source?.document ?? '', /policy-example\.yaml/);
  assert.deepEqual(v.nextChange, { status: 'disallowed', from: '2029-01-01' });
  // A size the override does not cover falls through to the authority.
  assert.equal(
    classify({ algorithm: 'RSA', size: 4096 }, t('2027-01-01'), 'nist', org).key.rule,
    'nist-rsa-128',
  );
  // Something NIST leaves unknown becomes known through the override.
  const bp = { algorithm: 'EC', curve: 'brainpoolP256r1' };
  assert.equal(classify(bp, t('2027-01-01'), 'nist').key.status, 'unknown');
  assert.equal(classify(bp, t('2027-01-01'), 'nist', org).key.status, 'acceptable');
  // An exact algorithm name overrides its family, which still decides its siblings.
  assert.equal(classify({ algorithm: 'ML-DSA-44' }, t('2027-01-01'), 'nist', org).key.status, 'legacy');
  assert.equal(classify({ algorithm: 'ML-DSA-65' }, t('2027-01-01'), 'nist', org).key.rule, 'nist-pqc');
});

function refusal(text: string): string {
  try {
    parseOrgPolicy(text, 'org.yaml');
  } catch (e) {
    assert.ok(e instanceof AnalyzeError);
    assert.equal(e.code, 'POLICY_INVALID');
    return e.message;
  }
  assert.fail('accepted a bad policy');
}

const good = (extra: string) =>
  `version: 1
overrides:
  - algorithm: RSA
    steps:
      - { status: acceptable, from: 1970-01-01 }
    reason: test
${extra}`;

test('bad files are refused naming file, line and field', () => {
  assert.equal(parseOrgPolicy(good(''), 'org.yaml').rules.length, 1);
  assert.match(refusal('version: 1\noverrides: [\n'), /^org\.yaml:\d+: YAML: /);
  assert.match(refusal('version: 2\n'), /^org\.yaml:1: version: expected 1/);
  assert.match(
    refusal(
      good('  - algorithm: EC\n    steps:\n      - { status: fine, from: 2020-01-01 }\n    reason: x\n'),
    ),
    /^org\.yaml:9: overrides\[1\]\.steps\[0\]\.status: expected one of acceptable/,
  );
  assert.match(
    refusal(
      good('  - algorithm: EC\n    steps:\n      - { status: legacy, from: 2020-02-30 }\n    reason: x\n'),
    ),
    /^org\.yaml:9: overrides\[1\]\.steps\[0\]\.from: 2020-02-30 is not a calendar date/,
  );
  assert.match(
    refusal(good('  - algorithm: EC\n    steps:\n      - { status: legacy, from: 2020-01-01 }\n')),
    /^org\.yaml:7: overrides\[1\]\.reason: required/,
  );
  assert.match(refusal(good('    minsize: 2048\n')), /^org\.yaml:7: overrides\[0\]\.minsize: unknown field/);
  assert.match(
    refusal(good('    minSize: 4096\n    maxSize: 2048\n')),
    /^org\.yaml:8: overrides\[0\]\.maxSize: smaller than minSize/,
  );
  assert.match(
    refusal(
      good(
        '  - algorithm: EC\n    steps:\n      - { status: legacy, from: 2030-01-01 }\n      - { status: disallowed, from: 2029-01-01 }\n    reason: x\n',
      ),
    ),
    /^org\.yaml:10: overrides\[1\]\.steps\[1\]\.from: dates must ascend/,
  );
  assert.throws(() => loadOrgPolicy('no-such-policy.yaml'), /no-such-policy\.yaml: cannot read/);
});
