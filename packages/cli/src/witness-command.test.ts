import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog, parseNote, type Statement } from '@keywarden/evidence';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));
const RUN = fileURLToPath(new URL('./run.ts', import.meta.url));

function kw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `witness serve` and resolves with its URL once it prints it. */
function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  // The server runs the real program directly: the bin wrapper would not pass SIGTERM on.
  const child = spawn(process.execPath, ['--import', 'tsx', RUN, 'witness', 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / listening on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`witness serve exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

const statement = (i: number): Statement => ({
  type: 'key.operation',
  at: new Date(Date.UTC(2026, 5, 1, 12, 0, i)).toISOString(),
  operation: 'sign',
  keyId: `key-${i}`,
});

describe('keywarden witness and evidence witness', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-witness-cli-'));
  const dir = join(tmp, 'log');
  let logVkey = '';
  const wvkeys: string[] = [];
  before(async () => {
    const log = await EvidenceLog.open(dir, { create: true, origin: 'example.com/cli-witnessed' });
    await log.appendBatch([0, 1, 2].map(statement));
    log.close();
    logVkey = readFileSync(join(dir, 'log.vkey'), 'utf8').trim();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('keygen prints a cosignature/v1 vkey and refuses to overwrite; vkey prints it again', () => {
    for (const i of [1, 2]) {
      const r = kw('witness', 'keygen', '--key', join(tmp, `w${i}.pem`), '--name', `witness.example/w${i}`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^witness\\.example/w${i}\\+[0-9a-f]{8}\\+B[A-P]`));
      wvkeys.push(r.stdout.trim());
    }
    assert.equal(kw('witness', 'keygen', '--key', join(tmp, 'w1.pem'), '--name', 'x').status, 2);
    const again = kw('witness', 'vkey', '--key', join(tmp, 'w1.pem'), '--name', 'witness.example/w1');
    assert.equal(again.stdout.trim(), wvkeys[0]);
  });

  test('serve refuses a non-loopback address without --allow-remote', () => {
    const r = kw(
      'witness',
      'serve',
      '--log-key',
      logVkey,
      '--key',
      join(tmp, 'w1.pem'),
      '--name',
      'witness.example/w1',
      '--state',
      join(tmp, 'refused.json'),
      '--listen',
      '0.0.0.0:0',
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0/);
  });

  test('evidence witness gathers a cosignature; evidence verify enforces the witness policy', async () => {
    const { child, url } = await serve([
      '--log-key',
      logVkey,
      '--key',
      join(tmp, 'w1.pem'),
      '--name',
      'witness.example/w1',
      '--state',
      join(tmp, 'w1.json'),
      '--listen',
      '127.0.0.1:0',
    ]);
    try {
      const r = kw('evidence', 'witness', '--log', dir, '--url', url, '--witness', wvkeys[0]!);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /cosigned size 3 \(witness\.example\/w1\)/);
      assert.equal(parseNote(readFileSync(join(dir, 'checkpoint'), 'utf8')).signatures.length, 2);
    } finally {
      assert.equal(await stop(child), 0);
    }
    const state = JSON.parse(readFileSync(join(tmp, 'w1.json'), 'utf8')) as {
      logs: Record<string, { size: number }>;
    };
    assert.equal(state.logs['example.com/cli-witnessed']!.size, 3);

    const one = kw('evidence', 'verify', dir, '--key', logVkey, '--witness', wvkeys[0]!);
    assert.equal(one.status, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /cosigned by 1 of the required 1 witnesses: witness\.example\/w1/);
    const both = kw(
      'evidence',
      'verify',
      dir,
      '--key',
      logVkey,
      '--witness',
      wvkeys[0]!,
      '--witness',
      wvkeys[1]!,
      '--witness-threshold',
      '2',
      '--json',
    );
    assert.equal(both.status, 1);
    const report = JSON.parse(both.stdout) as { ok: boolean; witnesses: { ok: boolean; problems: string[] } };
    assert.equal(report.ok, true, 'the log itself is intact');
    assert.equal(report.witnesses.ok, false);
    assert.match(report.witnesses.problems.join('\n'), /1 of the required 2/);
    const tooMany = kw(
      'evidence',
      'verify',
      dir,
      '--key',
      logVkey,
      '--witness',
      wvkeys[0]!,
      '--witness-threshold',
      '2',
    );
    assert.equal(tooMany.status, 2);
  });

  test('evidence witness reports an unreachable witness with exit 1', () => {
    const r = kw('evidence', 'witness', '--log', dir, '--url', 'http://127.0.0.1:1', '--witness', wvkeys[0]!);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /FAILED: cannot reach/);
  });
});
