import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { softHsmToken, toolsMissing, opensslSigner, type SoftHsmToken } from '@keywarden/testkit';

// main.ts registers the command; until then the test drives addHsmCommand on its own program.
const RUNNER = `
import { Command } from 'commander';
import { addHsmCommand } from ${JSON.stringify(new URL('./hsm-command.ts', import.meta.url).href)};
const p = new Command('keywarden').exitOverride();
addHsmCommand(p);
try { await p.parseAsync(process.argv.slice(1), { from: 'user' }); }
catch (e) { process.stderr.write('keywarden: ' + e.message + '\\n'); process.exitCode = 3; }
`;

function kw(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RUNNER, ...args], {
    encoding: 'utf8',
    env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('keywarden hsm inventory', { skip: toolsMissing('softhsm2-util', 'pkcs11-tool', 'openssl') }, () => {
  let token: SoftHsmToken;
  let keyId: string;
  before(() => {
    token = softHsmToken({ label: 'kw-cli' });
    const s = opensslSigner(token.dir, 'imp', 'cli imported', {
      newkey: 'ec',
      pkeyopt: 'ec_paramgen_curve:P-256',
    });
    token.importKey(s.key, '0a', 'imported');
    token.pkcs11Tool(
      '--keypairgen',
      '--key-type',
      'EC:prime256v1',
      '--id',
      '0b',
      '--label',
      'generated',
      '--usage-sign',
    );
    const der = execFileSync('openssl', ['pkey', '-in', s.key, '-pubout', '-outform', 'DER']);
    keyId = createHash('sha256').update(der).digest('hex');
  });
  after(() => token?.cleanup());

  test('--json lists objects with key identities, flags and findings', () => {
    const r = kw(
      { ...token.env, KW_PIN: token.pin },
      'hsm',
      'inventory',
      '--module',
      token.module,
      '--token',
      'kw-cli',
      '--pin-env',
      'KW_PIN',
      '--json',
    );
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as {
      token: { label: string };
      objects: { class: string; id?: string; key?: { keyId: string }; flags: { local?: boolean } }[];
      findings: { rule: string; subject: string }[];
    };
    assert.equal(out.token.label, 'kw-cli');
    const imported = out.objects.find((o) => o.class === 'private-key' && o.id === '0a');
    assert.equal(imported?.key?.keyId, keyId);
    assert.equal(imported?.flags.local, false);
    const generated = out.objects.find((o) => o.class === 'private-key' && o.id === '0b');
    assert.equal(generated?.flags.local, true);
    assert.ok(out.findings.some((f) => f.rule === 'KW-HSM-KEY-IMPORTED' && f.subject === keyId));
    assert.ok(!out.findings.some((f) => f.subject === generated?.key?.keyId));
    assert.ok(!r.stdout.includes(token.pin) && !r.stderr.includes(token.pin));
  });

  test('text output names the token, the keys and the findings', () => {
    const r = kw(
      { ...token.env, KW_PIN: token.pin },
      'hsm',
      'inventory',
      '--module',
      token.module,
      '--pin-env',
      'KW_PIN',
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^token "kw-cli" \(slot \d+\): SoftHSM project/);
    assert.match(r.stdout, new RegExp(`key ${keyId}`));
    assert.match(r.stdout, /imported/);
    assert.match(r.stdout, /medium\s+KW-HSM-KEY-IMPORTED/);
  });

  test('a wrong PIN fails with the reason and without the PIN', () => {
    const wrong = 'not-the-pin-4711';
    const r = kw(
      { ...token.env, KW_PIN: wrong },
      'hsm',
      'inventory',
      '--module',
      token.module,
      '--pin-env',
      'KW_PIN',
    );
    assert.equal(r.status, 3);
    assert.match(r.stderr, /login to token "kw-cli" failed: CKR_PIN_INCORRECT/);
    assert.ok(!r.stderr.includes(wrong) && !r.stdout.includes(wrong));
  });
});
