import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { formatCheckpoint } from '../checkpoint.ts';
import { FileSigner } from '../file-signer.ts';
import { scan } from '../fixtures.test-helper.ts';
import { sha256 } from '../hash.ts';
import { EvidenceLog } from '../log.ts';
import { parseNote, parseVkey as parseVkeyText, signNote } from '../note.ts';
import { verifyLog } from '../verify-log.ts';
import { addSignatureLines } from './attach.ts';
import { cosignLog } from './cosign-log.ts';
import { verifyCosigned } from './policy.ts';
import { Cosigner, parseCosignerVkey } from './cosigner.ts';
import { serveWitness } from './server.ts';
import { Witness } from './witness.ts';

const ORIGIN = 'example.com/policy-log';
const seed = (n: number): Buffer => Buffer.alloc(32, n);
const logSigner = FileSigner.fromSeed(ORIGIN, seed(100));
const w = [1, 2, 3].map((i) => new Cosigner(FileSigner.fromSeed(`witness.example/w${i}`, seed(i))));
const stranger = new Cosigner(FileSigner.fromSeed('witness.example/stranger', seed(9)));
const policy = { logKey: logSigner.vkey, witnesses: w.map((x) => x.vkey), k: 2 };

const text = formatCheckpoint({ origin: ORIGIN, size: 42, root: sha256(Buffer.from('tree')) });
const signed = await signNote(text, [logSigner]);
const cosigned = (...who: Cosigner[]): string =>
  addSignatureLines(
    signed,
    who.map((c, i) => c.cosign(text, 1_700_000_000 + i)),
  );

/** Flips one bit of the signature carried by the line of `name`. */
function tamper(note: string, name: string, byte: number): string {
  const p = parseNote(note);
  const lines = p.signatures.map((s) => {
    if (s.name !== name) return s.line;
    const blob = Buffer.from(s.line.trim().split(' ')[2]!, 'base64');
    blob[byte] = blob[byte]! ^ 0x01;
    return `\u2014 ${s.name} ${blob.toString('base64')}\n`;
  });
  return `${p.text}\n${lines.join('')}`;
}

describe('verifyCosigned: k-of-n witness policy', () => {
  test('2-of-3 is met with two witnesses', () => {
    const r = verifyCosigned(cosigned(w[0]!, w[2]!), policy);
    assert.equal(r.ok, true, r.problems.join('; '));
    assert.deepEqual(
      r.witnessedBy.map((x) => x.name),
      ['witness.example/w1', 'witness.example/w3'],
    );
    assert.equal(r.size, 42);
    assert.equal(verifyCosigned(cosigned(...w), policy).ok, true);
  });

  test('2-of-3 is not met with one', () => {
    const r = verifyCosigned(cosigned(w[1]!), policy);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /1 of the required 2 witness cosignatures/);
    assert.equal(verifyCosigned(signed, policy).ok, false);
  });

  test('a cosignature by an unknown key is ignored', () => {
    const r = verifyCosigned(cosigned(w[0]!, stranger), policy);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.witnessedBy.map((x) => x.name),
      ['witness.example/w1'],
    );
    const ok = verifyCosigned(cosigned(w[0]!, stranger, w[1]!), policy);
    assert.equal(ok.ok, true, ok.problems.join('; '));
    assert.equal(ok.witnessedBy.length, 2);
  });

  test('a tampered cosignature is rejected, even beside enough good ones', () => {
    for (const byte of [5, 11, 40]) {
      // 5 and 11 fall in the timestamp, 40 in the Ed25519 signature.
      const r = verifyCosigned(tamper(cosigned(...w), 'witness.example/w2', byte), policy);
      assert.equal(r.ok, false, `byte ${byte}`);
      assert.match(r.problems.join('\n'), /cosignature by witness witness\.example\/w2 does not verify/);
      assert.equal(r.witnessedBy.length, 2);
    }
    const oneGood = verifyCosigned(tamper(cosigned(w[0]!, w[1]!), 'witness.example/w2', 40), policy);
    assert.equal(oneGood.witnessedBy.length, 1);
  });

  test('cosignatures over a different checkpoint do not count', () => {
    const otherText = formatCheckpoint({ origin: ORIGIN, size: 43, root: sha256(Buffer.from('tree')) });
    const lines = w.map((c) => c.cosign(otherText, 1_700_000_000));
    const r = verifyCosigned(addSignatureLines(signed, lines), policy);
    assert.equal(r.ok, false);
    assert.equal(r.witnessedBy.length, 0);
  });

  test('the log signature must verify too', () => {
    const r = verifyCosigned(tamper(cosigned(...w), ORIGIN, 20), policy);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /log signature by example\.com\/policy-log does not verify/);
    const unsigned = `${text}\n${w.map((c) => c.cosign(text, 1)).join('')}`;
    assert.match(verifyCosigned(unsigned, policy).problems.join('\n'), /no valid signature by the log key/);
  });

  test('one key listed under two names counts once', () => {
    const twin = new Cosigner(FileSigner.fromSeed('witness.example/w1-again', seed(1)));
    const p = { ...policy, witnesses: [w[0]!.vkey, twin.vkey, w[2]!.vkey] };
    const r = verifyCosigned(cosigned(w[0]!, twin), p);
    assert.equal(r.ok, false);
    assert.equal(r.witnessedBy.length, 1);
  });

  test('a threshold outside 1..n is a bad argument; garbage is a problem, not a crash', () => {
    assert.throws(() => verifyCosigned(signed, { ...policy, k: 4 }), { code: 'BAD_ARGUMENT' });
    assert.throws(() => verifyCosigned(signed, { ...policy, k: 0 }), { code: 'BAD_ARGUMENT' });
    assert.equal(verifyCosigned('not a note', policy).ok, false);
    assert.equal(verifyCosigned(Buffer.from([0xff, 0xfe]), policy).ok, false);
  });

  test('adding lines replaces an older cosignature by the same witness', () => {
    const twice = addSignatureLines(cosigned(w[0]!), [w[0]!.cosign(text, 1_800_000_000)]);
    const sigs = parseNote(twice).signatures;
    assert.equal(sigs.length, 2);
    assert.equal(parseCosignerVkey(w[0]!.vkey).verify(text, sigs[1]!.signature), 1_800_000_000);
  });
});

