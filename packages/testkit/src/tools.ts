import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** The kernel's module signer, which Debian ships outside PATH. */
export const SIGN_FILE = '/usr/lib/linux-kbuild-6.1/scripts/sign-file';

/** The Debian package that brings each tool the fixtures are made with (.ci/run installs them). */
const PACKAGES: Record<string, string> = {
  openssl: 'openssl',
  sha256sum: 'coreutils',
  'ssh-keygen': 'openssh-client',
  sbsign: 'sbsigntool',
  sbverify: 'sbsigntool',
  osslsigncode: 'osslsigncode',
  certtool: 'gnutls-bin',
  [SIGN_FILE]: 'linux-kbuild-6.1',
  tar: 'tar',
  gzip: 'gzip',
  xz: 'xz-utils',
  bzip2: 'bzip2',
  zstd: 'zstd',
  zip: 'zip',
  unzip: 'unzip',
  cpio: 'cpio',
  ar: 'binutils',
  'dpkg-deb': 'dpkg',
  gpg: 'gnupg',
  keytool: 'default-jdk-headless',
  'cert-to-efi-sig-list': 'efitools',
  'sign-efi-sig-list': 'efitools',
  'sig-list-to-certs': 'efitools',
  'hash-to-efi-sig-list': 'efitools',
  mkimage: 'u-boot-tools',
  dtc: 'device-tree-compiler',
  fdtget: 'device-tree-compiler',
  swtpm_setup: 'swtpm-tools',
  swtpm: 'swtpm',
  swtpm_localca: 'swtpm-tools',
  tpm2_nvread: 'tpm2-tools',
  // The system interpreter, not a pyenv shim: only it sees Debian's python3-securesystemslib.
  '/usr/bin/python3': 'python3-securesystemslib',
  'securesystemslib (python module)': 'python3-securesystemslib',
  'softhsm2-util': 'softhsm2',
  'pkcs11-tool': 'opensc',
};

/** Requirements that are not executables: how to tell they are there. */
const PROBES: Record<string, () => boolean> = {
  'securesystemslib (python module)': () =>
    spawnSync('/usr/bin/python3', ['-c', 'import securesystemslib'], { stdio: 'ignore' }).status === 0,
};

/** A tool on PATH (or an absolute path to an executable) that can be started. */
export function hasTool(tool: string): boolean {
  const probe = PROBES[tool];
  if (probe) return probe();
  if (tool.startsWith('/')) {
    try {
      accessSync(tool, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  return (
    (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error as NodeJS.ErrnoException | undefined)?.code !==
    'ENOENT'
  );
}

/**
 * Tests that make fixtures with real tools: outside CI a missing tool skips the test with the
 * Debian package to install; in CI it is a failure, so a green run always ran them.
 */
export function needTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((x) => !hasTool(x));
  if (missing.length === 0) return true;
  const msg = `${missing.map((x) => `${x} (Debian package ${PACKAGES[x] ?? x})`).join(', ')} not installed`;
  if (process.env.CI) assert.fail(msg);
  t.skip(msg);
  return false;
}

/**
 * needTools for a whole suite: the skip reason for `describe(name, { skip: toolsMissing(...) })`, or
 * false when every tool is there. In CI a missing tool throws, so the suite fails instead.
 */
export function toolsMissing(...tools: string[]): string | false {
  const missing = tools.filter((x) => !hasTool(x));
  if (missing.length === 0) return false;
  const msg = `${missing.map((x) => `${x} (Debian package ${PACKAGES[x] ?? x})`).join(', ')} not installed`;
  if (process.env.CI) throw new Error(msg);
  return msg;
}

/**
 * A self-signed signing certificate and its key, made by `openssl req` in `dir`: `key` and `cert`
 * are the file paths. `newkey` is openssl's spec (rsa:2048, ec with a curve in `pkeyopt`, ed25519).
 */
export function opensslSigner(
  dir: string,
  name: string,
  subject: string,
  opts: { newkey?: string; pkeyopt?: string; der?: boolean; days?: number; addext?: string } = {},
): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.${opts.der ? 'der' : 'crt'}`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      opts.newkey ?? 'rsa:2048',
      ...(opts.pkeyopt ? ['-pkeyopt', opts.pkeyopt] : []),
      '-nodes',
      '-keyout',
      key,
      ...(opts.der ? ['-outform', 'DER'] : []),
      '-out',
      cert,
      '-days',
      String(opts.days ?? 30),
      '-subj',
      `/CN=${subject}`,
      ...(opts.addext ? ['-addext', opts.addext] : []),
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

let p12Count = 0;

/** A PKCS#12 file made by `openssl pkcs12 -export` in `dir` from a certificate and key (`opts` added). */
export function opensslPkcs12(
  dir: string,
  signer: { key: string; cert: string },
  password: string,
  ...opts: string[]
): { file: string; buf: Buffer } {
  const file = join(dir, `export-${p12Count++}.p12`);
  const args = ['pkcs12', '-export', '-in', signer.cert, '-inkey', signer.key, '-name', 'leaf'];
  execFileSync('openssl', [...args, '-out', file, '-passout', `pass:${password}`, ...opts], {
    stdio: 'ignore',
  });
  return { file, buf: readFileSync(file) };
}
