/**
 * The PE/COFF reader and the Authenticode image digest, checked against the tools that sign UEFI
 * images on Debian: sbsign/sbverify (sbsigntool) and osslsigncode. The images are minimal EFI
 * applications written by the builder below; the keys are made with openssl at test time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildEfi, EFI_LFANEW, hasTool, needTools, opensslSigner } from '@keywarden/testkit';
import { parseSignedData, verifySigner, type SignedData } from './cms.ts';
import { CoreError } from './error.ts';
import {
  authenticodeDigest,
  isPe,
  parsePe,
  parseSpcIndirectData,
  WIN_CERT_TYPE_PKCS_SIGNED_DATA,
  type PeImage,
} from './pe.ts';

const SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';

let dir = '';
let key = '';
let cert = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-pe-'));
  if (!hasTool('openssl')) return;
  ({ key, cert } = opensslSigner(dir, 'uefi', 'Keywarden test UEFI signer', { days: 2 }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

let seqNo = 0;
function file(bytes: Uint8Array): string {
  const p = join(dir, `img-${seqNo++}.efi`);
  writeFileSync(p, bytes);
  return p;
}

function sbsign(input: Buffer): Buffer {
  const src = file(input);
  const out = `${src}.signed`;
  execFileSync('sbsign', ['--key', key, '--cert', cert, '--output', out, src], { stdio: 'ignore' });
  return readFileSync(out);
}

function osslsign(input: Buffer, extra: string[] = []): Buffer {
  const src = file(input);
  const out = `${src}.signed`;
  execFileSync('osslsigncode', ['sign', '-certs', cert, '-key', key, ...extra, '-in', src, '-out', out], {
    stdio: 'ignore',
  });
  return readFileSync(out);
}

function sbverify(image: Uint8Array): boolean {
  return spawnSync('sbverify', ['--cert', cert, file(image)], { stdio: 'ignore' }).status === 0;
}

/** osslsigncode's "Current message digest" of each signature, in index order (lowercase hex). */
function osslDigests(image: Uint8Array): { algorithm: string; current: string; calculated: string }[] {
  const r = spawnSync('osslsigncode', ['verify', '-in', file(image)], { encoding: 'utf8' });
  const out: { algorithm: string; current: string; calculated: string }[] = [];
  const re =
    /Message digest algorithm\s*:\s*(\S+)\s+Current message digest\s*:\s*([0-9A-F]+)\s+Calculated message digest\s*:\s*([0-9A-F]+)/g;
  for (const m of r.stdout.matchAll(re))
    out.push({
      algorithm: m[1]!.toLowerCase(),
      current: m[2]!.toLowerCase(),
      calculated: m[3]!.toLowerCase(),
    });
  return out;
}

/** The SignedData in WIN_CERTIFICATE `index` (through cms.ts) and the digest its SpcIndirectData claims. */
function signature(buf: Uint8Array, pe: PeImage, index = 0) {
  const c = pe.certificates[index];
  assert.ok(c, `certificate entry ${index}`);
  const sd = parseSignedData(buf, c.data.start, c.data.end);
  assert.equal(sd.contentType, SPC_INDIRECT_DATA);
  assert.ok(sd.content, 'SpcIndirectDataContent is encapsulated');
  return { sd, spc: parseSpcIndirectData(buf, sd.content) };
}

function claimed(buf: Uint8Array, pe: PeImage) {
  return signature(buf, pe).spc;
}

/** Every signer of the SignedData (and of nested ones) verifies over its SpcIndirectData. */
function signersValid(buf: Uint8Array, sd: SignedData): void {
  for (const signer of sd.signers) {
    assert.equal(verifySigner(buf, sd, signer).status, 'valid');
    for (const n of signer.nested) signersValid(buf, n);
  }
}

function flip(buf: Uint8Array, at: number): Buffer {
  const b = Buffer.from(buf);
  b[at]! ^= 0x01;
  return b;
}

function coded(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CoreError, `expected CoreError, got ${String(e)}`);
    assert.match(e.message, reason);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

