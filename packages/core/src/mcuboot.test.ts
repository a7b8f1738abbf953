/**
 * MCUboot images signed by the testkit builder (imgtool's layout, with node:crypto) under keys made
 * by `openssl genpkey`; the hash, the KEYHASH and every signature are cross-checked with openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildMcubootImage, hasTool, needTools } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import { isMcuboot, MCUBOOT_TLV, mcubootVersionText, parseMcuboot, type McubootImage } from './mcuboot.ts';

let dir = '';
const keys: Record<string, { key: KeyObject; pub: string }> = {};
const GENPKEY: Record<string, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ed25519: ['-algorithm', 'ED25519'],
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-mcuboot-'));
  if (!hasTool('openssl')) return;
  for (const [name, args] of Object.entries(GENPKEY)) {
    const file = join(dir, `${name}.key`);
    const pub = join(dir, `${name}.pub.pem`);
    execFileSync('openssl', ['genpkey', ...args, '-out', file], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-out', pub], { stdio: 'ignore' });
    keys[name] = { key: createPrivateKey(readFileSync(file)), pub };
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(bytes: Uint8Array): string {
  const p = join(dir, `blob-${n++}`);
  writeFileSync(p, bytes);
  return p;
}

const openssl = (args: string[]): Buffer => execFileSync('openssl', args);
const sha256 = (p: string): string => openssl(['dgst', '-sha256', '-binary', p]).toString('hex');

/** The public key bytes MCUboot hashes for KEYHASH, as openssl writes them. */
function embeddedKeyDer(name: string): string {
  const pub = keys[name]!.pub;
  const out = join(dir, `${name}.embedded.der`);
  const args =
    name === 'rsa'
      ? ['rsa', '-pubin', '-in', pub, '-RSAPublicKey_out', '-outform', 'DER', '-out', out]
      : ['pkey', '-pubin', '-in', pub, '-outform', 'DER', '-out', out];
  execFileSync('openssl', args, { stdio: 'ignore' });
  return out;
}

/** openssl's verdict on the signature TLV, with the scheme MCUboot uses for this key type. */
function opensslVerifies(name: string, img: McubootImage, buf: Buffer): boolean {
  const sig = img.signatures[0]!.tlv;
  const sigFile = file(buf.subarray(sig.start, sig.end));
  const pub = keys[name]!.pub;
  const covered = file(buf.subarray(0, img.hashedEnd));
  let args: string[];
  if (name === 'ed25519') {
    const digest = file(buf.subarray(img.hash!.tlv.start, img.hash!.tlv.end));
    args = ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', digest, '-sigfile', sigFile];
  } else {
    const pss = name === 'rsa' ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'] : [];
    args = ['dgst', '-sha256', ...pss, '-verify', pub, '-signature', sigFile, covered];
  }
  return spawnSync('openssl', args, { stdio: 'ignore' }).status === 0;
}

function coded(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CoreError, `expected CoreError, got ${String(e)}`);
    assert.match(e.message, reason);
    return true;
  });
}

const SCHEME: Record<string, string> = { rsa: 'rsa2048-pss', p256: 'ecdsa', ed25519: 'ed25519' };

