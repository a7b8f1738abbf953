/**
 * Discovery of signed containers end to end: fixtures are signed with the tools vendors use (sbsign,
 * osslsigncode, the kernel's sign-file, openssl cms), scanned into a store, and the signer of each
 * must be identified, linked by key identity to the signing certificate's own file, and checked.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keyRef, assetId } from '@keywarden/store';
import { buildEfi, hasTool, needTools, opensslSigner, SIGN_FILE } from '@keywarden/testkit';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { certificates, signatures, type SignatureItem } from './inventory.ts';
import { buildReport } from './report.ts';
import { runScan } from './scan-job.ts';

const TOOLS = ['dpkg-deb', 'sbsign', 'osslsigncode', SIGN_FILE, 'openssl'];

async function list<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

let root = '';
let work = '';
const run = (cmd: string, args: string[]): Buffer => execFileSync(cmd, args, { cwd: work, stdio: 'pipe' });

before(() => {
  if (!TOOLS.every((t) => hasTool(t))) return;
  work = mkdtempSync(join(tmpdir(), 'kw-signed-work-'));
  root = mkdtempSync(join(tmpdir(), 'kw-signed-'));
  mkdirSync(join(root, 'firmware/efi'), { recursive: true });
  mkdirSync(join(root, 'firmware/modules'), { recursive: true });
  mkdirSync(join(root, 'signing'), { recursive: true });
  mkdirSync(join(root, 'cloud/ota'), { recursive: true });
  opensslSigner(work, 'db', 'Kestrel UEFI db signing', { days: 365, addext: 'extendedKeyUsage=codeSigning' });
  opensslSigner(work, 'ota', 'Kestrel OTA bundle signing', {
    newkey: 'ec',
    pkeyopt: 'ec_paramgen_curve:P-256',
    days: 365,
  });
  // The signing certificate also sits in its own file: the scan must tie the signer to it.
  writeFileSync(join(root, 'signing/db.crt'), readFileSync(join(work, 'db.crt')));
  writeFileSync(join(work, 'app.efi'), buildEfi({ is64: true }));
  run('sbsign', ['--key', 'db.key', '--cert', 'db.crt', '--output', 'shim.efi', 'app.efi']);
  run('osslsigncode', [
    'sign',
    '-certs',
    'db.crt',
    '-key',
    'db.key',
    '-h',
    'sha384',
    '-in',
    'app.efi',
    '-out',
    'grub.efi',
  ]);
  const shim = readFileSync(join(work, 'shim.efi'));
  writeFileSync(join(root, 'firmware/efi/shimx64.efi'), shim);
  writeFileSync(join(root, 'firmware/efi/grubx64.efi'), readFileSync(join(work, 'grub.efi')));
  const tampered = Buffer.from(shim);
  tampered[0x400]! ^= 0x01; // inside .text: the image digest no longer matches
  writeFileSync(join(root, 'firmware/efi/tampered.efi'), tampered);
  writeFileSync(join(root, 'firmware/efi/truncated.efi'), shim.subarray(0, shim.length - 200));
  writeFileSync(join(work, 'mod.ko'), Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(4000, 0x5a)]));
  run(SIGN_FILE, ['sha256', 'db.key', 'db.crt', 'mod.ko']);
  const mod = readFileSync(join(work, 'mod.ko'));
  writeFileSync(join(root, 'firmware/modules/mod.ko'), mod);
  const modBad = Buffer.from(mod);
  modBad[100]! ^= 0x01;
  writeFileSync(join(root, 'firmware/modules/tampered.ko'), modBad);
  // Signed by a key whose certificate is nowhere in the estate.
  const orphan = opensslSigner(work, 'o', 'Orphan', { days: 9 });
  writeFileSync(join(work, 'orphan.ko'), Buffer.alloc(500, 0x33));
  run(SIGN_FILE, ['sha256', orphan.key, orphan.cert, 'orphan.ko']);
  writeFileSync(join(root, 'firmware/modules/orphan.ko'), readFileSync(join(work, 'orphan.ko')));
  // A Debian package shipping the signed bootloader and module, the way a distribution does.
  const pkg = join(work, 'pkg');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/lib/shim'), { recursive: true });
  mkdirSync(join(pkg, 'lib/modules/6.1/extra'), { recursive: true });
  writeFileSync(
    join(pkg, 'DEBIAN/control'),
    'Package: kestrel-boot\nVersion: 1.0\nArchitecture: amd64\nMaintainer: Kestrel <pki@kestrel.example>\nDescription: signed boot chain\n',
  );
  writeFileSync(join(pkg, 'usr/lib/shim/shimx64.efi.signed'), shim);
  writeFileSync(join(pkg, 'lib/modules/6.1/extra/kestrel.ko'), mod);
  run('dpkg-deb', ['-Zxz', '--root-owner-group', '--build', 'pkg', 'kestrel-boot.deb']);
  writeFileSync(
    join(root, 'firmware/kestrel-boot_1.0_amd64.deb'),
    readFileSync(join(work, 'kestrel-boot.deb')),
  );
  writeFileSync(join(work, 'bundle.bin'), Buffer.alloc(3000, 0x42));
  run('openssl', [
    'cms',
    '-sign',
    '-binary',
    '-nodetach',
    '-in',
    'bundle.bin',
    '-signer',
    'ota.crt',
    '-inkey',
    'ota.key',
    '-outform',
    'DER',
    '-out',
    'bundle.p7m',
  ]);
  writeFileSync(join(root, 'cloud/ota/bundle.p7m'), readFileSync(join(work, 'bundle.p7m')));
  // A detached signature beside the file it signs, and the same signature beside a modified copy.
  run('openssl', [
    'cms',
    '-sign',
    '-binary',
    '-in',
    'bundle.bin',
    '-signer',
    'ota.crt',
    '-inkey',
    'ota.key',
    '-outform',
    'DER',
    '-out',
    'bundle.bin.p7s',
  ]);
  mkdirSync(join(root, 'cloud/ota/mirror'), { recursive: true });
  for (const d of ['cloud/ota', 'cloud/ota/mirror'])
    writeFileSync(join(root, d, 'update.bin.p7s'), readFileSync(join(work, 'bundle.bin.p7s')));
  writeFileSync(join(root, 'cloud/ota/update.bin'), readFileSync(join(work, 'bundle.bin')));
  writeFileSync(join(root, 'cloud/ota/mirror/update.bin'), Buffer.alloc(3000, 0x43));
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const dialect of dialects())
  describe(`signed containers on ${dialect}`, () => {
    test('each signer is identified, linked by key identity and checked; tampering and truncation show', async (t) => {
      if (!needTools(t, ...TOOLS)) return;
      const ctx = await openTestStore(dialect);
      try {
        const summary = await runScan({ roots: [root], store: ctx.store, threads: 0 });
        const sigs = await list(signatures(ctx.store));
        const at = (suffix: string): SignatureItem[] =>
          sigs.filter((s) => s.occurrences.some((o) => o.path.endsWith(suffix)));
        const dbCert = (await list(certificates(ctx.store))).find(
          (c) => c.subject === 'CN=Kestrel UEFI db signing',
        );
        assert.ok(dbCert, 'the signing certificate is in the inventory');
        const places = dbCert.occurrences.map((o) => o.path.slice(root.length)).sort();
        // Its own file, and the certificate sets of the sbsign and osslsigncode signatures.
        for (const p of ['/signing/db.crt', '/firmware/efi/shimx64.efi', '/firmware/efi/grubx64.efi'])
          assert.ok(places.includes(p), `${p} in ${places.join(', ')}`);

        const [shim] = at('shimx64.efi');
        assert.equal(shim?.format, 'authenticode');
        assert.equal(shim.status, 'valid', shim.reason);
        assert.equal(shim.signer.keyId, dbCert.keyId);
        assert.equal(shim.signer.certificate, dbCert.sha256);
        assert.equal(shim.digestAlgorithm, 'sha256');
        assert.equal(shim.signer.keyAlgorithm, 'RSA');
        assert.equal(at('grubx64.efi')[0]?.digestAlgorithm, 'sha384');
        assert.equal(at('grubx64.efi')[0]?.status, 'valid');

        const [bad] = at('tampered.efi');
        assert.equal(bad?.status, 'invalid');
        assert.match(bad.reason ?? '', /image digest/);
        assert.equal(bad.signer.keyId, dbCert.keyId, 'a tampered image still names its signer');

        const problems = await ctx.store.problems();
        const cut = problems.find((p) => p.path.endsWith('truncated.efi'));
        assert.ok(cut, 'the truncated image is recorded as a problem');
        assert.match(cut.reason, /past the end|truncated|runs past/i);

        // sign-file leaves the certificate out; the signer is named by issuer and serial, and checked
        // with the key of the certificate found elsewhere in the estate.
        const [mod] = at('/mod.ko');
        assert.equal(mod?.format, 'module-signature');
        assert.equal(mod.signer.issuer, 'CN=Kestrel UEFI db signing');
        assert.equal(mod.signer.serial, dbCert.serial);
        assert.equal(mod.status, 'valid', mod.reason);
        assert.equal(mod.signer.keyId, dbCert.keyId);
        assert.equal(mod.artifact.size, 4004);
        const [modBad] = at('/tampered.ko');
        assert.equal(modBad?.status, 'invalid');
        const [orphan] = at('/orphan.ko');
        assert.equal(orphan?.status, 'unverified', 'no certificate for this signer anywhere');
        assert.match(orphan.reason ?? '', /certificate/);

        // Inside the package: the same signatures, at their nested locations, checked as well.
        const debShim = at('.deb!/data.tar.xz!/usr/lib/shim/shimx64.efi.signed');
        assert.equal(debShim.length, 1, 'the package lists its bootloader signer');
        assert.equal(debShim[0]!.id, shim.id, 'the same signature on the same bytes is one signature');
        assert.equal(debShim[0]!.status, 'valid');
        const debMod = at('.deb!/data.tar.xz!/lib/modules/6.1/extra/kestrel.ko');
        assert.equal(debMod[0]?.status, 'valid');
        assert.equal(debMod[0]?.signer.keyId, dbCert.keyId);

        const [ota] = at('bundle.p7m');
        assert.equal(ota?.format, 'cms');
        assert.equal(ota.status, 'valid', ota.reason);
        assert.equal(
          ota.signatureAlgorithm.includes('ecdsa') || ota.signatureAlgorithm.includes('SHA256'),
          true,
        );

        // The detached signature is checked over the file beside it, and covers that file.
        const [detached] = at('/cloud/ota/update.bin.p7s');
        assert.equal(detached?.status, 'valid', detached?.reason);
        assert.equal(
          detached.artifact.sha256,
          createHash('sha256').update(Buffer.alloc(3000, 0x42)).digest('hex'),
        );
        const [mirrored] = at('/mirror/update.bin.p7s');
        assert.equal(mirrored?.status, 'invalid');
        assert.match(mirrored.reason ?? '', /digest/i);

        const edges = await ctx.store.edges({ from: [assetId('signature', shim.id)] });
        assert.deepEqual(
          edges.map((e) => [e.kind, e.to]).sort(),
          [
            ['covers', assetId('artifact', shim.artifact.sha256)],
            ['signed-by', assetId('certificate', dbCert.sha256)],
            ['signed-by', keyRef(dbCert.keyId!)],
          ].sort(),
        );
        assert.equal(summary.invalidSignatures, 3, JSON.stringify(summary));
        const report = await buildReport(ctx.store, { at: Date.now() });
        assert.equal(
          report.signatures.invalid,
          3,
          'the tampered image, the tampered module, the modified update',
        );
        assert.equal(report.signatures.unverified, 1, 'the orphan module');
        const invalid = report.findings
          .filter((f) => f.rule === 'KW-SIGNATURE-INVALID')
          .map((f) => f.subject);
        assert.ok(
          invalid.some((p) => p.endsWith('tampered.efi')) && invalid.some((p) => p.endsWith('tampered.ko')),
        );
      } finally {
        await ctx.dispose();
      }
    });
  });