describe('PE headers', () => {
  test('PE32+ and PE32 builder images: machine, subsystem, sections and the two skipped fields', () => {
    for (const is64 of [true, false]) {
      const img = buildEfi({ is64 });
      assert.ok(isPe(img));
      const pe = parsePe(img);
      const opt = EFI_LFANEW + 24;
      assert.equal(pe.is64, is64);
      assert.equal(pe.machine, is64 ? 0x8664 : 0x14c);
      assert.equal(pe.machineName, is64 ? 'amd64' : 'i386');
      assert.equal(pe.subsystem, 10);
      assert.equal(pe.sizeOfHeaders, 0x200);
      assert.equal(pe.checksumOffset, opt + 64);
      assert.equal(pe.certTableDirOffset, opt + (is64 ? 112 : 96) + 4 * 8);
      assert.deepEqual(pe.sections, [
        { name: '.text', virtualAddress: 0x1000, rawSize: 0x200, rawOffset: 0x200 },
        { name: '.data', virtualAddress: 0x2000, rawSize: 0x200, rawOffset: 0x400 },
      ]);
      assert.equal(pe.certTable, undefined);
      assert.deepEqual(pe.certificates, []);
    }
  });

  test('isPe refuses what is not a PE image, without throwing', () => {
    const img = buildEfi({ is64: true });
    assert.equal(isPe(new Uint8Array(0)), false);
    assert.equal(isPe(img.subarray(0, 63)), false);
    assert.equal(isPe(Buffer.from('\x7fELF' + '\0'.repeat(100), 'latin1')), false);
    const far = Buffer.from(img);
    far.writeUInt32LE(0xfffffff0, 0x3c); // e_lfanew past the end
    assert.equal(isPe(far), false);
    assert.equal(isPe(flip(img, EFI_LFANEW)), false);
    coded(() => parsePe(far), /not a PE image/);
  });

  test('truncated and inconsistent headers raise CoreError naming the offset and reason', () => {
    const img = buildEfi({ is64: true });
    coded(
      () => parsePe(img.subarray(0, img.length - 1)),
      /section 1 \(\.data\) .* runs past the end.*truncated/,
    );
    coded(() => parsePe(img.subarray(0, EFI_LFANEW + 10)), /COFF header at offset 132 truncated/);
    coded(
      () => parsePe(img.subarray(0, EFI_LFANEW + 100)),
      /optional header of 240 bytes at offset 152 runs past/,
    );
    coded(() => parsePe(img.subarray(0, 0x1c0)), /section table of 2 entries at offset 392 runs past/);
    const rom = Buffer.from(img);
    rom.writeUInt16LE(0x107, EFI_LFANEW + 24);
    coded(() => parsePe(rom), /magic 0x107 .* neither PE32 nor PE32\+/);
    const shortHeaders = Buffer.from(img);
    shortHeaders.writeUInt32LE(0x100, EFI_LFANEW + 24 + 60);
    coded(() => parsePe(shortHeaders), /section table ends at 472, past SizeOfHeaders 256/);
    const badCerts = Buffer.from(img);
    badCerts.writeUInt32LE(img.length - 8, EFI_LFANEW + 24 + 112 + 32);
    badCerts.writeUInt32LE(16, EFI_LFANEW + 24 + 112 + 36);
    coded(
      () => parsePe(badCerts),
      /certificate table \[1528, 1544\) named at offset 296 lies outside the file/,
    );
  });
});

