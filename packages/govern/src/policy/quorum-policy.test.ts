import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GovernError } from '../error.ts';
import { parseQuorumPolicy } from './quorum-policy.ts';

const GOOD = `kind: keywarden/quorum-policy
version: 3
rules:
  - id: release-signing
    operations: [sign]
    keys: ["fw-release-*"]
    when: 'request.parameters.env == "prod"'
    approvals:
      count: 2
      role: release-custodian
      within: 24h
      condition: 'approver.email.endsWith("@example.com")'
`;

function invalid(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseQuorumPolicy(text, 'quorum.yaml'),
    (e: unknown) => e instanceof GovernError && e.code === 'POLICY_INVALID' && pattern.test(e.message),
  );
}

describe('quorum policy', () => {
  test('a valid policy loads with defaults and a stable version hash', () => {
    const p = parseQuorumPolicy(GOOD, 'quorum.yaml');
    assert.equal(p.version, 3);
    assert.equal(p.rules[0]!.approvals.excludeRequester, true);
    assert.equal(p.rules[0]!.withinMs, 86_400_000);
    assert.match(p.digest, /^sha256:[0-9a-f]{64}$/);
    // Same content, different layout and comments: same hash. Changed content: different hash.
    const relaid = GOOD.replace('version: 3', '# reviewed\nversion: 3').replace('[sign]', '\n      - sign');
    assert.equal(parseQuorumPolicy(relaid).digest, p.digest);
    assert.notEqual(parseQuorumPolicy(GOOD.replace('count: 2', 'count: 3')).digest, p.digest);
  });

  test('malformed YAML is POLICY_INVALID with the file and line', () => {
    invalid(
      'kind: keywarden/quorum-policy\nversion: 1\nrules: [\n  - {',
      /^quorum\.yaml:\d+: not valid YAML/,
    );
  });

  test('a CEL condition that does not parse names the field and line', () => {
    invalid(
      GOOD.replace('request.parameters.env == "prod"', 'request.(('),
      /quorum\.yaml:7: rules\.0\.when CEL condition does not parse/,
    );
  });

  test('a CEL condition naming an unknown variable is refused', () => {
    invalid(
      GOOD.replace('approver.email', 'boss.email'),
      /rules\.0\.approvals\.condition CEL condition does not type-check: Unknown variable: boss/,
    );
  });

  test('unknown fields, bad operations, durations and duplicates are named', () => {
    invalid(
      GOOD.replace('within: 24h', 'within: 24h\n      quorum: 2'),
      /:12: rules\.0\.approvals\.quorum is not a known field/,
    );
    invalid(GOOD.replace('[sign]', '[sing]'), /rules\.0\.operations\.0 "sing" is not one of/);
    invalid(GOOD.replace('24h', 'a day'), /rules\.0\.approvals\.within "a day" is not a duration/);
    invalid(GOOD.replace('count: 2', 'count: 0'), /rules\.0\.approvals\.count must be a whole number from 1/);
    invalid(
      GOOD + GOOD.slice(GOOD.indexOf('  - id')),
      /rules\.1\.id "release-signing" is used by an earlier rule/,
    );
    invalid(GOOD.replace('keywarden/quorum-policy', 'other'), /kind must be "keywarden\/quorum-policy"/);
    invalid('- a\n- b\n', /must be a YAML mapping/);
  });
});
