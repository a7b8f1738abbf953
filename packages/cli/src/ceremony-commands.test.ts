import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog } from '@keywarden/evidence';
import { addPerson, grantRole } from '@keywarden/govern';
import { softHsmToken, toolsMissing, type SoftHsmToken } from '@keywarden/testkit';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));
const RUNBOOKS = fileURLToPath(new URL('../../../docs/runbooks/', import.meta.url));
const PIN_VAR = 'KW_TEST_CLI_CEREMONY_PIN';

const SCRIPT = `kind: keywarden/ceremony-script
name: fw-release-key
version: 1
purpose: Generate the firmware release signing key and sign the first release manifest.
roles: { custodian: 2, auditor: 1 }
steps:
  - { id: room-check, title: Check the room and seals, role: auditor, witnesses: { custodian: 1 }, action: manual, allowExceptions: true }
  - id: generate
    title: Generate the release key
    role: custodian
    witnesses: { custodian: 1, auditor: 1 }
    action: hsm-generate
    key: { spec: ec-p256, label: fw-release-1 }
  - id: sign-manifest
    title: Sign the release manifest
    role: custodian
    witnesses: { auditor: 1 }
    action: hsm-sign
    signWith: generate
    mechanism: ecdsa-sha256
    input: manifest.json
    output: manifest.sig
  - { id: worksheet, title: Hash the worksheet, role: auditor, witnesses: { custodian: 1 }, action: hash-artefact, artefacts: [worksheet.txt] }
`;

