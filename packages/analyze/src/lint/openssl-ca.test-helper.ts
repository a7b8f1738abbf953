import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Certificates made by `openssl ca`, which (unlike `x509 -days` on OpenSSL 3.0) takes exact start
 * and end dates, so fixtures can carry 99991231235959Z or a precise 400-day period.
 */
export interface Made {
  readonly der: Uint8Array;
  readonly key: string;
  readonly cert: string;
}

export interface MakeOpts {
  /** openssl -subj form; custom OIDs work, e.g. '/CN=x/1.3.6.1.4.1.37244.2.1=FFF1'. */
  readonly subj: string;
  /** Extension lines for an -extfile section. */
  readonly ext: readonly string[];
  /** Signer; omitted means self-signed. */
  readonly issuer?: Made;
  /** YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ. */
  readonly start: string;
  readonly end: string;
  /** genpkey arguments; defaults to P-256. */
  readonly key?: readonly string[];
  readonly md?: string;
  /** Hex serial for the serial file. */
  readonly serial?: string;
}

export const P256 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'] as const;
export const P384 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'] as const;
export const rsa = (bits: number): string[] => ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`];

export class OpensslCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-lint-'));
  private n = 0;

  private run(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  make(o: MakeOpts): Made {
    const n = this.n++;
    const key = join(this.dir, `k${n}.pem`);
    const csr = join(this.dir, `r${n}.csr`);
    const cert = join(this.dir, `c${n}.pem`);
    const der = join(this.dir, `c${n}.der`);
    const conf = join(this.dir, `ca${n}.cnf`);
    const extfile = join(this.dir, `e${n}.cnf`);
    writeFileSync(join(this.dir, `index${n}.txt`), '');
    writeFileSync(join(this.dir, `serial${n}`), `${o.serial ?? (0x1000 + n).toString(16)}\n`);
    writeFileSync(
      conf,
      [
        'oid_section=oids',
        '[oids]',
        'matterVid=1.3.6.1.4.1.37244.2.1',
        'matterPid=1.3.6.1.4.1.37244.2.2',
        '[req]',
        'distinguished_name=dn',
        'prompt=no',
        '[dn]',
        'CN=unused',
        '[ca]',
        'default_ca=d',
        '[d]',
        `database=index${n}.txt`,
        `serial=serial${n}`,
        'new_certs_dir=.',
        'policy=p',
        'unique_subject=no',
        'email_in_dn=no',
        // `ca` drops every subject attribute its policy does not name, so name all the tests use.
        '[p]',
        'commonName=optional',
        'serialNumber=optional',
        'organizationName=optional',
        'matterVid=optional',
        'matterPid=optional',
        '',
      ].join('\n'),
    );
    writeFileSync(extfile, `[x]\n${o.ext.join('\n')}\n`);
    this.run(['genpkey', ...(o.key ?? P256), '-out', key]);
    this.run(['req', '-new', '-config', conf, '-key', key, '-subj', o.subj, '-out', csr]);
    const signer = o.issuer
      ? ['-cert', o.issuer.cert, '-keyfile', o.issuer.key]
      : ['-selfsign', '-keyfile', key];
    this.run([
      'ca',
      '-batch',
      '-notext',
      '-preserveDN',
      '-config',
      conf,
      '-in',
      csr,
      '-out',
      cert,
      '-md',
      o.md ?? 'sha256',
      '-startdate',
      o.start,
      '-enddate',
      o.end,
      '-extfile',
      extfile,
      '-extensions',
      'x',
      ...signer,
    ]);
    this.run(['x509', '-in', cert, '-outform', 'DER', '-out', der]);
    return { der: new Uint8Array(readFileSync(der)), key, cert };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