describe('cosignLog: a log gathers cosignatures from three witnesses', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-cosign-log-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('cosignatures land in the checkpoint file, which still verifies, and meet 2-of-3', async () => {
    const dir = join(tmp, 'log');
    let log = await EvidenceLog.open(dir, { create: true, origin: 'example.com/gathered' });
    await log.appendBatch([0, 1, 2].map(scan));
    log.close();
    const vkey = readFileSync(join(dir, 'log.vkey'), 'utf8').trim();
    const witnesses = w.map(
      (c, i) =>
        new Witness({ cosigner: c, logKeys: [parseVkeyText(vkey)], statePath: join(tmp, `w${i}.json`) }),
    );
    const servers = await Promise.all(witnesses.map((x) => serveWitness(x)));
    try {
      // Witness 1 saw the log at size 3 already: the second round must carry a proof from there.
      await cosignLog(dir, [servers[0]!.url], [parseCosignerVkey(w[0]!.vkey)]);
      log = await EvidenceLog.open(dir);
      await log.appendBatch([3, 4, 5, 6].map(scan));
      log.close();
      const trusted = w.slice(0, 2).map((c) => parseCosignerVkey(c.vkey));
      const r = await cosignLog(dir, [...servers.map((s) => s.url), 'http://127.0.0.1:1'], trusted);
      assert.deepEqual(
        r.witnesses.map((x) => x.ok),
        [true, true, false, false],
        JSON.stringify(r.witnesses),
      );
      assert.match(r.witnesses[2]!.error!, /no cosignature by a trusted witness key/);
      assert.equal(witnesses[0]!.latest('example.com/gathered')?.size, 7);
      const file = readFileSync(join(dir, 'checkpoint'), 'utf8');
      assert.equal(file, r.checkpoint);
      assert.equal(parseNote(file).signatures.length, 3);
      const report = verifyLog(dir, { vkeys: [parseVkeyText(vkey)] });
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      // The size-3 cosignature survived the appends that replaced the checkpoint file.
      assert.equal(report.witnessed, 2);
      const kept3 = readFileSync(join(dir, 'witnessed', '3'), 'utf8');
      assert.equal(verifyCosigned(kept3, { logKey: vkey, witnesses: [w[0]!.vkey], k: 1 }).ok, true);
      assert.equal(readFileSync(join(dir, 'witnessed', '7'), 'utf8'), file);
      // A kept checkpoint altered after the fact is named by the verifier.
      const lines = kept3.split('\n');
      lines[2] = sha256(Buffer.from('other tree')).toString('base64');
      writeFileSync(join(dir, 'witnessed', '3'), lines.join('\n'));
      const bad = verifyLog(dir, { vkeys: [parseVkeyText(vkey)] });
      assert.equal(bad.ok, false);
      assert.deepEqual(
        bad.problems.map((p) => p.file),
        ['witnessed/3'],
      );
      writeFileSync(join(dir, 'witnessed', '3'), kept3);
      const v = verifyCosigned(file, { logKey: vkey, witnesses: w.map((c) => c.vkey), k: 2 });
      assert.equal(v.ok, true, v.problems.join('; '));
      assert.equal(verifyCosigned(file, { logKey: vkey, witnesses: w.map((c) => c.vkey), k: 3 }).ok, false);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      witnesses.forEach((x) => x.close());
    }
  });
});
