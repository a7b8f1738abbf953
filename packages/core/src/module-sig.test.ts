/**
 * Kernel module signature trailers, made by the kernel's own scripts/sign-file (Debian
 * linux-kbuild-6.1) over a stand-in module, and cross-checked with `openssl cms -verify`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasTool, needTools, opensslSigner, SIGN_FILE } from '@keywarden/testkit';
import { parseSignedData, verifySigner } from './cms.ts';
import { CoreError } from './error.ts';
import { findModuleSignature } from './module-sig.ts';

const MAGIC = Buffer.from('~Module signature appended~\n', 'latin1');

let dir = '';
let key = '';
let cert = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-modsig-'));
  if (!hasTool('openssl')) return;
  ({ key, cert } = opensslSigner(dir, 'signing_key', 'Keywarden test module signer', { der: true, days: 2 }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

let seqNo = 0;

/** A stand-in .ko (sign-file does not look inside it), signed in place; also the -p copy of the CMS. */
function signModule(size: number, hash = 'sha256'): { original: Buffer; signed: Buffer; p7s: Buffer } {
  const original = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), randomBytes(size - 7)]);
  const mod = join(dir, `mod-${seqNo++}.ko`);
  writeFileSync(mod, original);
  execFileSync(SIGN_FILE, ['-p', hash, key, cert, mod], { stdio: 'ignore' });
  return { original, signed: readFileSync(mod), p7s: readFileSync(`${mod}.p7s`) };
}

/** `openssl cms -verify` of the detached signature over the given content (chain not checked). */
function opensslVerifies(p7s: Uint8Array, content: Uint8Array): boolean {
  const sig = join(dir, `sig-${seqNo}.p7s`);
  const data = join(dir, `data-${seqNo++}`);
  writeFileSync(sig, p7s);
  writeFileSync(data, content);
  const args = ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', data];
  const r = spawnSync('openssl', [...args, '-certfile', cert, '-noverify', '-out', '/dev/null'], {
    stdio: 'ignore',
  });
  return r.status === 0;
}

function coded(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CoreError, `expected CoreError, got ${String(e)}`);
    assert.match(e.message, reason);
    return true;
  });
}

