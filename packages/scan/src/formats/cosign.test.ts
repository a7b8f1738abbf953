/**
 * detectCosign over the files cosign sign-blob writes, made with openssl (cosign is not in Debian):
 * F.sig as base64 of the signature value, F.pem as base64 of the certificate PEM.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { detectCosign } from './cosign.ts';

const skip = toolsMissing('openssl');
let dir = '';
let sigText = Buffer.alloc(0);
let certB64 = Buffer.alloc(0);
let certDer = Buffer.alloc(0);
let blob = Buffer.alloc(0);

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'kw-scan-cosign-'));
  const run = (args: string[]): Buffer => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'k.pem']);
  run(['req', '-new', '-x509', '-key', 'k.pem', '-subj', '/CN=cosign', '-days', '3', '-out', 'c.pem']);
  blob = randomBytes(3000);
  writeFileSync(join(dir, 'F'), blob);
  sigText = Buffer.from(run(['dgst', '-sha256', '-sign', 'k.pem', 'F']).toString('base64'));
  const pem = readFileSync(join(dir, 'c.pem'));
  certDer = Buffer.from(new X509Certificate(pem).raw);
  // cosign wraps nothing; the line-wrapped form (base64 -w 76) must read the same.
  certB64 = Buffer.from(pem.toString('base64').replace(/(.{76})/g, '$1\n'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cosign sign-blob files', { skip }, () => {
  test('F.sig is a pending signature over F with F’s digest', () => {
    const [o, ...rest] = detectCosign(sigText, join(dir, 'F.sig'));
    assert.equal(rest.length, 0);
    assert.equal(o?.type, 'signature');
    if (o?.type !== 'signature') return;
    const s = o.signature;
    assert.equal(s.format, 'cosign');
    assert.equal(s.status, 'unverified');
    assert.equal(s.signatureAlgorithm, 'ecdsa');
    assert.equal(s.artifact.sha256, createHash('sha256').update(blob).digest('hex'));
    assert.equal(s.artifact.size, blob.length);
    assert.equal(s.pending?.value, Buffer.from(sigText.toString(), 'base64').toString('hex'));
  });

  test('without F beside it, or inside an archive, the signature says why it cannot be paired', () => {
    const [a] = detectCosign(sigText, join(dir, 'missing.sig'));
    assert.ok(a?.type === 'signature');
    if (a?.type === 'signature') {
      assert.match(a.signature.reason ?? '', /missing is not beside the signature/);
      assert.equal(a.signature.pending, undefined);
    }
    const [m] = detectCosign(sigText, 'x.tar!/F.sig');
    assert.ok(m?.type === 'signature' && /archive member/.test(m.signature.reason ?? ''));
  });

  test('the base64 certificate file yields the certificate', () => {
    const [o, ...rest] = detectCosign(certB64, join(dir, 'F.pem'));
    assert.equal(rest.length, 0);
    assert.equal(o?.type, 'certificate');
    if (o?.type === 'certificate') assert.deepEqual(Buffer.from(o.der), certDer);
  });

  test('other text and bytes give nothing, and bounds hold', () => {
    assert.deepEqual(detectCosign(Buffer.from('not base64 at all!'), 'x.sig'), []);
    assert.deepEqual(detectCosign(Buffer.from('QUJD'), 'x.sig'), []); // 3 bytes: too short
    assert.deepEqual(detectCosign(Buffer.from('A'.repeat(8192)), 'x.sig'), []);
    assert.deepEqual(detectCosign(Buffer.from(randomBytes(600).toString('base64')), 'notes.txt'), []);
    assert.deepEqual(detectCosign(sigText), []); // a .sig only by its name
    // Base64 of a PEM whose body is broken: an unparseable certificate, not an exception.
    const broken = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    const [u] = detectCosign(Buffer.from(broken), 'F.pem');
    assert.equal(u?.type, 'unparseable');
  });
});
