import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPemBlocks, type PemBlock } from '../pem.ts';

/**
 * Test support only (imported by keys/*.test.ts). Fixtures are made at test time by the real tools in
 * a private temporary directory that is removed afterwards; nothing here prints key material.
 */

export class Workdir {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-keys-'));

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Run a tool; its output is returned, never echoed. Failures report the command and stderr only. */
  run(cmd: string, args: readonly string[], env: Record<string, string> = {}): Buffer {
    try {
      return execFileSync(cmd, args, {
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
      // The caught error carries the tool's stdout, which may be a private key: do not chain it.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.slice(0, 500)}`);
    }
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  write(name: string, data: string | Uint8Array): string {
    writeFileSync(this.path(name), data, { mode: 0o600 });
    return this.path(name);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The reference key identity: SHA-256 of the SPKI DER node:crypto exports. */
export function spkiKeyId(key: KeyObject | Buffer | string): string {
  const pub = typeof key === 'object' && 'type' in key && key.type === 'public' ? key : createPublicKey(key);
  return hash('sha256', pub.export({ type: 'spki', format: 'der' }), 'hex');
}

export function sha256Hex(data: Uint8Array): string {
  return hash('sha256', data, 'hex');
}

/** The single PEM block in a tool's output. */
export function onlyPem(text: Buffer | string): PemBlock {
  const blocks = findPemBlocks(Buffer.isBuffer(text) ? text : Buffer.from(text));
  assert.equal(blocks.length, 1, 'expected exactly one PEM block');
  return blocks[0]!;
}

/**
 * Spellings of a private key's secret that a leak would most likely take: the private scalar ('d' of
 * its JWK) and the whole PKCS#8 DER, in hex, base64 and base64url, plus a slice of the scalar's hex.
 */
export function secretForms(priv: KeyObject): string[] {
  const forms: string[] = [];
  const add = (b: Buffer): void => {
    forms.push(b.toString('hex'), b.toString('base64'), b.toString('base64url'));
    if (b.length >= 24) forms.push(b.subarray(4, 20).toString('hex'));
  };
  // node has no JWK form for DSA or RSA-PSS; their PKCS#8 DER below still covers the secret.
  let jwk: Record<string, unknown> = {};
  try {
    jwk = priv.export({ format: 'jwk' }) as Record<string, unknown>;
  } catch {
    // keep the PKCS#8 forms only
  }
  for (const m of ['d', 'p', 'q'] as const) {
    const v = jwk[m];
    if (typeof v === 'string') add(Buffer.from(v, 'base64url'));
  }
  add(priv.export({ type: 'pkcs8', format: 'der' }));
  return forms;
}

/** Assert that nothing in `value`, serialised, spells any of the `secrets`. Messages never quote them. */
export function assertNoSecrets(value: unknown, secrets: readonly string[]): void {
  const json = JSON.stringify(value) ?? '';
  for (const s of secrets) assert.ok(!json.includes(s), 'an observation contains private key material');
}