describe('module signatures from sign-file', () => {
  test('the trailer frames the PKCS#7 sign-file wrote, over exactly the original bytes', (t) => {
    if (!needTools(t, 'openssl', SIGN_FILE)) return;
    for (const [size, hash] of [
      [3000, 'sha256'],
      [17, 'sha512'],
    ] as const) {
      const { original, signed, p7s } = signModule(size, hash);
      const sig = findModuleSignature(signed);
      assert.ok(sig);
      assert.equal(sig.signedLength, original.length);
      assert.equal(sig.idType, 2);
      assert.equal(sig.idTypeName, 'pkcs7');
      assert.deepEqual(signed.subarray(0, sig.signedLength), original);
      assert.deepEqual(signed.subarray(sig.pkcs7.start, sig.pkcs7.end), p7s);
      assert.equal(sig.pkcs7.end, signed.length - 40);
      // sign-file's SignedData: detached id-data, no certificates, one signer without attributes.
      const sd = parseSignedData(signed, sig.pkcs7.start, sig.pkcs7.end);
      assert.equal(sd.contentType, '1.2.840.113549.1.7.1');
      assert.equal(sd.content, undefined);
      assert.deepEqual(sd.certificates, []);
      assert.equal(sd.signers.length, 1);
      const signer = sd.signers[0]!;
      assert.equal(signer.digestAlgorithm, hash);
      assert.equal(signer.signedAttrs, undefined);
      // Detached over buf[0, signedLength): cms.ts and openssl agree, and both refuse a changed byte.
      const content = signed.subarray(0, sig.signedLength);
      const tampered = Buffer.from(content);
      tampered[size >> 1]! ^= 0x80;
      const certificate = readFileSync(cert);
      assert.equal(verifySigner(signed, sd, signer, { content, certificate }).status, 'valid');
      assert.equal(verifySigner(signed, sd, signer, { content: tampered, certificate }).status, 'invalid');
      const range = signed.subarray(sig.pkcs7.start, sig.pkcs7.end);
      assert.ok(opensslVerifies(range, content));
      assert.equal(opensslVerifies(range, tampered), false);
    }
  });

  test('no trailer: undefined, for unsigned, empty and short inputs', (t) => {
    if (!needTools(t, 'openssl', SIGN_FILE)) return;
    const { original, signed } = signModule(500);
    assert.equal(findModuleSignature(original), undefined);
    assert.equal(findModuleSignature(new Uint8Array(0)), undefined);
    assert.equal(findModuleSignature(MAGIC.subarray(1)), undefined);
    assert.equal(findModuleSignature(signed.subarray(0, signed.length - 1)), undefined); // cut at the end
  });

  test('a trailer that lies raises CoreError with the offset and the reason', (t) => {
    if (!needTools(t, 'openssl', SIGN_FILE)) return;
    const { signed } = signModule(400);
    const ms = signed.length - 40;
    const sigLen = signed.readUInt32BE(ms + 8);
    coded(() => findModuleSignature(MAGIC), /magic at offset 0 without the 12-byte module_signature/);

    const huge = Buffer.from(signed);
    huge.writeUInt32BE(signed.length, ms + 8);
    coded(
      () => findModuleSignature(huge),
      new RegExp(`at offset ${ms} declares \\d+ signature bytes, only ${ms}`),
    );

    const empty = Buffer.from(signed);
    empty.writeUInt32BE(0, ms + 8);
    coded(() => findModuleSignature(empty), /declares an empty signature/);

    const offByOne = Buffer.from(signed);
    offByOne.writeUInt32BE(sigLen + 1, ms + 8);
    coded(() => findModuleSignature(offByOne), /trailing bytes|runs past|DER|tag/);

    const signer = Buffer.from(signed);
    signer[ms + 3] = 4; // signer_len, which PKCS#7 trailers must leave zero
    coded(() => findModuleSignature(signer), /PKCS#7 but has non-zero algo\/hash\/length\/pad fields/);

    // A byte cut out of the middle of the signature: the lengths no longer frame the DER.
    const cut = Buffer.concat([signed.subarray(0, ms - 100), signed.subarray(ms - 99)]);
    assert.throws(() => findModuleSignature(cut), CoreError);
  });

  test('pre-4.3 id types are reported with their signer and key id lengths accounted for', () => {
    const body = Buffer.from('module body');
    const signer = Buffer.from('Signer');
    const keyId = Buffer.alloc(20, 0xab);
    const raw = Buffer.alloc(64, 0x5a);
    const ms = Buffer.alloc(12);
    ms[0] = 1; // algo RSA
    ms[1] = 4; // hash SHA-256 in the old numbering
    ms[2] = 1; // PKEY_ID_X509
    ms[3] = signer.length;
    ms[4] = keyId.length;
    ms.writeUInt32BE(raw.length, 8);
    const buf = Buffer.concat([body, signer, keyId, raw, ms, MAGIC]);
    const sig = findModuleSignature(buf);
    assert.deepEqual(sig, {
      signedLength: body.length,
      idType: 1,
      idTypeName: 'x509',
      pkcs7: { start: body.length + signer.length + keyId.length, end: buf.length - 40 },
    });
  });

  test('mutated trailers never throw anything but CoreError', (t) => {
    if (!needTools(t, 'openssl', SIGN_FILE)) return;
    const { signed } = signModule(64);
    const tail = 40 + 32;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(tail - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(signed.length),
        (edits, from) => {
          const b = Buffer.from(signed.subarray(Math.min(from, signed.length - 28)));
          for (const [at, v] of edits) if (at < b.length - 28) b[b.length - 28 - 1 - at] = v;
          try {
            const sig = findModuleSignature(b);
            if (sig) assert.ok(sig.signedLength >= 0 && sig.pkcs7.end <= b.length - 40);
          } catch (e) {
            if (!(e instanceof CoreError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
