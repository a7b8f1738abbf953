/**
 * Signers named only by a key hash or a key name, checked after the scan once the key turns up
 * elsewhere in the estate: MCUboot images (KEYHASH TLV; the bootloader holds the key) signed the
 * way imgtool does, and FIT images made by mkimage whose key sits in the U-Boot control DTB.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMcuboot, type SignatureSummary } from '@keywarden/core';
import { assetId, keyRef, type AssetRow, type Store } from '@keywarden/store';
import { buildMcubootImage, mcubootPublicBytes, toolsMissing } from '@keywarden/testkit';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { analyzeChains } from './chains.ts';
import { runScan } from './scan-job.ts';
import { gapFindings } from './trust-findings.ts';

const TOOLS = ['openssl', 'mkimage', 'dtc'];
const skip = toolsMissing(...TOOLS);

let root = '';
let work = '';
const ids: Record<string, string> = {};
const run = (cmd: string, args: string[], cwd = work): Buffer =>
  execFileSync(cmd, args, { cwd, stdio: 'pipe' });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function place(path: string, data: string | Buffer): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), data);
}

/** An openssl key in `work`; the id is SHA-256 of its SPKI, as the scan names keys. */
function opensslKey(name: string, args: string[]): string {
  run('openssl', [args[0]!, '-out', `${name}.key`, ...args.slice(1)]);
  return sha256(run('openssl', ['pkey', '-in', `${name}.key`, '-pubout', '-outform', 'DER']));
}

const privateKey = (name: string) => createPrivateKey(readFileSync(join(work, `${name}.key`)));