describe('Authenticode digest against sbsign / sbverify', () => {
  test('PE32+ and PE32: the table is found and SpcIndirectData claims our digest', (t) => {
    if (!needTools(t, 'openssl', 'sbsign', 'sbverify')) return;
    for (const is64 of [true, false]) {
      const unsigned = buildEfi({ is64 });
      const signed = sbsign(unsigned);
      const pe = parsePe(signed);
      assert.deepEqual(pe.certTable, { offset: unsigned.length, size: signed.length - unsigned.length });
      assert.equal(pe.certificates.length, 1);
      const [c] = pe.certificates;
      assert.equal(c?.revision, 0x0200);
      assert.equal(c?.type, WIN_CERT_TYPE_PKCS_SIGNED_DATA);
      assert.equal(c?.data.start, unsigned.length + 8);
      const { sd, spc } = signature(signed, pe);
      signersValid(signed, sd);
      assert.equal(spc.digestAlgorithm, 'sha256');
      assert.equal(spc.dataType, '1.3.6.1.4.1.311.2.1.15'); // SPC_PE_IMAGE_DATAOBJ
      const ours = authenticodeDigest(signed, pe, 'sha256').toString('hex');
      assert.equal(spc.digest, ours);
      // Embedding the signature touches only the excluded fields and appends the excluded table.
      assert.equal(authenticodeDigest(unsigned, parsePe(unsigned), 'sha256').toString('hex'), ours);
      assert.ok(sbverify(signed), 'sbverify accepts the image');
    }
  });

  test('a flipped byte in a section changes the digest, and sbverify rejects it too', (t) => {
    if (!needTools(t, 'openssl', 'sbsign', 'sbverify')) return;
    const signed = sbsign(buildEfi({ is64: true }));
    const pe = parsePe(signed);
    const spc = claimed(signed, pe);
    for (const s of pe.sections) {
      const bad = flip(signed, s.rawOffset + 1);
      const badPe = parsePe(bad);
      // The CMS signature is untouched and still verifies: only the image digest can catch this.
      signersValid(bad, signature(bad, badPe).sd);
      const digest = authenticodeDigest(bad, badPe, 'sha256').toString('hex');
      assert.notEqual(digest, spc.digest, `tamper in ${s.name} detected`);
      assert.equal(sbverify(bad), false, `sbverify rejects tamper in ${s.name}`);
    }
    // A header byte outside the two skipped fields is covered as well.
    const header = flip(signed, EFI_LFANEW + 24 + 40); // MajorOperatingSystemVersion
    assert.notEqual(authenticodeDigest(header, parsePe(header), 'sha256').toString('hex'), spc.digest);
    assert.equal(sbverify(header), false);
  });

  test('CheckSum is outside the digest: changing it keeps the digest, and sbverify agrees', (t) => {
    if (!needTools(t, 'openssl', 'sbsign', 'sbverify')) return;
    const signed = sbsign(buildEfi({ is64: true }));
    const pe = parsePe(signed);
    const bad = flip(signed, pe.checksumOffset + 2);
    assert.equal(authenticodeDigest(bad, parsePe(bad), 'sha256').toString('hex'), claimed(signed, pe).digest);
    assert.ok(sbverify(bad));
  });

  test('data after the last section (step 14) is hashed, padding before the table included', (t) => {
    if (!needTools(t, 'openssl', 'sbsign', 'sbverify')) return;
    // 100 bytes of overlay leave the file off an 8-byte boundary: signers pad it before the table.
    const signed = sbsign(buildEfi({ is64: true, overlay: 100 }));
    const pe = parsePe(signed);
    assert.equal(pe.certTable?.offset, 0x600 + 104);
    assert.equal(authenticodeDigest(signed, pe, 'sha256').toString('hex'), claimed(signed, pe).digest);
    assert.ok(sbverify(signed));
    const bad = flip(signed, 0x600 + 50);
    assert.notEqual(
      authenticodeDigest(bad, parsePe(bad), 'sha256').toString('hex'),
      claimed(signed, pe).digest,
    );
    assert.equal(sbverify(bad), false);
  });

  test('a truncated signed image raises CoreError with the reason', (t) => {
    if (!needTools(t, 'openssl', 'sbsign')) return;
    const signed = sbsign(buildEfi({ is64: true }));
    coded(
      () => parsePe(signed.subarray(0, signed.length - 10)),
      /certificate table .* lies outside the file.*truncated/,
    );
    coded(
      () => parsePe(signed.subarray(0, 0x500)),
      /section 1 \(\.data\) raw data \[1024, 1536\).*truncated/,
    );
    // An entry whose dwLength outruns its table.
    const lying = Buffer.from(signed);
    lying.writeUInt32LE(signed.length, 0x600);
    coded(() => parsePe(lying), /WIN_CERTIFICATE at offset 1536 claims \d+ bytes, table ends at/);
  });
});

