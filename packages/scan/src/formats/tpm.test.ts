/**
 * detectTpm over the state file a real `swtpm_setup` run writes (Debian swtpm-tools), with a local
 * CA of our own in a temporary directory; key identities are checked against openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools, opensslSigner } from '@keywarden/testkit';
import { tpmIdentity } from '@keywarden/core';
import type { Detected } from '../detect.ts';
import { detectTpm } from './tpm.ts';

let dir = '';
let state = Buffer.alloc(0);
let ekRsa = Buffer.alloc(0);
let ekEcc = Buffer.alloc(0);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-tpm-scan-'));
  if (!hasTool('swtpm_setup') || !hasTool('openssl')) return;
  const [ca, tpm, out] = ['ca', 'state', 'out'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [ca, tpm, out]) mkdirSync(d);
  const conf = (f: string): string => join(dir, f);
  writeFileSync(
    conf('setup.conf'),
    `create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = ${conf('ca.conf')}\n` +
      `create_certs_tool_options = ${conf('ca.options')}\nactive_pcr_banks = sha256\n`,
  );
  writeFileSync(
    conf('ca.conf'),
    `statedir = ${ca}\nsigningkey = ${join(ca, 'key.pem')}\nissuercert = ${join(ca, 'issuer.pem')}\n` +
      `certserial = ${join(ca, 'serial')}\n`,
  );
  writeFileSync(
    conf('ca.options'),
    '--platform-manufacturer Keywarden\n--platform-version 3.0\n--platform-model KW-SCAN\n',
  );
  const args = ['--tpm2', '--tpmstate', tpm, '--create-ek-cert', '--create-platform-cert', '--lock-nvram'];
  execFileSync('swtpm_setup', [...args, '--config', conf('setup.conf'), '--write-ek-cert-files', out], {
    stdio: 'ignore',
  });
  state = readFileSync(join(tpm, 'tpm2-00.permall'));
  ekRsa = readFileSync(join(out, 'ek-rsa2048.crt'));
  ekEcc = readFileSync(join(out, 'ek-secp384r1.crt'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function opensslKeyId(der: Uint8Array): string {
  const pem = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-pubkey'], { input: der });
  return createHash('sha256')
    .update(execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem }))
    .digest('hex');
}

function certs(found: Detected[]): Extract<Detected, { type: 'certificate' }>[] {
  return found.filter((d): d is Extract<Detected, { type: 'certificate' }> => d.type === 'certificate');
}

describe('detectTpm', () => {
  test('swtpm state: the EK and platform certificates, with openssl key identities', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const found = detectTpm(state, 'tpm2-00.permall');
    const got = certs(found);
    assert.equal(found.length, 3);
    assert.equal(got.length, 3);
    const ids = got.map((c) => c.cert.publicKey.keyId);
    assert.ok(ids.includes(opensslKeyId(ekRsa)));
    assert.ok(ids.includes(opensslKeyId(ekEcc)));
    for (const c of got) {
      assert.deepEqual(Buffer.from(c.der), state.subarray(c.offset, c.offset + c.der.length));
      assert.equal(c.cert.publicKey.keyId, opensslKeyId(c.der));
    }
    const who = got.map((c) => tpmIdentity(c.cert));
    assert.deepEqual(
      who.map((w) => [w?.ek, w?.platform, w?.model]),
      [
        [true, false, 'swtpm'],
        [false, true, 'KW-SCAN'],
        [true, false, 'swtpm'],
      ],
    );
  });

  test('a truncated or encrypted state file is one unparseable observation with the reason', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const cut = detectTpm(state.subarray(0, 2600), '/var/lib/swtpm/tpm2-00.permall');
    assert.equal(cut.length, 1);
    assert.equal(cut[0]?.type, 'unparseable');
    assert.match(cut[0]?.type === 'unparseable' ? cut[0].reason : '', /total length \d+ at offset 6/);
    // Without the name, a broken file is not claimed: the generic readers still see it.
    assert.deepEqual(detectTpm(state.subarray(0, 2600)), []);
    const enc = Buffer.from(state);
    enc.writeUInt16BE(1, 4);
    const sealed = detectTpm(enc);
    assert.equal(sealed.length, 1);
    assert.match(sealed[0]?.type === 'unparseable' ? sealed[0].reason : '', /encrypted/);
  });

  test('an NV index dump with zero padding is the EK certificate; an ordinary certificate is not claimed', (t) => {
    if (!needTools(t, 'swtpm_setup', 'openssl')) return;
    const dump = Buffer.concat([ekRsa, Buffer.alloc(2048 - ekRsa.length)]);
    const got = certs(detectTpm(dump));
    assert.equal(got.length, 1);
    assert.equal(got[0]?.offset, 0);
    assert.equal(got[0]?.der.length, ekRsa.length);
    assert.equal(got[0]?.cert.publicKey.keyId, opensslKeyId(ekRsa));
    const plain = opensslSigner(dir, 'plain', 'Keywarden plain', { der: true });
    assert.deepEqual(detectTpm(Buffer.concat([readFileSync(plain.cert), Buffer.alloc(100)])), []);
  });

  test('a real tpm2_nvread of the EK certificate index from a running swtpm', (t) => {
    if (!needTools(t, 'swtpm_setup', 'swtpm', 'tpm2_nvread', 'openssl')) return;
    // A random port pair: the machine is shared, and a clash fails this test loudly rather than wrongly.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const pidFile = join(dir, 'swtpm.pid');
    const tcp = (p: number): string => `type=tcp,port=${p},bindaddr=127.0.0.1`;
    // --daemon returns once the sockets are bound, so the TPM is ready when this call comes back.
    execFileSync('swtpm', [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${join(dir, 'state')}`,
      '--server',
      tcp(port),
      '--ctrl',
      tcp(port + 1),
      '--flags',
      'not-need-init,startup-clear',
      '--pid',
      `file=${pidFile}`,
      '--daemon',
    ]);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    t.after(() => process.kill(pid));
    const file = join(dir, 'ek-nv.bin');
    const tcti = `swtpm:host=127.0.0.1,port=${port}`;
    execFileSync('tpm2_nvread', ['-T', tcti, '0x01c00002', '-o', file], { stdio: 'ignore', timeout: 20_000 });
    const dump = readFileSync(file);
    assert.deepEqual(dump, ekRsa);
    const got = certs(detectTpm(dump, 'ek-nv.bin'));
    assert.equal(got.length, 1);
    assert.equal(got[0]?.cert.publicKey.keyId, opensslKeyId(ekRsa));
    assert.equal(tpmIdentity(got[0]!.cert)?.ek, true);
  });

  test('unrelated bytes are not read', () => {
    assert.deepEqual(detectTpm(Buffer.alloc(0)), []);
    assert.deepEqual(detectTpm(randomBytes(4096)), []);
    assert.equal(detectTpm(Buffer.from('hello world\n'), 'tpm2-00.permall')[0]?.type, 'unparseable');
  });
});