describe('MCUboot images', () => {
  test('header, areas and TLVs are read at their offsets; openssl agrees on hash, keyhash, signature', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const name of Object.keys(GENPKEY)) {
      const body = randomBytes(1000 + n);
      const secCnt = Buffer.from([7, 0, 0, 0]);
      const buf = buildMcubootImage({
        key: keys[name]!.key,
        body,
        hdrSize: 0x200,
        loadAddr: 0x20000000,
        version: { major: 2, minor: 5, revision: 300, build: 70000 },
        protectedTlvs: [{ type: MCUBOOT_TLV.SEC_CNT, value: secCnt }],
      });
      assert.ok(isMcuboot(buf));
      const img = parseMcuboot(buf);
      assert.equal(img.hdrSize, 0x200);
      assert.equal(img.loadAddr, 0x20000000);
      assert.equal(img.imgSize, body.length);
      assert.deepEqual(buf.subarray(img.body.start, img.body.end), body);
      assert.equal(mcubootVersionText(img.version), '2.5.300+70000');
      assert.equal(img.protectTlvSize, 12);
      assert.equal(img.hashedEnd, 0x200 + body.length + 12);
      assert.equal(img.end, buf.length);
      const sec = img.tlvs[0]!;
      assert.equal(sec.name, 'SEC_CNT');
      assert.ok(sec.protected);
      assert.equal(sec.offset, 0x200 + body.length + 4);
      assert.deepEqual(buf.subarray(sec.start, sec.end), secCnt);
      assert.deepEqual(
        img.tlvs.map((x) => x.name),
        [
          'SEC_CNT',
          'SHA256',
          'KEYHASH',
          name === 'rsa' ? 'RSA2048_PSS' : name === 'p256' ? 'ECDSA_SIG' : 'ED25519',
        ],
      );
      assert.equal(img.hash?.algorithm, 'sha256');
      assert.equal(
        buf.toString('hex', img.hash.tlv.start, img.hash.tlv.end),
        sha256(file(buf.subarray(0, img.hashedEnd))),
      );
      assert.equal(img.signatures.length, 1);
      const s = img.signatures[0]!;
      assert.equal(s.scheme, SCHEME[name]);
      assert.equal(s.key?.name, 'KEYHASH');
      assert.equal(buf.toString('hex', s.key.start, s.key.end), sha256(embeddedKeyDer(name)), name);
      assert.ok(opensslVerifies(name, img, buf), `openssl verifies the ${name} signature`);
      assert.equal(img.pure, false);
    }
  });

  test('a PUBKEY entry carries the key as MCUboot embeds it', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const name of ['rsa', 'p256']) {
      const buf = buildMcubootImage({ key: keys[name]!.key, body: randomBytes(64), embedPublicKey: true });
      const s = parseMcuboot(buf).signatures[0]!;
      assert.equal(s.key?.name, 'PUBKEY');
      assert.deepEqual(buf.subarray(s.key.start, s.key.end), readFileSync(embeddedKeyDer(name)));
    }
  });

  test('one flipped body byte leaves the structure intact and breaks the openssl signature check', (t) => {
    if (!needTools(t, 'openssl')) return;
    const buf = buildMcubootImage({ key: keys.p256!.key, body: randomBytes(300) });
    buf[40]! ^= 1;
    const img = parseMcuboot(buf);
    assert.notEqual(
      buf.toString('hex', img.hash!.tlv.start, img.hash!.tlv.end),
      sha256(file(buf.subarray(0, img.hashedEnd))),
    );
    assert.equal(opensslVerifies('p256', img, buf), false);
  });

  test('an unsigned image has a hash and no signatures', () => {
    const img = parseMcuboot(buildMcubootImage({ body: Buffer.alloc(10) }));
    assert.equal(img.signatures.length, 0);
    assert.equal(img.hash?.algorithm, 'sha256');
    assert.equal(img.protectTlvSize, 0);
  });

  test('truncated and lying images fail with a coded error naming the offset', () => {
    const buf = buildMcubootImage({
      body: Buffer.alloc(100),
      protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }],
    });
    assert.equal(isMcuboot(Buffer.from('nope')), false);
    coded(() => parseMcuboot(buf.subarray(0, 20)), /header of 20 bytes/);
    coded(
      () => parseMcuboot(buf.subarray(0, 90)),
      /image body \[32, 132\) runs past the end \(90\): truncated/,
    );
    coded(() => parseMcuboot(buf.subarray(0, 134)), /protected TLV area header at offset 132 runs past/);
    coded(
      () => parseMcuboot(buf.subarray(0, buf.length - 3)),
      /TLV area at offset 144 of 40 bytes runs past the end \(181\)/,
    );
    coded(() => parseMcuboot(buf.subarray(0, 144)), /TLV area header at offset 144 runs past/);
    const lying = Buffer.from(buf);
    lying.writeUInt16LE(16, 10);
    coded(
      () => parseMcuboot(lying),
      /offset 148: magic 0x10, expected 0x6907|is 12 bytes, ih_protect_tlv_size says 16/,
    );
    const noProt = Buffer.from(buf);
    noProt.writeUInt16LE(0, 10);
    coded(() => parseMcuboot(noProt), /protected TLV area at offset 132 but ih_protect_tlv_size is 0/);
    const small = Buffer.from(buf);
    small.writeUInt16LE(8, 8);
    coded(() => parseMcuboot(small), /ih_hdr_size 8 at offset 8/);
    const tot = Buffer.from(buf);
    tot.writeUInt16LE(2, 146);
    coded(() => parseMcuboot(tot), /TLV area at offset 144 declares 2 bytes/);
  });

  test('random damage never throws anything but CoreError', () => {
    const buf = buildMcubootImage({
      body: randomBytes(80),
      protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }],
    });
    fc.assert(
      fc.property(
        fc.nat(buf.length),
        fc.array(fc.tuple(fc.nat(buf.length - 1), fc.nat(255)), { maxLength: 6 }),
        (cut, flips) => {
          const b = Buffer.from(buf.subarray(0, cut));
          for (const [i, v] of flips) if (i < b.length && i >= 4) b[i] = v;
          try {
            const img = parseMcuboot(b);
            assert.ok(img.end <= b.length && img.hashedEnd <= img.end);
          } catch (e) {
            if (!(e instanceof CoreError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