describe('Authenticode digest against osslsigncode', () => {
  test('sha256 signature, then a nested sha512 one (-nest): both claim our digests', (t) => {
    if (!needTools(t, 'openssl', 'osslsigncode')) return;
    const unsigned = buildEfi({ is64: true });
    const once = osslsign(unsigned);
    const pe1 = parsePe(once);
    assert.equal(pe1.certTable?.offset, unsigned.length);
    const sha256 = authenticodeDigest(once, pe1, 'sha256').toString('hex');
    assert.deepEqual(claimed(once, pe1), {
      digestAlgorithm: 'sha256',
      digest: sha256,
      dataType: '1.3.6.1.4.1.311.2.1.15',
    });
    const twice = osslsign(once, ['-h', 'sha512', '-nest']);
    const pe2 = parsePe(twice);
    // The nested signature rides inside the first signer's unsigned attributes: still one entry.
    assert.equal(pe2.certificates.length, 1);
    const { sd, spc } = signature(twice, pe2);
    assert.equal(spc.digest, sha256);
    const nested = sd.signers[0]?.nested[0];
    assert.ok(nested, 'nested SignedData (1.3.6.1.4.1.311.2.4.1)');
    assert.ok(nested.content);
    const sha512 = authenticodeDigest(twice, pe2, 'sha512').toString('hex');
    assert.deepEqual(parseSpcIndirectData(twice, nested.content), {
      digestAlgorithm: 'sha512',
      digest: sha512,
      dataType: '1.3.6.1.4.1.311.2.1.15',
    });
    signersValid(twice, sd);
    assert.deepEqual(osslDigests(twice), [
      { algorithm: 'sha256', current: sha256, calculated: sha256 },
      { algorithm: 'sha512', current: sha512, calculated: sha512 },
    ]);
  });

  test('PE32 with an overlay: osslsigncode computes and signs the same digest', (t) => {
    if (!needTools(t, 'openssl', 'osslsigncode')) return;
    const signed = osslsign(buildEfi({ is64: false, overlay: 100 }), ['-h', 'sha384']);
    const pe = parsePe(signed);
    assert.equal(pe.is64, false);
    const ours = authenticodeDigest(signed, pe, 'sha384').toString('hex');
    assert.equal(claimed(signed, pe).digestAlgorithm, 'sha384');
    assert.equal(claimed(signed, pe).digest, ours);
    assert.deepEqual(osslDigests(signed), [{ algorithm: 'sha384', current: ours, calculated: ours }]);
    const bad = flip(signed, pe.sections[0]!.rawOffset);
    const [report] = osslDigests(bad);
    assert.equal(report?.current, ours);
    assert.equal(report?.calculated, authenticodeDigest(bad, parsePe(bad), 'sha384').toString('hex'));
    assert.notEqual(report?.calculated, ours);
  });

  test('sha1 digest equals osslsigncode -h sha1', (t) => {
    if (!needTools(t, 'openssl', 'osslsigncode')) return;
    const signed = osslsign(buildEfi({ is64: true }), ['-h', 'sha1']);
    const pe = parsePe(signed);
    assert.equal(claimed(signed, pe).digest, authenticodeDigest(signed, pe, 'sha1').toString('hex'));
  });
});

describe('hostile input', () => {
  test('parseSpcIndirectData refuses structures that are not SpcIndirectDataContent', () => {
    coded(
      () => parseSpcIndirectData(Buffer.from([0x30, 0x05, 0x02]), { start: 0, end: 3 }),
      /truncated|runs past/,
    );
    const notSeq = Buffer.from([0x02, 0x01, 0x00]);
    assert.throws(() => parseSpcIndirectData(notSeq, { start: 0, end: 3 }), CoreError);
    const oneField = Buffer.from([0x30, 0x02, 0x05, 0x00]);
    coded(() => parseSpcIndirectData(oneField, { start: 0, end: 4 }), /needs two fields/);
  });

  test('an image digest algorithm outside the four is a coded error, not a crash', () => {
    const img = buildEfi({ is64: true });
    const md5 = 'md5' as 'sha1';
    assert.throws(
      () => authenticodeDigest(img, parsePe(img), md5),
      (e: unknown) => {
        assert.ok(e instanceof CoreError);
        assert.equal(e.code, 'KEY_UNSUPPORTED');
        return true;
      },
    );
  });

  test('mutated signed images never throw anything but CoreError', (t) => {
    if (!needTools(t, 'openssl', 'sbsign')) return;
    const signed = sbsign(buildEfi({ is64: true }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(signed.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(signed.length),
        (edits, cut) => {
          const b = Buffer.from(signed.subarray(0, Math.max(cut, signed.length - 64)));
          // Aim half the edits at the headers, where the offsets and counts live.
          for (const [at, v] of edits) b[at % 2 ? at % 0x200 : at % b.length] = v;
          try {
            const pe = parsePe(b);
            authenticodeDigest(b, pe, 'sha256');
            for (const c of pe.certificates) {
              try {
                const sd = parseSignedData(b, c.data.start, c.data.end);
                if (sd.content) parseSpcIndirectData(b, sd.content);
              } catch (e) {
                if (!(e instanceof CoreError)) throw e;
              }
            }
          } catch (e) {
            if (!(e instanceof CoreError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
