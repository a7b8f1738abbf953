import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { opensslSigner, toolsMissing } from '@keywarden/testkit';
import { openTestStore } from '../../store/src/dialects.test-helper.ts';
import { signatures, type SignatureItem } from './inventory.ts';
import { runScan } from './scan-job.ts';

/** RAUC bundles made by `rauc bundle` (plain format): the signer is identified and checked. */
describe('RAUC bundles', { skip: toolsMissing('openssl', 'rauc', 'mksquashfs') }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-rauc-'));
  const estate = join(dir, 'estate');
  let ctx: Awaited<ReturnType<typeof openTestStore>>;
  let signerCert: string;
  before(async () => {
    const signer = opensslSigner(dir, 'rauc', 'Acme RAUC release', {
      newkey: 'ec',
      pkeyopt: 'ec_paramgen_curve:P-256',
    });
    signerCert = signer.cert;
    const content = join(dir, 'content');
    mkdirSync(content);
    writeFileSync(join(content, 'rootfs.img'), Buffer.alloc(64 * 1024, 7));
    writeFileSync(
      join(content, 'manifest.raucm'),
      '[update]\ncompatible=kw-test\nversion=1.0\n\n[image.rootfs]\nfilename=rootfs.img\n',
    );
    mkdirSync(join(estate, 'ota'), { recursive: true });
    const bundle = join(estate, 'ota', 'update.raucb');
    execFileSync('rauc', ['bundle', '--cert', signer.cert, '--key', signer.key, content, bundle], {
      stdio: 'ignore',
    });
    copyFileSync(signer.cert, join(estate, 'ota', 'signer.crt'));
    // A byte of the SquashFS image changed after signing, and a bundle cut inside its signature.
    const bytes = readFileSync(bundle);
    const patched = Buffer.from(bytes);
    patched[200] = patched[200]! ^ 0xff;
    writeFileSync(join(estate, 'ota', 'patched.raucb'), patched);
    writeFileSync(
      join(estate, 'ota', 'cut.raucb'),
      Buffer.concat([bytes.subarray(0, bytes.length - 300), bytes.subarray(bytes.length - 8)]),
    );
    ctx = await openTestStore('sqlite');
    await runScan({ roots: [estate], store: ctx.store, at: Date.now(), threads: 0 });
  });
  after(async () => {
    await ctx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the signer of a bundle is identified, linked to its certificate and valid; a patched image is invalid', async () => {
    const sigs: SignatureItem[] = [];
    for await (const s of signatures(ctx.store)) sigs.push(s);
    const of = (name: string) => sigs.find((s) => s.occurrences.some((o) => o.path.endsWith(name)));
    const good = of('update.raucb')!;
    assert.equal(good.status, 'valid', good.reason);
    assert.equal(good.artifact.format, 'rauc-bundle');
    assert.match(good.signer.subject ?? '', /Acme RAUC release/);
    const der = execFileSync('openssl', ['x509', '-in', signerCert, '-outform', 'DER']);
    const fp = (await import('node:crypto')).createHash('sha256').update(der).digest('hex');
    assert.equal(good.signer.certificate, fp, 'the same certificate as signer.crt');
    assert.equal(of('patched.raucb')?.status, 'invalid');
  });

  test('a bundle cut inside its signature is unparseable with the reason', async () => {
    const problems = await ctx.store.problems();
    const cut = problems.find((p) => p.path.endsWith('cut.raucb'));
    assert.ok(cut, JSON.stringify(problems));
    assert.equal(cut.status, 'unparseable');
    assert.match(cut.reason, /RAUC bundle signature/);
  });
});
