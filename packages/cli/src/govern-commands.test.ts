import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));

const POLICY = `kind: keywarden/quorum-policy
version: 1
rules:
  - id: root
    operations: [sign, destroy]
    keys: [root-1]
    approvals: { count: 2, role: custodian, within: 24h }
`;

describe(
  'roster, request, approve and approvals from the command line',
  { skip: toolsMissing('openssl') },
  () => {
    let dir: string;
    let common: string[];
    const kw = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args, ...common], {
        encoding: 'utf8',
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'kw-govern-cli-'));
      for (const x of ['alice', 'bob', 'carol']) {
        execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(dir, `${x}.key`)], {
          stdio: 'ignore',
        });
        execFileSync(
          'openssl',
          ['pkey', '-in', join(dir, `${x}.key`), '-pubout', '-out', join(dir, `${x}.pub`)],
          { stdio: 'ignore' },
        );
      }
      writeFileSync(join(dir, 'quorum.yaml'), POLICY);
      common = ['--log', join(dir, 'evidence'), '--policy', join(dir, 'quorum.yaml')];
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('a 2-of-3 quorum is reported not met, then met; a leaver leaves it at the margin', () => {
      for (const x of ['alice', 'bob', 'carol']) {
        assert.equal(
          kw('roster', 'add', x, '--name', x, '--public-key', join(dir, `${x}.pub`), '--as', 'admin').status,
          0,
        );
        assert.equal(kw('roster', 'grant', x, 'custodian', '--scope', 'root-1').status, 0);
      }
      const show = kw('roster', 'show', '--json');
      assert.equal(show.status, 0, show.stderr);
      assert.equal((JSON.parse(show.stdout) as { people: unknown[] }).people.length, 3);

      const req = kw('request', 'sign', '--key', 'root-1', '--as', 'alice');
      assert.equal(req.status, 0, req.stderr);
      const id = req.stdout.trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);

      assert.match(
        kw('approve', id, '--as', 'alice', '--key', join(dir, 'alice.key')).stderr,
        /may not approve/,
      );
      // Signing as bob with carol's key is refused before anything is logged.
      const wrong = kw('approve', id, '--as', 'bob', '--key', join(dir, 'carol.key'));
      assert.equal(wrong.status, 2);
      assert.match(wrong.stderr, /is not the key bob holds on the roster/);

      assert.equal(kw('approve', id, '--as', 'bob', '--key', join(dir, 'bob.key')).status, 0);
      const half = kw('approvals', id, '--json');
      assert.equal(half.status, 1);
      const verdict = JSON.parse(half.stdout) as {
        met: boolean;
        approvals: { approver: string; reasons: { code: string }[] }[];
      };
      assert.equal(verdict.met, false);
      assert.deepEqual(
        verdict.approvals.find((a) => a.approver === 'alice')!.reasons.map((r) => r.code),
        ['self-approval'],
      );

      assert.equal(kw('approve', id, '--as', 'carol', '--key', join(dir, 'carol.key')).status, 0);
      const full = kw('approvals', id);
      assert.equal(full.status, 0, full.stdout);
      assert.match(full.stdout, /^MET /);

      const left = kw('roster', 'leave', 'carol');
      assert.equal(left.status, 0, left.stderr);
      assert.match(left.stdout, /WARN root-1: 2 holders of custodian left, exactly the quorum of 2/);
      assert.match(kw('quorum', 'show').stdout, /MARGIN root-1: 2 of 2 custodian/);
    });

    test('a malformed policy file is refused naming the file and line', () => {
      writeFileSync(join(dir, 'bad.yaml'), POLICY.replace('within: 24h', 'within: 24h, when: 1'));
      const r = spawnSync(
        process.execPath,
        [BIN, 'quorum', 'apply', '--log', join(dir, 'other'), '--policy', join(dir, 'bad.yaml')],
        { encoding: 'utf8' },
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /bad\.yaml:7: rules\.0\.approvals\.when is not a known field/);
    });
  },
);
