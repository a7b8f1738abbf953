import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSigner } from '../file-signer.ts';
import { scan } from '../fixtures.test-helper.ts';
import { EvidenceLog } from '../log.ts';
import { parseNote, parseVkey, signNote } from '../note.ts';
import { witnessCosign } from './client.ts';
import { Cosigner, parseCosignerVkey } from './cosigner.ts';
import { formatAddCheckpoint } from './request.ts';
import { serveWitness, type WitnessServer } from './server.ts';
import { Witness } from './witness.ts';

const ORIGIN = 'example.com/witnessed-log';
const NOW = 1_764_000_000;

/** A log whose key we hold, so a second log can be built with the same key: a fork. */
async function makeLog(
  dir: string,
  seed: Buffer,
  statements: number[],
  origin = ORIGIN,
): Promise<EvidenceLog> {
  const signer = FileSigner.fromSeed(origin, seed);
  const log = await EvidenceLog.open(dir, {
    create: true,
    signer,
    verifier: parseVkey(signer.vkey),
    durable: false,
  });
  if (statements.length > 0) await log.appendBatch(statements.map(scan));
  return log;
}

async function post(url: string, body: string): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

/** Posts `count` copies of `chunk` with chunked encoding: the server cannot see the length up front. */
function chunked(url: string, chunk: string, count: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/add-checkpoint`, { method: 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    for (let i = 0; i < count; i++) req.write(chunk);
    req.end();
  });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('witness add-checkpoint over HTTP', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-witness-'));
  const seed = randomBytes(32);
  const statePath = join(tmp, 'witness-state.json');
  const cosigner = Cosigner.create(join(tmp, 'witness.pem'), 'witness.example/w1');
  const wkey = parseCosignerVkey(cosigner.vkey);
  const logKey = parseVkey(FileSigner.fromSeed(ORIGIN, seed).vkey);
  let log: EvidenceLog;
  let witness: Witness;
  let server: WitnessServer;
  let cp5 = '';

  before(async () => {
    log = await makeLog(join(tmp, 'a'), seed, range(0, 2));
    witness = new Witness({ cosigner, logKeys: [logKey], statePath, now: () => NOW });
    server = await serveWitness(witness);
  });
  after(async () => {
    await server.close();
    witness.close();
    log.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const cosignedBy = (checkpoint: string, lines: string[]): number | undefined => {
    const text = parseNote(checkpoint).text;
    const sig = parseNote(`${text}\n${lines.join('')}`).signatures[0]!;
    assert.equal(sig.name, 'witness.example/w1');
    return wkey.verify(text, sig.signature);
  };

  test('listens on loopback and refuses other addresses unless allowed', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(serveWitness(witness, { host: '0.0.0.0' }), /refusing to listen on 0\.0\.0\.0/);
    await assert.rejects(serveWitness(witness, { host: '192.168.1.1', port: 1 }), { code: 'BAD_ARGUMENT' });
  });

  test('the first checkpoint (old 0) is cosigned and recorded durably', async () => {
    const r = await witnessCosign(server.url, log.checkpoint, 0, []);
    assert.ok('lines' in r, JSON.stringify(r));
    assert.equal(cosignedBy(log.checkpoint, r.lines), NOW);
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { logs: Record<string, { size: number }> };
    assert.equal(state.logs[ORIGIN]!.size, 2);
  });

  test('growth with a consistency proof is cosigned', async () => {
    await log.appendBatch(range(2, 5).map(scan));
    cp5 = log.checkpoint;
    const r = await witnessCosign(server.url, cp5, 2, log.consistencyProof(2, 5));
    assert.ok('lines' in r, JSON.stringify(r));
    assert.equal(cosignedBy(cp5, r.lines), NOW);
    assert.equal(witness.latest(ORIGIN)?.size, 5);
  });

  test('a stale old size gets 409 with the size as text/x.tlog.size', async () => {
    const raw = await post(server.url, formatAddCheckpoint(2, log.consistencyProof(2, 5), cp5));
    assert.equal(raw.status, 409);
    assert.equal(raw.type, 'text/x.tlog.size');
    assert.equal(raw.text, '5\n');
    assert.deepEqual(await witnessCosign(server.url, cp5, 0, []), { status: 409, size: 5 });
  });

  test('the same checkpoint again is cosigned again', async () => {
    const r = await witnessCosign(server.url, cp5, 5, []);
    assert.ok('lines' in r);
  });

  test('a fork at the same size (other root) is refused with 409', async () => {
    const fork = await makeLog(join(tmp, 'fork'), seed, [0, 1, 2, 3, 99]);
    try {
      assert.equal(fork.size, 5);
      assert.notDeepEqual(fork.root, log.root);
      const r = await witnessCosign(server.url, fork.checkpoint, 5, []);
      assert.equal(r.status, 409);
      assert.match((r as { message: string }).message, /fork/);
      assert.deepEqual(witness.latest(ORIGIN)?.root, log.root);
    } finally {
      fork.close();
    }
  });

  test('a proof that does not verify gets 422; the right one is then cosigned', async () => {
    await log.appendBatch(range(5, 8).map(scan));
    const proof = log.consistencyProof(5, 8);
    const bad = proof.map((h) => Buffer.from(h));
    bad[0]![3] = bad[0]![3]! ^ 0x01;
    assert.equal((await witnessCosign(server.url, log.checkpoint, 5, bad)).status, 422);
    assert.equal((await witnessCosign(server.url, log.checkpoint, 5, proof.slice(1))).status, 422);
    assert.equal((await witnessCosign(server.url, log.checkpoint, 5, [])).status, 422);
    assert.equal(witness.latest(ORIGIN)?.size, 5, 'nothing recorded from a refused request');
    const r = await witnessCosign(server.url, log.checkpoint, 5, proof);
    assert.ok('lines' in r, JSON.stringify(r));
  });

  test('a log rebuilt from the same prefix cannot prove consistency: 422', async () => {
    const rebuilt = await makeLog(join(tmp, 'rebuilt'), seed, [0, 1, 2, 3, 4, 50, 51, 52, 53]);
    try {
      const r = await witnessCosign(server.url, rebuilt.checkpoint, 8, rebuilt.consistencyProof(8, 9));
      assert.equal(r.status, 422);
      assert.equal(witness.latest(ORIGIN)?.size, 8);
    } finally {
      rebuilt.close();
    }
  });

  test('a rollback to an older checkpoint is refused', async () => {
    assert.equal((await witnessCosign(server.url, cp5, 8, [])).status, 400, 'old beyond the checkpoint size');
    assert.deepEqual(await witnessCosign(server.url, cp5, 5, []), { status: 409, size: 8 });
    assert.equal(witness.latest(ORIGIN)?.size, 8);
  });

  test('an unknown origin gets 404', async () => {
    const other = await makeLog(join(tmp, 'other'), randomBytes(32), [0], 'example.com/unknown-log');
    try {
      assert.equal((await witnessCosign(server.url, other.checkpoint, 0, [])).status, 404);
    } finally {
      other.close();
    }
  });

  test('a bad or untrusted log signature gets 403', async () => {
    const note = parseNote(log.checkpoint);
    const sig = Buffer.from(note.signatures[0]!.line.trim().split(' ')[2]!, 'base64');
    sig[10] = sig[10]! ^ 0x40;
    const tampered = `${note.text}\n\u2014 ${ORIGIN} ${sig.toString('base64')}\n`;
    assert.equal((await witnessCosign(server.url, tampered, 8, [])).status, 403);
    // Signed under the log's name by a key the witness does not trust: ignored, so nothing verifies.
    const impostor = await signNote(note.text, [FileSigner.fromSeed(ORIGIN, randomBytes(32))]);
    assert.equal((await witnessCosign(server.url, impostor, 8, [])).status, 403);
  });

  test('malformed requests get 400', async () => {
    for (const body of [
      'garbage',
      `old 08\n\n${log.checkpoint}`,
      `old 8\nnot-base64\n\n${log.checkpoint}`,
      `old 5\n${'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.repeat(64)}\n${log.checkpoint}`,
      'old 8\n\nexample.com/witnessed-log\n8\nnot a root\n\n\u2014 x AAAAAAAA\n',
    ])
      assert.equal((await post(server.url, body)).status, 400, body.slice(0, 40));
    assert.equal((await post(server.url, 'x'.repeat(70_000))).status, 413);
    assert.equal(await chunked(server.url, 'y'.repeat(10_000), 20), 413, 'no content-length, too long');
    assert.equal(await chunked(server.url, 'y'.repeat(10), 2), 400);
    assert.equal((await fetch(`${server.url}/add-checkpoint`)).status, 405);
    assert.equal((await fetch(`${server.url}/other`, { method: 'POST', body: '' })).status, 404);
  });

  test('a second witness process on the same state is refused', () => {
    assert.throws(() => new Witness({ cosigner, logKeys: [logKey], statePath }), { code: 'LOG_LOCKED' });
  });

  test('the state survives a restart', async () => {
    await server.close();
    witness.close();
    witness = new Witness({ cosigner, logKeys: [logKey], statePath, now: () => NOW + 60 });
    server = await serveWitness(witness);
    assert.equal(witness.latest(ORIGIN)?.size, 8);
    assert.deepEqual(await witnessCosign(server.url, log.checkpoint, 0, []), { status: 409, size: 8 });
    const r = await witnessCosign(server.url, log.checkpoint, 8, []);
    assert.ok('lines' in r);
    assert.equal(cosignedBy(log.checkpoint, r.lines), NOW + 60);
  });
});
