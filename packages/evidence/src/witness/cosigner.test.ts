import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { toolsMissing } from '@keywarden/testkit';
import { FileSigner } from '../file-signer.ts';
import { formatCheckpoint } from '../checkpoint.ts';
import { parseNote } from '../note.ts';
import { ALG_COSIGNATURE_V1, Cosigner, cosignatureMessage, parseCosignerVkey } from './cosigner.ts';

const BODY = formatCheckpoint({
  origin: 'example.com/behind-the-sofa',
  size: 20852163,
  root: Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'),
});

describe('cosignature/v1 format', () => {
  test('the signed message is the two header lines, then the note text (tlog-cosignature example)', () => {
    assert.equal(
      cosignatureMessage(BODY, 1679315147).toString('utf8'),
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    assert.throws(() => cosignatureMessage(BODY, -1), { code: 'BAD_ARGUMENT' });
  });

  test('the spec example line is key ID, 8-byte big-endian timestamp, 64-byte signature', () => {
    // From the tlog-cosignature document: its timestamp is the one in its signed-message example.
    const blob = Buffer.from(
      'jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==',
      'base64',
    );
    assert.equal(blob.length, 4 + 8 + 64);
    assert.equal(blob.readBigUInt64BE(4), 1679315147n);
    const w = new Cosigner(FileSigner.fromSeed('witness.example.com/w1', Buffer.alloc(32, 7)));
    const mine = Buffer.from(w.cosign(BODY, 1679315147).trim().split(' ')[2]!, 'base64');
    assert.equal(mine.length, blob.length);
    assert.equal(mine.readBigUInt64BE(4), 1679315147n);
  });

  test('key IDs hash name, newline, 0x04 and the key; vkeys carry type 0x04', () => {
    const signer = FileSigner.fromSeed('witness.example/w1', Buffer.alloc(32, 1));
    const w = new Cosigner(signer);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('witness.example/w1\n'), Buffer.from([0x04]), signer.publicKey]))
      .digest()
      .readUInt32BE(0);
    assert.equal(ALG_COSIGNATURE_V1, 4);
    assert.equal(w.keyHash, expected);
    assert.notEqual(w.keyHash, signer.keyHash, 'a note key and a cosigner key never share an ID');
    const [name, id, material] = w.vkey.split('+');
    assert.equal(name, 'witness.example/w1');
    assert.equal(id, expected.toString(16).padStart(8, '0'));
    assert.equal(Buffer.from(material!, 'base64')[0], 0x04);
    assert.equal(parseCosignerVkey(w.vkey).keyHash, expected);
  });

  test('vkeys of the wrong type, wrong ID or wrong length are refused', () => {
    const signer = FileSigner.fromSeed('witness.example/w1', Buffer.alloc(32, 1));
    assert.throws(() => parseCosignerVkey(signer.vkey), /type 1 is not an Ed25519 cosignature\/v1 key/);
    const w = new Cosigner(signer);
    const [name, id, material] = w.vkey.split('+') as [string, string, string];
    const otherId = ((Number.parseInt(id, 16) + 1) >>> 0).toString(16).padStart(8, '0');
    assert.throws(() => parseCosignerVkey(`${name}+${otherId}+${material}`), /does not match/);
    const short = Buffer.from(material, 'base64').subarray(0, 20).toString('base64');
    assert.throws(() => parseCosignerVkey(`${name}+${id}+${short}`), { code: 'NOTE_INVALID' });
    assert.throws(() => parseCosignerVkey('x'.repeat(5000)), { code: 'NOTE_INVALID' });
  });

  test('a cosignature verifies for its text and time only', () => {
    const w = new Cosigner(FileSigner.fromSeed('witness.example/w1', Buffer.alloc(32, 2)));
    const v = parseCosignerVkey(w.vkey);
    const sig = parseNote(`${BODY}\n${w.cosign(BODY, 1700000000)}`).signatures[0]!;
    assert.equal(v.verify(BODY, sig.signature), 1700000000);
    assert.equal(v.verify(BODY.replace('20852163', '20852164'), sig.signature), undefined);
    const later = Buffer.from(sig.signature);
    later.writeBigUInt64BE(1700000001n, 0);
    assert.equal(v.verify(BODY, later), undefined, 'the timestamp is covered by the signature');
    assert.equal(v.verify(BODY, sig.signature.subarray(1)), undefined);
  });
});

describe('cosignature/v1 against openssl', { skip: toolsMissing('openssl') }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-cosig-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('openssl verifies our cosignature over "cosignature/v1\\ntime T\\n" + body', () => {
    const key = join(tmp, 'w.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    chmodSync(key, 0o600);
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', join(tmp, 'w.pub')]);
    const w = Cosigner.load(key, 'witness.example/openssl');
    const blob = Buffer.from(w.cosign(BODY, 1712345678).trim().split(' ')[2]!, 'base64');
    writeFileSync(join(tmp, 'msg'), `cosignature/v1\ntime 1712345678\n${BODY}`);
    writeFileSync(join(tmp, 'sig'), blob.subarray(12));
    const verify = (): string =>
      execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          join(tmp, 'w.pub'),
          '-rawin',
          '-in',
          join(tmp, 'msg'),
          '-sigfile',
          join(tmp, 'sig'),
        ],
        { encoding: 'utf8' },
      );
    assert.match(verify(), /Signature Verified Successfully/);
    writeFileSync(join(tmp, 'msg'), `cosignature/v1\ntime 1712345679\n${BODY}`);
    assert.throws(verify);
  });

  test('we verify a cosignature openssl made', () => {
    const key = join(tmp, 'o.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    chmodSync(key, 0o600);
    const vkey = Cosigner.load(key, 'witness.example/o').vkey;
    writeFileSync(join(tmp, 'omsg'), `cosignature/v1\ntime 1712345678\n${BODY}`);
    const sig = execFileSync('openssl', [
      'pkeyutl',
      '-sign',
      '-inkey',
      key,
      '-rawin',
      '-in',
      join(tmp, 'omsg'),
    ]);
    const blob = Buffer.alloc(8);
    blob.writeBigUInt64BE(1712345678n, 0);
    const v = parseCosignerVkey(vkey);
    assert.equal(v.verify(BODY, Buffer.concat([blob, sig])), 1712345678);
    assert.equal(v.verify(`${BODY}x\n`, Buffer.concat([blob, sig])), undefined);
  });
});