function fitFixture(keyDir: string, out: string): void {
  const its = `/dts-v1/;
/ {
  description = "key hash test";
  #address-cells = <1>;
  images { kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm"; os = "linux";
    compression = "none"; load = <0>; entry = <0>; hash-1 { algo = "sha256"; }; }; };
  configurations { default = "conf-1"; conf-1 { kernel = "kernel-1";
    signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; }; }; };
};
`;
  writeFileSync(join(work, 'x.its'), its);
  run('mkimage', ['-f', 'x.its', '-k', keyDir, ...(keyDir === '.' ? ['-K', 'control.dtb', '-r'] : []), out]);
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'kw-keyhash-work-'));
  root = mkdtempSync(join(tmpdir(), 'kw-keyhash-'));
  const body = randomBytes(4096);

  ids.ec = opensslKey('ec', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  ids.rsa = opensslKey('rsa', ['genrsa', '2048']);
  ids.ed = opensslKey('ed', ['genpkey', '-algorithm', 'ed25519']);
  opensslKey('orphan', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  // The bootloader's keys, as the estate holds them: a PEM public key, a certificate, a DER key.
  place('keys/ec.pub', run('openssl', ['pkey', '-in', 'ec.key', '-pubout']));
  run('openssl', [
    'req',
    '-new',
    '-x509',
    '-key',
    'rsa.key',
    '-subj',
    '/CN=mcuboot-rsa',
    '-days',
    '30',
    '-out',
    'rsa.crt',
  ]);
  place('keys/rsa.crt', readFileSync(join(work, 'rsa.crt')));
  ids.rsaCert = sha256(run('openssl', ['x509', '-in', 'rsa.crt', '-outform', 'DER']));
  place('keys/ed.der', run('openssl', ['pkey', '-in', 'ed.key', '-pubout', '-outform', 'DER']));

  place('fw/ec.bin', buildMcubootImage({ key: privateKey('ec'), body }));
  place('fw/rsa.bin', buildMcubootImage({ key: privateKey('rsa'), body }));
  place('fw/ed.bin', buildMcubootImage({ key: privateKey('ed'), body }));
  place('fw/orphan.bin', buildMcubootImage({ key: privateKey('orphan'), body }));
  // Signed by the orphan key but naming the estate's EC key: KEYHASH finds a key that does not verify.
  const lying = buildMcubootImage({ key: privateKey('orphan'), body });
  const keyHash = parseMcuboot(lying).tlvs.find((t) => t.name === 'KEYHASH')!;
  createHash('sha256')
    .update(mcubootPublicBytes(createPublicKey(privateKey('ec'))))
    .digest()
    .copy(lying, keyHash.start);
  place('fw/lying.bin', lying);

  // FIT: the key goes into the control DTB only; the image carries its name.
  ids.dev = opensslKey('dev', ['genrsa', '2048']);
  run('openssl', [
    'req',
    '-batch',
    '-new',
    '-x509',
    '-key',
    'dev.key',
    '-subj',
    '/CN=dev',
    '-out',
    'dev.crt',
  ]);
  writeFileSync(join(work, 'kernel.bin'), randomBytes(2000));
  writeFileSync(join(work, 'control.dts'), '/dts-v1/;\n/ { };\n');
  run('dtc', ['-I', 'dts', '-O', 'dtb', '-o', 'control.dtb', 'control.dts']);
  fitFixture('.', 'image.itb');
  place('boot/image.itb', readFileSync(join(work, 'image.itb')));
  place('uboot/u-boot.dtb', readFileSync(join(work, 'control.dtb')));
  // Another "dev" key signs a second image: the estate's dev key does not verify it.
  mkdirSync(join(work, 'rogue'));
  run('openssl', ['genrsa', '-out', 'rogue/dev.key', '2048']);
  run('openssl', [
    'req',
    '-batch',
    '-new',
    '-x509',
    '-key',
    'rogue/dev.key',
    '-subj',
    '/CN=dev',
    '-out',
    'rogue/dev.crt',
  ]);
  fitFixture('rogue', 'rogue.itb');
  place('boot/rogue.itb', readFileSync(join(work, 'rogue.itb')));
  // A staging "dev" key whose certificate is in the estate, but not in U-Boot's control DTB.
  mkdirSync(join(work, 'staging'));
  run('openssl', ['genrsa', '-out', 'staging/dev.key', '2048']);
  run('openssl', [
    'req',
    '-batch',
    '-new',
    '-x509',
    '-key',
    'staging/dev.key',
    '-subj',
    '/CN=dev',
    '-out',
    'staging/dev.crt',
  ]);
  fitFixture('staging', 'staging.itb');
  place('boot/staging.itb', readFileSync(join(work, 'staging.itb')));
  place('keys/staging/dev.crt', readFileSync(join(work, 'staging/dev.crt')));
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

async function signaturesAt(store: Store): Promise<Map<string, AssetRow>> {
  const out = new Map<string, AssetRow>();
  for await (const a of store.assets({ kind: 'signature' }))
    for (const o of a.occurrences) out.set(o.path.slice(root.length + 1), a);
  return out;
}

for (const dialect of dialects())
  describe(`signers named by key hash on ${dialect}`, { skip }, () => {
    test('MCUboot KEYHASH and FIT key-name-hint signatures are checked with keys found elsewhere', async () => {
      const ctx = await openTestStore(dialect);
      try {
        const summary = await runScan({ roots: [root], store: ctx.store, threads: 0 });
        const sigs = await signaturesAt(ctx.store);
        const get = (p: string): { id: string; s: SignatureSummary } => {
          const a = sigs.get(p);
          assert.ok(a, `no signature at ${p}`);
          return { id: a.id, s: a.record as SignatureSummary };
        };
        const signedBy = async (id: string): Promise<Set<string>> =>
          new Set((await ctx.store.edges({ from: [id], kind: 'signed-by' })).map((e) => e.to));

        const ec = get('fw/ec.bin');
        assert.equal(ec.s.status, 'valid', ec.s.reason);
        assert.equal(ec.s.signer.keyId, ids.ec);
        assert.equal(ec.s.signatureAlgorithm, 'ecdsa-with-SHA256');
        assert.ok((await signedBy(ec.id)).has(keyRef(ids.ec!)));
        const rsa = get('fw/rsa.bin');
        assert.equal(rsa.s.status, 'valid', rsa.s.reason);
        assert.equal(rsa.s.signer.keyId, ids.rsa);
        assert.equal(rsa.s.signer.certificate, ids.rsaCert);
        assert.ok((await signedBy(rsa.id)).has(assetId('certificate', ids.rsaCert!)));
        const ed = get('fw/ed.bin');
        assert.equal(ed.s.status, 'valid', ed.s.reason);
        assert.equal(ed.s.signer.keyId, ids.ed);

        const lying = get('fw/lying.bin');
        assert.equal(lying.s.status, 'invalid');
        assert.match(lying.s.reason ?? '', /does not verify with the key of KEYHASH/);
        const orphan = get('fw/orphan.bin');
        assert.equal(orphan.s.status, 'unverified');
        assert.match(orphan.s.reason ?? '', /no known key has MCUboot KEYHASH/);
        assert.equal((await signedBy(orphan.id)).size, 0);

        const fit = get('boot/image.itb');
        assert.equal(fit.s.status, 'valid', fit.s.reason);
        assert.equal(fit.s.signer.keyId, ids.dev);
        assert.ok((await signedBy(fit.id)).has(keyRef(ids.dev!)));
        const rogue = get('boot/rogue.itb');
        assert.equal(rogue.s.status, 'invalid');
        assert.match(rogue.s.reason ?? '', /does not verify/);
        assert.equal(summary.invalidSignatures, 2);

        // Valid, but U-Boot only trusts its control DTB's keys: the staging-signed image is refused.
        const staging = get('boot/staging.itb');
        assert.equal(staging.s.status, 'valid', staging.s.reason);
        const at = Date.now();
        const findings = await gapFindings(ctx.store, await analyzeChains(ctx.store, { at }), { at });
        assert.deepEqual(
          findings.filter((f) => f.rule === 'KW-FIRMWARE-SIGNER-UNTRUSTED').map((f) => f.subject),
          [staging.id],
        );
      } finally {
        await ctx.dispose();
      }
    });
  });
