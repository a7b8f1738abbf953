import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openCheckpoint, formatCheckpoint } from './checkpoint.ts';
import { FileSigner } from './file-signer.ts';
import { openNote, parseNote, parseVkey, signNote } from './note.ts';

// Known-answer vectors of golang.org/x/mod/sumdb/note (note_test.go) and of c2sp.org/signed-note.
// Ed25519 is deterministic, so signing the text with the Go test key must give the published line.
const PETER_SKEY_SEED = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'; // base64(0x01 || seed)
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const FOO_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const FOO_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

const peter = (): FileSigner =>
  FileSigner.fromSeed('PeterNeumann', Buffer.from(PETER_SKEY_SEED, 'base64').subarray(1));

describe('C2SP signed notes', () => {
  test('signing with the Go test key reproduces the published note and vkey', async () => {
    const s = peter();
    assert.equal(s.vkey, PETER_VKEY);
    assert.equal(await signNote(TEXT, [s]), `${TEXT}\n${PETER_SIG}`);
  });

  test('the signed-note spec example and the Go note verify', () => {
    assert.deepEqual(openNote(FOO_NOTE, [parseVkey(FOO_VKEY)]).verifiedBy, ['example.com/foo']);
    const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    assert.deepEqual(openNote(both, [parseVkey(PETER_VKEY), parseVkey(ENOCH_VKEY)]).verifiedBy, [
      'PeterNeumann',
      'EnochRoot',
    ]);
  });

  test('signatures by unknown keys are kept, not errors (witness cosignatures ride along)', () => {
    const n = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [parseVkey(PETER_VKEY)]);
    assert.deepEqual(n.verifiedBy, ['PeterNeumann']);
    assert.equal(n.signatures.length, 2);
    assert.equal(n.signatures[1]!.line, ENOCH_SIG);
  });

  test('altered text, a bad known signature, no trusted key and bad vkeys are refused', () => {
    const v = [parseVkey(PETER_VKEY)];
    assert.throws(
      () => openNote(`${TEXT.replace('answer', 'Answer')}\n${PETER_SIG}`, v),
      /PeterNeumann does not verify/,
    );
    assert.throws(
      () => openNote(`${TEXT}\n${ENOCH_SIG}`, v),
      /no signature by a trusted key \(signed by: EnochRoot\)/,
    );
    assert.throws(() => openNote(TEXT, v), /no blank line/);
    assert.throws(() => openNote(`${TEXT}\n\u2014 PeterNeumann !!!\n`, v), /not base64/);
    assert.throws(() => parseVkey(PETER_VKEY.replace('c74f20a3', 'c74f20a4')), /does not match the key/);
    assert.throws(() => parseVkey('PeterNeumann+c74f20a3'), /not <name>/);
    assert.throws(() => parseNote(Buffer.from([0xff, 0x0a, 0x0a])), /UTF-8/);
    assert.throws(() => parseNote(`a\u0007\n\n${PETER_SIG}`), /control characters/);
  });

  test('checkpoints: origin, size and root lines round-trip through a signed note', async () => {
    const s = FileSigner.fromSeed('example.com/log', Buffer.alloc(32, 7));
    const root = Buffer.alloc(32, 9);
    const note = await signNote(formatCheckpoint({ origin: s.name, size: 42, root }), [s]);
    const cp = openCheckpoint(note, [parseVkey(s.vkey)]);
    assert.deepEqual([cp.origin, cp.size, cp.root.equals(root)], ['example.com/log', 42, true]);
    const bad = note.replace('\n42\n', '\n042\n');
    assert.throws(() => openCheckpoint(bad, [parseVkey(s.vkey)]), /does not verify/);
  });
});