describe('keywarden ceremony and runbook', { skip: toolsMissing('softhsm2-util', 'openssl') }, () => {
  let tmp: string;
  let log: string;
  let token: SoftHsmToken;
  const key = (p: string): string => join(tmp, `${p}.pem`);

  function kw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...args, '--log', log], {
      encoding: 'utf8',
      env: { ...process.env, ...token.env, [PIN_VAR]: token.pin },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kw-ceremony-cli-'));
    log = join(tmp, 'log');
    token = softHsmToken({ label: 'kw-cli-ceremony' });
    const l = await EvidenceLog.open(log, { create: true, origin: 'example.com/ceremony-cli' });
    const at = Date.now() - 60_000;
    for (const [id, role] of [
      ['alice', 'custodian'],
      ['bob', 'custodian'],
      ['carol', 'auditor'],
    ] as const) {
      execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key(id)], { stdio: 'ignore' });
      const pub = execFileSync('openssl', ['pkey', '-in', key(id), '-pubout'], { encoding: 'utf8' });
      await addPerson(l, { id, name: id, publicKey: pub }, { actor: 'admin', at });
      await grantRole(l, { person: id, role }, { actor: 'admin', at });
    }
    l.close();
    writeFileSync(join(tmp, 'script.yaml'), SCRIPT);
    writeFileSync(
      join(tmp, 'manifest.json'),
      JSON.stringify({ version: '1.0.0', nonce: randomBytes(8).toString('hex') }),
    );
    writeFileSync(join(tmp, 'worksheet.txt'), 'signed by all three\n');
  });
  after(() => {
    token?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('start, refuse out of order, exception, HSM steps, verify, report', () => {
    const start = kw(
      'ceremony',
      'start',
      join(tmp, 'script.yaml'),
      '--as',
      'carol',
      '--key',
      key('carol'),
      '--participant',
      'alice=custodian',
      '--participant',
      'bob=custodian',
      '--participant',
      'carol=auditor',
      '--id',
      'fw-1',
    );
    assert.equal(start.status, 0, start.stderr);
    assert.equal(start.stdout, 'fw-1\n');

    const early = kw('ceremony', 'step', 'fw-1', 'generate', '--as', 'alice', '--key', key('alice'));
    assert.equal(early.status, 2);
    assert.match(early.stderr, /step generate is out of order: the next step of ceremony fw-1 is room-check/);

    const ex = kw(
      'ceremony',
      'exception',
      'fw-1',
      'room-check',
      '--as',
      'carol',
      '--key',
      key('carol'),
      '--deviation',
      'seal photo missing',
      '--reason',
      'camera battery flat; seals checked by two people',
    );
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /the ceremony continues/);

    const hsm = ['--module', token.module, '--token', token.label, '--pin-env', PIN_VAR];
    const gen = kw(
      'ceremony',
      'step',
      'fw-1',
      'generate',
      '--as',
      'alice',
      '--key',
      key('alice'),
      '--witness',
      `bob=${key('bob')}`,
      '--witness',
      `carol=${key('carol')}`,
      ...hsm,
    );
    assert.equal(gen.status, 0, gen.stderr);
    const keyId = /key ([0-9a-f]{64})/.exec(gen.stdout)?.[1];
    assert.ok(keyId, gen.stdout);

    const sign = kw(
      'ceremony',
      'step',
      'fw-1',
      'sign-manifest',
      '--as',
      'bob',
      '--key',
      key('bob'),
      '--witness',
      `carol=${key('carol')}`,
      '--artefact',
      join(tmp, 'manifest.json'),
      '--out-dir',
      tmp,
      ...hsm,
    );
    assert.equal(sign.status, 0, sign.stderr);
    assert.ok(existsSync(join(tmp, 'manifest.sig')));

    const noWitness = kw(
      'ceremony',
      'step',
      'fw-1',
      'worksheet',
      '--as',
      'carol',
      '--key',
      key('carol'),
      '--artefact',
      join(tmp, 'worksheet.txt'),
    );
    assert.equal(noWitness.status, 2);
    assert.match(noWitness.stderr, /needs the signatures of 1 custodian witness/);
    const last = kw(
      'ceremony',
      'step',
      'fw-1',
      'worksheet',
      '--as',
      'carol',
      '--key',
      key('carol'),
      '--witness',
      `alice=${key('alice')}`,
      '--artefact',
      join(tmp, 'worksheet.txt'),
    );
    assert.equal(last.status, 0, last.stderr);
    assert.match(last.stdout, /ceremony complete/);

    const v = kw('ceremony', 'verify', 'fw-1');
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const json = kw('ceremony', 'report', 'fw-1', '--format', 'json');
    assert.equal(json.status, 0, json.stderr);
    const r = JSON.parse(json.stdout) as {
      keys: { keyId: string }[];
      exceptions: unknown[];
      bundles: unknown[];
    };
    assert.deepEqual([r.keys[0]?.keyId, r.exceptions.length, r.bundles.length], [keyId, 1, 7]);
    const html = kw('ceremony', 'report', 'fw-1', '--format', 'html', '--out', join(tmp, 'report.html'));
    assert.equal(html.status, 0, html.stderr);
    assert.match(readFileSync(join(tmp, 'report.html'), 'utf8'), new RegExp(keyId));
  });

  test('runbook drill, list and findings over the shipped runbooks', () => {
    const d = kw(
      'runbook',
      'drill',
      'signing-key-compromise',
      '--dir',
      RUNBOOKS,
      '--as',
      'alice',
      '--participant',
      'alice',
      '--participant',
      'carol',
      '--result',
      'passed',
    );
    assert.equal(d.status, 0, d.stderr);
    const list = kw('runbook', 'list', '--dir', RUNBOOKS);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /signing-key-compromise .* last drill: \d{4}-\d\d-\d\d passed/);
    const f = kw('runbook', 'findings', '--dir', RUNBOOKS, '--json');
    assert.equal(f.status, 1, f.stderr);
    const rules = (JSON.parse(f.stdout) as { rule: string; subject: string }[])
      .map((x) => `${x.rule} ${x.subject}`)
      .sort();
    assert.deepEqual(rules, [
      'KW-RUNBOOK-MISSING runbook-kind:expiry',
      'KW-RUNBOOK-MISSING runbook-kind:hsm-end-of-support',
      'KW-RUNBOOK-NEVER-EXERCISED custodian-unavailable',
    ]);
  });
});
