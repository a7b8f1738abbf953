import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's softhsm2 puts its PKCS#11 module (the first is a symlink to the multiarch one). */
const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
];

/** The SoftHSM2 PKCS#11 module, or the Debian path (for messages) when none is installed. */
export function softHsmModule(): string {
  return MODULE_CANDIDATES.find((p) => existsSync(p)) ?? MODULE_CANDIDATES[0]!;
}

export interface SoftHsmToken {
  readonly dir: string;
  /** The SOFTHSM2_CONF file; process.env.SOFTHSM2_CONF points at it until cleanup. */
  readonly conf: string;
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  /** Environment for child tools (softhsm2-util, pkcs11-tool) that must see this token. */
  readonly env: NodeJS.ProcessEnv;
  /** pkcs11-tool on this token, logged in with the user PIN; returns stdout. */
  pkcs11Tool(...args: string[]): string;
  /** `softhsm2-util --import` of a PKCS#8 PEM: private and public objects, CKA_LOCAL false. */
  importKey(pem: string, id: string, label: string): void;
  cleanup(): void;
}

/**
 * A fresh SoftHSM2 token in a temporary directory, initialised with random PINs unless given. The
 * module reads SOFTHSM2_CONF at C_Initialize, so this sets it in this process too: one token per
 * test file (node --test runs each file in its own process).
 */
export function softHsmToken(opts: { label?: string; pin?: string; soPin?: string } = {}): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'kw-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const label = opts.label ?? 'kw-test';
  const pin = opts.pin ?? randomBytes(6).toString('hex');
  const soPin = opts.soPin ?? randomBytes(6).toString('hex');
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const module = softHsmModule();
  const run = (tool: string, args: string[]): string =>
    execFileSync(tool, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    conf,
    module,
    label,
    pin,
    soPin,
    env,
    pkcs11Tool: (...args) =>
      run('pkcs11-tool', ['--module', module, '--token-label', label, '--login', '--pin', pin, ...args]),
    importKey: (pem, id, keyLabel) => {
      run('softhsm2-util', [
        '--import',
        pem,
        '--token',
        label,
        '--id',
        id,
        '--label',
        keyLabel,
        '--pin',
        pin,
      ]);
    },
    cleanup: () => {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
