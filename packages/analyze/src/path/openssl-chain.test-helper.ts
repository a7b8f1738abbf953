import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCertificate, pemBlocks } from '@keywarden/core';
import type { CertInput } from './types.ts';

/**
 * Certificate hierarchies made by the openssl command line, the way a PKI team would make them:
 * `req -x509` for roots, `req` + `x509 -req -extfile` for everything below.
 */
export type KeyKind = 'p256' | 'p384' | 'p521' | 'rsa' | 'ed25519' | 'ed448';

const GENPKEY: Record<KeyKind, string[]> = {
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  ed25519: ['-algorithm', 'ED25519'],
  ed448: ['-algorithm', 'ED448'],
};

export interface Issued extends CertInput {
  readonly name: string;
  readonly pem: string;
  readonly keyFile: string;
  readonly certFile: string;
}

export class OpensslPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-pki-'));
  private serial = 1;
  private readonly conf = join(this.dir, 'req.cnf');

  constructor() {
    writeFileSync(this.conf, '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n');
  }

  private run(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private key(name: string, kind: KeyKind): string {
    const file = join(this.dir, `${name}.key`);
    this.run(['genpkey', ...GENPKEY[kind], '-out', file]);
    return file;
  }

  private load(name: string, keyFile: string): Issued {
    const certFile = join(this.dir, `${name}.pem`);
    const pem = readFileSync(certFile, 'latin1');
    const block = [...pemBlocks(Buffer.from(pem, 'latin1'))][0]!;
    const der = new Uint8Array(block.der);
    return { name, pem, keyFile, certFile, der, cert: parseCertificate(der) };
  }

  /** A self-signed root; `ext` lines are added as -addext (default: a CA). */
  root(name: string, o: { kind?: KeyKind; ext?: string[]; days?: number; subj?: string } = {}): Issued {
    const keyFile = this.key(name, o.kind ?? 'p256');
    const ext = o.ext ?? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
    this.run([
      'req',
      '-x509',
      '-new',
      '-config',
      this.conf,
      '-key',
      keyFile,
      '-subj',
      o.subj ?? `/CN=${name}`,
      '-days',
      String(o.days ?? 3650),
      '-set_serial',
      String(this.serial++),
      '-out',
      `${name}.pem`,
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
    return this.load(name, keyFile);
  }

  /**
   * A certificate `issuer` signs. `ext` is the extfile body; key identifiers are added unless
   * `noKeyIds`. `sigopt` passes openssl -sigopt values (RSA-PSS).
   */
  issue(
    name: string,
    issuer: Issued,
    ext: string[],
    o: {
      kind?: KeyKind;
      days?: number;
      subj?: string;
      sigopt?: string[];
      noKeyIds?: boolean;
      keyFile?: string;
      serial?: number;
    } = {},
  ): Issued {
    const keyFile = o.keyFile ?? this.key(name, o.kind ?? 'p256');
    this.run([
      'req',
      '-new',
      '-config',
      this.conf,
      '-key',
      keyFile,
      '-subj',
      o.subj ?? `/CN=${name}`,
      '-out',
      `${name}.csr`,
    ]);
    const extFile = join(this.dir, `${name}.ext`);
    const ids = o.noKeyIds ? [] : ['subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
    writeFileSync(extFile, [...ids, ...ext].join('\n') + '\n');
    this.run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      issuer.certFile,
      '-CAkey',
      issuer.keyFile,
      '-set_serial',
      String(o.serial ?? this.serial++),
      '-days',
      String(o.days ?? 825),
      '-extfile',
      extFile,
      '-out',
      `${name}.pem`,
      ...(o.sigopt ?? []).flatMap((s) => ['-sigopt', s]),
    ]);
    return this.load(name, keyFile);
  }

  /** `openssl verify` of `leaf` against `root` with `untrusted` intermediates at `at`. */
  opensslVerify(leaf: Issued, root: Issued, untrusted: Issued[], extra: string[] = [], at?: number): boolean {
    const chain = join(this.dir, `untrusted-${this.serial++}.pem`);
    writeFileSync(chain, untrusted.map((u) => u.pem).join(''));
    try {
      execFileSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          root.certFile,
          ...(untrusted.length ? ['-untrusted', chain] : []),
          ...(at !== undefined ? ['-attime', String(Math.floor(at / 1000))] : []),
          ...extra,
          leaf.certFile,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      return true;
    } catch {
      return false;
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const CA = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
export const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
