/**
 * cosign blob signatures end to end. cosign is not packaged for Debian, so openssl makes the same
 * files: `openssl dgst -sha256 -sign` gives the ASN.1 ECDSA (or PKCS#1 v1.5) value cosign's
 * sign-blob writes, base64-encoded into F.sig; the certificate file is the PEM base64-encoded again,
 * as `--output-certificate` writes it. The scan must pair F.sig with F and with the certificate or
 * public key beside them, and check the signature over F's bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SignatureSummary } from '@keywarden/core';
import { assetId, keyRef, type AssetRow, type Store } from '@keywarden/store';
import { toolsMissing } from '@keywarden/testkit';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { runScan } from './scan-job.ts';

const TOOLS = ['openssl', 'tar'];
const skip = toolsMissing(...TOOLS);

let root = '';
let work = '';
const ids: Record<string, string> = {};
const run = (cmd: string, args: string[]): Buffer => execFileSync(cmd, args, { cwd: work, stdio: 'pipe' });
const b64 = (b: Buffer): string => b.toString('base64');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A key pair in `work` (private key never leaves it) and its SPKI identity. */
function keyPair(name: string, kind: 'ec' | 'rsa' | 'ed25519'): string {
  if (kind === 'ec')
    run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  else if (kind === 'rsa') run('openssl', ['genrsa', '-out', `${name}.key`, '2048']);
  else run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', `${name}.key`]);
  run('openssl', ['pkey', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`]);
  return sha256(run('openssl', ['pkey', '-in', `${name}.key`, '-pubout', '-outform', 'DER']));
}

/** What cosign sign-blob writes for `blob` with `key`: base64 of the signature value. */
function signBlob(key: string, blob: string, ed25519 = false): string {
  const sig = ed25519
    ? run('openssl', ['pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', blob])
    : run('openssl', ['dgst', '-sha256', '-sign', key, blob]);
  return b64(sig);
}

function place(dir: string, files: Record<string, string | Buffer>): void {
  mkdirSync(join(root, dir), { recursive: true });
  for (const [n, v] of Object.entries(files)) writeFileSync(join(root, dir, n), v);
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'kw-cosign-work-'));
  root = mkdtempSync(join(tmpdir(), 'kw-cosign-'));
  const blob = randomBytes(5000);
  writeFileSync(join(work, 'app.tar'), blob);
  // Keyless-style: an ephemeral EC key and its certificate, base64 PEM beside the signature.
  ids.fulcioKey = keyPair('fulcio', 'ec');
  run('openssl', [
    'req',
    '-new',
    '-x509',
    '-key',
    'fulcio.key',
    '-subj',
    '/CN=ci@kestrel.example',
    '-days',
    '30',
    '-out',
    'fulcio.crt',
  ]);
  const certPem = readFileSync(join(work, 'fulcio.crt'));
  ids.fulcioCert = sha256(new X509Certificate(certPem).raw);
  const sig = signBlob('fulcio.key', 'app.tar');
  place('release', { 'app.tar': blob, 'app.tar.sig': sig, 'app.tar.pem': b64(certPem) });
  const tampered = Buffer.from(blob);
  tampered[10]! ^= 1;
  place('release', { 'tampered.tar': tampered, 'tampered.tar.sig': sig, 'tampered.tar.pem': b64(certPem) });
  // Key-based: cosign.pub in the same directory; plain PEM certificates are accepted too (rsa).
  ids.ecKey = keyPair('cosign', 'ec');
  writeFileSync(join(work, 'tool.bin'), 'tool v1\n');
  place('keyed', {
    'tool.bin': 'tool v1\n',
    'tool.bin.sig': signBlob('cosign.key', 'tool.bin'),
    'cosign.pub': readFileSync(join(work, 'cosign.pub')),
  });
  ids.edKey = keyPair('ed', 'ed25519');
  place('keyed-ed', {
    'tool.bin': 'tool v1\n',
    'tool.bin.sig': signBlob('ed.key', 'tool.bin', true),
    'cosign.pub': readFileSync(join(work, 'ed.pub')),
  });
  ids.rsaKey = keyPair('rsa', 'rsa');
  run('openssl', [
    'req',
    '-new',
    '-x509',
    '-key',
    'rsa.key',
    '-subj',
    '/CN=rsa-signer',
    '-days',
    '30',
    '-out',
    'rsa.crt',
  ]);
  place('rsa', {
    'tool.bin': 'tool v1\n',
    'tool.bin.sig': signBlob('rsa.key', 'tool.bin'),
    'tool.bin.crt': readFileSync(join(work, 'rsa.crt')),
  });
  // A key beside it that did not make the signature: a mismatch.
  keyPair('other', 'ec');
  place('wrong-key', {
    'tool.bin': 'tool v1\n',
    'tool.bin.sig': signBlob('cosign.key', 'tool.bin'),
    'cosign.pub': readFileSync(join(work, 'other.pub')),
  });
  place('no-key', { 'tool.bin': 'tool v1\n', 'tool.bin.sig': signBlob('cosign.key', 'tool.bin') });
  place('no-artifact', {
    'gone.bin.sig': signBlob('cosign.key', 'tool.bin'),
    'cosign.pub': readFileSync(join(work, 'cosign.pub')),
  });
  // The three inside one archive directory.
  mkdirSync(join(work, 'pkg/dist'), { recursive: true });
  writeFileSync(join(work, 'pkg/dist/app.tar'), blob);
  writeFileSync(join(work, 'pkg/dist/app.tar.sig'), sig);
  writeFileSync(join(work, 'pkg/dist/app.tar.pem'), b64(certPem));
  run('tar', ['-cf', join(root, 'bundle.tar'), '-C', join(work, 'pkg'), 'dist']);
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

async function cosignSignatures(store: Store): Promise<Map<string, AssetRow>> {
  const out = new Map<string, AssetRow>();
  for await (const a of store.assets({ kind: 'signature' }))
    for (const o of a.occurrences) if (o.format === 'cosign') out.set(o.path.slice(root.length + 1), a);
  return out;
}

for (const dialect of dialects())
  describe(`cosign blob signatures on ${dialect}`, { skip }, () => {
    test('F.sig pairs with F and the certificate or key beside it; tampering and absence show', async () => {
      const ctx = await openTestStore(dialect);
      try {
        const summary = await runScan({ roots: [root], store: ctx.store, threads: 0 });
        const sigs = await cosignSignatures(ctx.store);
        const rec = (p: string): SignatureSummary => {
          const a = sigs.get(p);
          assert.ok(a, `no cosign signature recorded at ${p}`);
          return a.record as SignatureSummary;
        };

        const app = rec('release/app.tar.sig');
        assert.equal(app.status, 'valid', app.reason);
        assert.equal(app.signatureAlgorithm, 'ecdsa-with-SHA256');
        assert.equal(app.digestAlgorithm, 'sha256');
        assert.equal(app.artifact.sha256, sha256(readFileSync(join(root, 'release/app.tar'))));
        assert.equal(app.signer.certificate, ids.fulcioCert);
        assert.equal(app.signer.keyId, ids.fulcioKey);
        assert.equal(app.signer.subject, 'CN=ci@kestrel.example');
        assert.equal(app.pending, undefined);
        const appId = sigs.get('release/app.tar.sig')!.id;
        const edges = await ctx.store.edges({ from: [appId] });
        const to = new Set(edges.filter((e) => e.kind === 'signed-by').map((e) => e.to));
        assert.ok(to.has(keyRef(ids.fulcioKey!)));
        assert.ok(to.has(assetId('certificate', ids.fulcioCert!)));
        assert.ok(
          edges.some((e) => e.kind === 'covers' && e.to === assetId('artifact', app.artifact.sha256)),
        );

        const bad = rec('release/tampered.tar.sig');
        assert.equal(bad.status, 'invalid');
        assert.match(bad.reason ?? '', /does not verify/);
        assert.equal(
          bad.signer.certificate,
          ids.fulcioCert,
          'the certificate beside it is the declared signer',
        );

        const keyed = rec('keyed/tool.bin.sig');
        assert.equal(keyed.status, 'valid', keyed.reason);
        assert.equal(keyed.signer.keyId, ids.ecKey);
        assert.equal(keyed.signer.certificate, undefined);
        const ed = rec('keyed-ed/tool.bin.sig');
        assert.equal(ed.status, 'valid', ed.reason);
        assert.equal(ed.signatureAlgorithm, 'Ed25519');
        assert.equal(ed.signer.keyId, ids.edKey);
        const rsa = rec('rsa/tool.bin.sig');
        assert.equal(rsa.status, 'valid', rsa.reason);
        assert.equal(rsa.signatureAlgorithm, 'sha256WithRSAEncryption');
        assert.equal(rsa.signer.keyId, ids.rsaKey);

        const wrong = rec('wrong-key/tool.bin.sig');
        assert.equal(wrong.status, 'invalid');
        assert.equal(wrong.signer.keyId, undefined);
        const none = rec('no-key/tool.bin.sig');
        assert.equal(none.status, 'unverified');
        assert.match(none.reason ?? '', /no certificate tool\.bin\.pem/);
        assert.ok(none.pending, 'kept for a later scan that brings the key');
        const gone = rec('no-artifact/gone.bin.sig');
        assert.equal(gone.status, 'unverified');
        assert.match(gone.reason ?? '', /gone\.bin is not beside the signature/);
        const member = rec('bundle.tar!/dist/app.tar.sig');
        assert.equal(member.status, 'unverified');
        assert.match(member.reason ?? '', /archive member/);
        // The base64 certificate file inside the archive is still read as a certificate.
        const certs: string[] = [];
        for await (const c of ctx.store.assets({ kind: 'certificate' }))
          certs.push(...c.occurrences.map((o) => o.path));
        assert.ok(
          certs.some((p) => p.endsWith('bundle.tar!/dist/app.tar.pem')),
          certs.join(', '),
        );
        assert.equal(summary.invalidSignatures, 2);
      } finally {
        await ctx.dispose();
      }
    });
  });
