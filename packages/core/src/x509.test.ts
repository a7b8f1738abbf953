/**
 * Cross-checks of the certificate, CSR and CRL readers against node:crypto and the openssl CLI, on a
 * small PKI generated with openssl at test time: root -> intermediate -> leaves, every extension
 * openssl can write, every key type we name, and CRLs from `openssl ca`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import type { SignatureAlgorithm } from './algorithm.ts';
import { parseCrl, crlSummary, MAX_CRL_ENTRIES } from './crl.ts';
import { parseCertificationRequest, csrSummary } from './csr.ts';
import { children, readOne } from './der.ts';
import { CoreError } from './error.ts';
import { ext, type Extension } from './extensions.ts';
import type { GeneralName } from './general-name.ts';
import type { NameAttribute } from './name.ts';
import { EKU_NAMES } from './oid.ts';
import { parseCertificate, type Certificate } from './x509.ts';

// ---------------------------------------------------------------------------------------------
// openssl configuration

const BASE_CNF = `
[req]
distinguished_name = req_dn
prompt = no
utf8 = yes
string_mask = utf8only
[req_dn]
CN = unused
`;

/** string_mask=default lets openssl pick PrintableString, T61String and BMPString for a subject. */
const MASK_CNF = `
[req]
distinguished_name = req_dn
utf8 = yes
string_mask = default
[req_dn]
`;

/** DN from the config (not -subj), so that openssl also writes the request attributes. */
const CSR_CNF = `
[req]
distinguished_name = csr_dn
attributes = csr_attrs
prompt = no
utf8 = yes
string_mask = utf8only
[csr_dn]
C = SE
O = Keywarden Ö
CN = csr.example.com
[csr_attrs]
challengePassword = s3cret-pass
unstructuredName = Keywarden unit
`;

const PKI_CNF = `
${BASE_CNF}
[ca]
default_ca = int_ca

[int_ca]
dir = ./intdb
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = ./int.pem
private_key = ./int.key
default_md = sha256
policy = any_dn
preserve = yes
unique_subject = no
default_days = 30
default_crl_days = 7
crl_extensions = int_crl_ext

[root_ca]
dir = ./rootdb
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
certificate = ./root.pem
private_key = ./root.key
default_md = sha384
policy = any_dn
unique_subject = no
default_days = 30
default_crl_days = 30

[any_dn]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
emailAddress = optional

[int_crl_ext]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:http://crl.example.com/int.crl
onlysomereasons = keyCompromise, superseded

[root_ext]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[int_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer:always
nameConstraints = critical, permitted;DNS:.example.com, permitted;IP:192.168.0.0/255.255.0.0, permitted;IP:2001:db8::/ffff:ffff::, permitted;email:.example.com, excluded;DNS:bad.example.com, excluded;IP:10.0.0.0/255.0.0.0
policyConstraints = requireExplicitPolicy:0
inhibitAnyPolicy = 0

[full_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, encipherOnly, decipherOnly
extendedKeyUsage = serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning, 1.3.6.1.4.1.55555.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer:always
subjectAltName = @san
issuerAltName = URI:http://ca.example.com/, email:ca@example.com
crlDistributionPoints = crldp
authorityInfoAccess = OCSP;URI:http://ocsp.example.com/, caIssuers;URI:http://ca.example.com/int.cer
certificatePolicies = 1.3.6.1.4.1.55555.2.1, @pol
1.3.6.1.4.1.55555.1 = ASN1:UTF8String:hello

[san]
DNS.1 = leaf.example.com
DNS.2 = *.leaf.example.com
IP.1 = 192.168.1.10
IP.2 = 2001:db8::1
email.1 = ops@example.com
URI.1 = https://leaf.example.com/path?q=1
RID.1 = 1.3.6.1.4.1.55555.9
dirName.1 = san_dir
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.com
otherName.2 = 1.3.6.1.5.5.7.8.4;SEQUENCE:hw_module

[san_dir]
C = DE
O = Dir Org
CN = Dir Name

[hw_module]
hwType = OID:1.3.6.1.4.1.55555.7
hwSerial = FORMAT:HEX,OCTETSTRING:0a0b0c

[crldp]
fullname = URI:http://crl.example.com/int.crl
reasons = keyCompromise, CACompromise
CRLissuer = dirName:san_dir

[pol]
policyIdentifier = 1.3.6.1.4.1.55555.2.2
CPS.1 = "http://cps.example.com/"
userNotice.1 = @notice

[notice]
explicitText = "Explicit notice text"
organization = "Keywarden Org"
noticeNumbers = 1, 2

[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:simple.example.com
`;

const ROOT_SUBJECT = '/C=US/O=Keywarden Test/CN=Keywarden Test Root';
const INT_SUBJECT = '/C=US/O=Keywarden Test/OU=Issuing/CN=Keywarden Test Intermediate';
const FULL_SUBJECT =
  '/C=DE/L=München/O=Acme, Inc./OU=Eng+OU=Sec+UID=u1/CN=東京 leaf/emailAddress=leaf@example.com';
const INT_SERIAL = 'ff0102030405060708090a0b0c0d0e0f10111213';

// ---------------------------------------------------------------------------------------------
// fixture generation

let dir = '';
const certs = new Map<string, Buffer>();
const csrs = new Map<string, Buffer>();
const crls = new Map<string, Buffer>();
const run = promisify(execFile);

/**
 * Run openssl in the fixture directory. `line` is split on spaces; arguments that hold spaces
 * (subjects) go in `extra`.
 */
async function ossl(line: string, ...extra: string[]): Promise<string> {
  const args = line.split(' ').filter((a) => a !== '');
  const { stdout } = await run('openssl', [...args, ...extra], {
    cwd: dir,
    env: { ...process.env, OPENSSL_CONF: join(dir, 'base.cnf') },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

function pemDer(file: string): Buffer {
  const text = readFileSync(join(dir, file), 'latin1');
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END /.exec(text);
  assert.ok(m, `no PEM block in ${file}`);
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

const KEYS: Record<string, string> = {
  root: '-algorithm EC -pkeyopt ec_paramgen_curve:P-384',
  int: '-algorithm RSA -pkeyopt rsa_keygen_bits:3072',
  p256: '-algorithm EC -pkeyopt ec_paramgen_curve:P-256',
  p521: '-algorithm EC -pkeyopt ec_paramgen_curve:P-521',
  rsa2048: '-algorithm RSA -pkeyopt rsa_keygen_bits:2048',
  rsa4096: '-algorithm RSA -pkeyopt rsa_keygen_bits:4096',
  pss: '-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048',
  pss384:
    '-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha384 ' +
    '-pkeyopt rsa_pss_keygen_mgf1_md:sha384 -pkeyopt rsa_pss_keygen_saltlen:48',
  ed25519: '-algorithm ED25519',
  ed448: '-algorithm ED448',
  rev: '-algorithm EC -pkeyopt ec_paramgen_curve:P-256',
};

const PSS_SIGOPTS = '-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32';

/** A leaf from the intermediate through `openssl ca`, which (unlike x509 -req in 3.0) sets any end date. */
async function caIssue(name: string, key: string, subject: string, opts = ''): Promise<void> {
  await ossl(`req -new -key ${key}.key -out ${name}.csr`, '-subj', subject);
  await ossl(`ca -batch -config pki.cnf -name int_ca -in ${name}.csr -out ${name}.pem -notext ${opts}`);
}

async function buildPki(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-x509-'));
  writeFileSync(join(dir, 'base.cnf'), BASE_CNF);
  writeFileSync(join(dir, 'mask.cnf'), MASK_CNF);
  writeFileSync(join(dir, 'csr.cnf'), CSR_CNF);
  writeFileSync(join(dir, 'pki.cnf'), PKI_CNF);
  for (const db of ['intdb', 'rootdb']) {
    mkdirSync(join(dir, db));
    writeFileSync(join(dir, db, 'index.txt'), '');
  }
  writeFileSync(join(dir, 'intdb', 'serial'), '1000\n');
  writeFileSync(join(dir, 'intdb', 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'rootdb', 'serial'), '2000\n');

  await Promise.all(Object.entries(KEYS).map(([name, opts]) => ossl(`genpkey ${opts} -out ${name}.key`)));

  // root -> intermediate -> leaves
  await ossl(
    'req -x509 -new -config pki.cnf -extensions root_ext -key root.key -days 3650 -sha384 -out root.pem',
    '-subj',
    ROOT_SUBJECT,
  );
  await ossl('req -new -key int.key -out int.csr', '-subj', INT_SUBJECT);
  await ossl(
    `x509 -req -in int.csr -CA root.pem -CAkey root.key -days 1825 -sha384 -set_serial 0x00${INT_SERIAL} ` +
      '-extfile pki.cnf -extensions int_ext -out int.pem',
  );
  await ossl('req -new -config mask.cnf -key p256.key -utf8 -out full.csr', '-subj', FULL_SUBJECT);
  await ossl(
    'x509 -req -in full.csr -CA int.pem -CAkey int.key -set_serial 0x7fff -days 365 -sha256 ' +
      '-extfile pki.cnf -extensions full_ext -out full.pem',
  );
  await ossl('req -new -key rsa2048.key -out pss-signed.csr', '-subj', '/CN=PSS signed leaf');
  await ossl(
    `x509 -req -in pss-signed.csr -CA int.pem -CAkey int.key -set_serial 1 -days 30 -sha256 ${PSS_SIGOPTS} ` +
      '-extfile pki.cnf -extensions leaf_ext -out pss-signed.pem',
  );
  await caIssue(
    'forever',
    'ed25519',
    '/O=Keywarden Tëst/CN=forever ∞',
    '-extensions leaf_ext -startdate 20240101000000Z -enddate 99991231235959Z',
  );
  await caIssue(
    'utc-bounds',
    'ed448',
    '/CN=utc bounds',
    '-startdate 19500101000000Z -enddate 20491231235959Z',
  );
  await caIssue(
    'generalized-2050',
    'ed448',
    '/CN=generalized 2050',
    '-startdate 20491231235959Z -enddate 20500101000000Z',
  );
  await caIssue('rev1', 'rev', '/CN=revoked one');
  await caIssue('rev2', 'rev', '/CN=revoked two');

  // self-signed, one per key type: some v3, some v1 (no extensions at all)
  const self = (key: string, opts: string, ...extra: string[]): Promise<string> =>
    ossl(
      `req -x509 -new -key ${key}.key -days 30 -out self-${key}.pem ${opts}`,
      '-subj',
      `/CN=Self ${key}`,
      ...extra,
    );
  await Promise.all([
    self(
      'rsa2048',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,digitalSignature',
      '-addext',
      'subjectKeyIdentifier=hash',
    ),
    self('rsa4096', '-sha512'),
    self('pss', ''),
    self('pss384', ''),
    self('p256', '-sha256', '-addext', 'subjectAltName=DNS:self.example.com,IP:127.0.0.1,IP:::1'),
    self('root', '-sha384'),
    self('p521', '-sha512'),
    self('ed25519', ''),
    self('ed448', '', '-addext', 'extendedKeyUsage=codeSigning'),
  ]);

  // certification requests
  await ossl(
    'req -new -config csr.cnf -key p256.key -out csr-attrs.csr',
    ...['-addext', 'subjectAltName=DNS:csr.example.com,IP:10.1.2.3,email:a@example.com'],
    ...[
      '-addext',
      'keyUsage=critical,digitalSignature,keyAgreement',
      '-addext',
      'extendedKeyUsage=clientAuth',
    ],
    ...[
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      '1.3.6.1.4.1.55555.1=ASN1:UTF8String:hello',
    ],
  );
  await ossl(
    `req -new -config mask.cnf -key rsa2048.key -utf8 -out csr-pss.csr ${PSS_SIGOPTS}`,
    ...[
      '-subj',
      '/C=DE/O=Acme, Inc./OU=Eng+OU=Sec/CN=東京 csr',
      '-addext',
      'subjectAltName=URI:https://csr.example.com/',
    ],
  );
  await ossl('req -new -key ed25519.key -out csr-ed25519.csr', '-subj', '/CN=ed25519 csr');
  await ossl('req -new -key rsa4096.key -sha512 -out csr-rsa4096.csr', '-subj', '/CN=rsa4096 csr');

  // CRLs: a v2 CRL from the intermediate, v1 CRLs (empty, then one entry) from the root
  const revoke = (file: string, how: string): Promise<string> =>
    ossl(`ca -config pki.cnf -name int_ca -revoke ${file} ${how}`);
  await revoke('utc-bounds.pem', '-crl_reason keyCompromise');
  await revoke('generalized-2050.pem', '-crl_reason superseded');
  await revoke('rev1.pem', '-crl_compromise 20240102030405Z');
  await revoke('rev2.pem', '-crl_hold holdInstructionReject');
  await revoke('full.pem', '-crl_reason cessationOfOperation');
  await ossl('ca -gencrl -config pki.cnf -name int_ca -out int-v2.crl');
  await ossl('ca -gencrl -config pki.cnf -name root_ca -out root-empty.crl');
  await ossl('ca -config pki.cnf -name root_ca -revoke int.pem');
  await ossl('ca -gencrl -config pki.cnf -name root_ca -out root-v1.crl');

  for (const c of [...CERTS.map((x) => x.name), 'rev1', 'rev2']) certs.set(c, pemDer(`${c}.pem`));
  for (const c of CSRS) csrs.set(c.name, pemDer(`${c.name}.csr`));
  for (const c of ['int-v2', 'root-empty', 'root-v1']) crls.set(c, pemDer(`${c}.crl`));
}

// ---------------------------------------------------------------------------------------------
// what we expect of each certificate, beyond agreeing with node and openssl

interface CertCase {
  readonly name: string;
  /** Fixture whose key signed this certificate. */
  readonly issuer: string;
  readonly key: { algorithm: string; size: number; curve?: string };
  readonly signature: string;
  /** saltLength undefined: whatever openssl chose, checked against its own text only. */
  readonly pss?: { hash: string; mgfHash: string; saltLength?: number };
  readonly version: number;
}

const CERTS: CertCase[] = [
  {
    name: 'root',
    issuer: 'root',
    key: { algorithm: 'EC', size: 384, curve: 'P-384' },
    signature: 'ecdsa-with-SHA384',
    version: 3,
  },
  {
    name: 'int',
    issuer: 'root',
    key: { algorithm: 'RSA', size: 3072 },
    signature: 'ecdsa-with-SHA384',
    version: 3,
  },
  {
    name: 'full',
    issuer: 'int',
    key: { algorithm: 'EC', size: 256, curve: 'P-256' },
    signature: 'sha256WithRSAEncryption',
    version: 3,
  },
  {
    name: 'pss-signed',
    issuer: 'int',
    key: { algorithm: 'RSA', size: 2048 },
    signature: 'rsassaPss',
    pss: { hash: 'sha256', mgfHash: 'sha256', saltLength: 32 },
    version: 3,
  },
  {
    name: 'forever',
    issuer: 'int',
    key: { algorithm: 'Ed25519', size: 255 },
    signature: 'sha256WithRSAEncryption',
    version: 3,
  },
  {
    name: 'utc-bounds',
    issuer: 'int',
    key: { algorithm: 'Ed448', size: 456 },
    signature: 'sha256WithRSAEncryption',
    // openssl ca adds no extensions unless asked: a v1 certificate
    version: 1,
  },
  {
    name: 'generalized-2050',
    issuer: 'int',
    key: { algorithm: 'Ed448', size: 456 },
    signature: 'sha256WithRSAEncryption',
    // openssl ca adds no extensions unless asked: a v1 certificate
    version: 1,
  },
  {
    name: 'self-rsa2048',
    issuer: 'self-rsa2048',
    key: { algorithm: 'RSA', size: 2048 },
    signature: 'sha256WithRSAEncryption',
    version: 3,
  },
  {
    name: 'self-rsa4096',
    issuer: 'self-rsa4096',
    key: { algorithm: 'RSA', size: 4096 },
    signature: 'sha512WithRSAEncryption',
    version: 1,
  },
  {
    name: 'self-pss',
    issuer: 'self-pss',
    key: { algorithm: 'RSA-PSS', size: 2048 },
    signature: 'rsassaPss',
    // No key restrictions: openssl 3.0 signs with SHA-256 and the largest salt (256 - 32 - 2 = 222
    // octets); later versions cap it at the digest length, so the salt is checked against the text only.
    pss: { hash: 'sha256', mgfHash: 'sha256' },
    version: 1,
  },
  {
    name: 'self-pss384',
    issuer: 'self-pss384',
    key: { algorithm: 'RSA-PSS', size: 2048 },
    signature: 'rsassaPss',
    pss: { hash: 'sha384', mgfHash: 'sha384', saltLength: 48 },
    version: 1,
  },
  {
    name: 'self-p256',
    issuer: 'self-p256',
    key: { algorithm: 'EC', size: 256, curve: 'P-256' },
    signature: 'ecdsa-with-SHA256',
    version: 3,
  },
  {
    name: 'self-root',
    issuer: 'self-root',
    key: { algorithm: 'EC', size: 384, curve: 'P-384' },
    signature: 'ecdsa-with-SHA384',
    version: 1,
  },
  {
    name: 'self-p521',
    issuer: 'self-p521',
    key: { algorithm: 'EC', size: 521, curve: 'P-521' },
    signature: 'ecdsa-with-SHA512',
    version: 1,
  },
  {
    name: 'self-ed25519',
    issuer: 'self-ed25519',
    key: { algorithm: 'Ed25519', size: 255 },
    signature: 'Ed25519',
    version: 1,
  },
  {
    name: 'self-ed448',
    issuer: 'self-ed448',
    key: { algorithm: 'Ed448', size: 456 },
    signature: 'Ed448',
    version: 3,
  },
];

const CSRS = [
  { name: 'csr-attrs', key: 'p256', signature: 'ecdsa-with-SHA256' },
  { name: 'csr-pss', key: 'rsa2048', signature: 'rsassaPss' },
  { name: 'csr-ed25519', key: 'ed25519', signature: 'Ed25519' },
  { name: 'csr-rsa4096', key: 'rsa4096', signature: 'sha512WithRSAEncryption' },
];

// ---------------------------------------------------------------------------------------------
// reading openssl and node output

/** `key=value` lines, as printed by `openssl x509|crl -noout -serial -subject ...`. */
function keyValues(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

function kv(m: Map<string, string>, key: string | RegExp): string {
  for (const [k, v] of m) if (typeof key === 'string' ? k === key : key.test(k)) return v;
  return assert.fail(`openssl printed no ${String(key)}`);
}

interface TextExtension {
  readonly label: string;
  readonly critical: boolean;
  /** The value lines under the header, trimmed. */
  readonly lines: string[];
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/**
 * The extension headers of `openssl ... -text` after `marker` (e.g. 'X509v3 extensions:'): headers
 * sit four columns right of the marker, their values further right, and the block ends at the next
 * line at or left of the marker.
 */
function textExtensions(text: string, marker: string): TextExtension[] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === marker);
  if (at < 0) return [];
  const base = indentOf(lines[at]!);
  const out: { label: string; critical: boolean; lines: string[] }[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === '') continue;
    const ind = indentOf(line);
    if (ind <= base) break;
    const header = ind === base + 4 ? /^(.*?):( critical)?\s*$/.exec(line.trim()) : null;
    if (header) out.push({ label: header[1]!, critical: header[2] !== undefined, lines: [] });
    else out.at(-1)?.lines.push(line.trim());
  }
  return out;
}

function textExt(list: readonly TextExtension[], label: string): TextExtension {
  const e = list.find((x) => x.label === label);
  assert.ok(e, `openssl printed no ${label}`);
  return e;
}

/** openssl's extension labels, mapped to the names in oid.ts. */
const EXT_LABELS: Record<string, string> = {
  'X509v3 Subject Key Identifier': 'subjectKeyIdentifier',
  'X509v3 Authority Key Identifier': 'authorityKeyIdentifier',
  'X509v3 Basic Constraints': 'basicConstraints',
  'X509v3 Key Usage': 'keyUsage',
  'X509v3 Extended Key Usage': 'extKeyUsage',
  'X509v3 Subject Alternative Name': 'subjectAltName',
  'X509v3 Issuer Alternative Name': 'issuerAltName',
  'X509v3 CRL Distribution Points': 'cRLDistributionPoints',
  'Authority Information Access': 'authorityInfoAccess',
  'X509v3 Certificate Policies': 'certificatePolicies',
  'X509v3 Name Constraints': 'nameConstraints',
  'X509v3 Policy Constraints': 'policyConstraints',
  'X509v3 Inhibit Any Policy': 'inhibitAnyPolicy',
  'X509v3 CRL Number': 'cRLNumber',
  'X509v3 Issuing Distribution Point': 'issuingDistributionPoint',
  'X509v3 CRL Reason Code': 'cRLReason',
  'Invalidity Date': 'invalidityDate',
  'Hold Instruction Code': '2.5.29.23',
};

const KU_LABELS: Record<string, string> = {
  'Digital Signature': 'digitalSignature',
  'Non Repudiation': 'nonRepudiation',
  'Key Encipherment': 'keyEncipherment',
  'Data Encipherment': 'dataEncipherment',
  'Key Agreement': 'keyAgreement',
  'Certificate Sign': 'keyCertSign',
  'CRL Sign': 'cRLSign',
  'Encipher Only': 'encipherOnly',
  'Decipher Only': 'decipherOnly',
};

const REASON_LABELS: Record<string, string> = {
  Unspecified: 'unspecified',
  'Key Compromise': 'keyCompromise',
  'CA Compromise': 'cACompromise',
  'Affiliation Changed': 'affiliationChanged',
  Superseded: 'superseded',
  'Cessation Of Operation': 'cessationOfOperation',
  'Certificate Hold': 'certificateHold',
  'Remove From CRL': 'removeFromCRL',
  'Privilege Withdrawn': 'privilegeWithdrawn',
  'AA Compromise': 'aACompromise',
};

const OPENSSL_KEY_ALGORITHMS: Record<string, string> = {
  rsaEncryption: 'RSA',
  rsassaPss: 'RSA-PSS',
  'id-ecPublicKey': 'EC',
  ED25519: 'Ed25519',
  ED448: 'Ed448',
};
const NODE_KEY_TYPES: Record<string, string> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA-PSS',
  ec: 'EC',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
};
const NODE_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const EKU_OIDS = new Map(Object.entries(EKU_NAMES).map(([oid, name]) => [name, oid]));

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const colonHex = (h: string): string => h.toUpperCase().replace(/(..)(?!$)/g, '$1:');
const unColon = (s: string): string => s.replace(/:/g, '').toLowerCase();

/** Split on `sep` where it is not backslash-escaped. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 2253/4514 text with the members of each multi-valued RDN sorted: their order is not defined. */
const normDn = (s: string): string =>
  splitUnescaped(s, ',')
    .map((rdn) => splitUnescaped(rdn, '+').sort().join('+'))
    .join(',');

/** The escaping of OpenSSL's ASN1_STRFLGS_ESC_2253, which node uses for X509Certificate.subject. */
function esc2253(v: string): string {
  let s = v.replace(/[\\,+"<>;]/g, (c) => '\\' + c);
  if (s.startsWith(' ') || s.startsWith('#')) s = '\\' + s;
  if (v.length > 1 && v.endsWith(' ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/** Our RDNs in node's X509Certificate.subject layout: one RDN per line, ' + ' inside one. */
function nodeNameLines(rdns: readonly NameAttribute[][]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${esc2253(a.value)}`).join(' + ')).join('\n');
}

/** node's subjectAltName: entries split on ', ' outside the JSON-quoted values. */
function splitNodeSan(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' && s[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && c === ',' && s[i + 1] === ' ') {
      out.push(cur);
      cur = '';
      i++;
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  // node quotes a value as a JSON string when it holds characters that could confuse a reader
  return out.map((e) => {
    const m = /^([^:]+:(?:UPN:)?)(".*")$/.exec(e);
    return m ? m[1]! + (JSON.parse(m[2]!) as string) : e;
  });
}

/** A GeneralName the way node's subjectAltName prints it. */
function nodeSan(g: GeneralName): string {
  switch (g.type) {
    case 'dns':
      return `DNS:${g.value}`;
    case 'ip':
      return `IP Address:${g.value.toUpperCase()}`;
    case 'email':
      return `email:${g.value}`;
    case 'uri':
      return `URI:${g.value}`;
    case 'registeredId':
      return `Registered ID:${g.value}`;
    case 'directoryName':
      return `DirName:${g.value}`;
    case 'otherName':
      return g.oid === '1.3.6.1.4.1.311.20.2.3' ? `othername:UPN:${g.value}` : 'othername:<unsupported>';
    default:
      return `${g.type}:${g.value}`;
  }
}

/** The digest name node:crypto.verify wants for a signature algorithm (null for EdDSA). */
const SIG_HASHES: Record<string, string | null> = {
  sha256WithRSAEncryption: 'sha256',
  sha384WithRSAEncryption: 'sha384',
  sha512WithRSAEncryption: 'sha512',
  'ecdsa-with-SHA256': 'sha256',
  'ecdsa-with-SHA384': 'sha384',
  'ecdsa-with-SHA512': 'sha512',
  Ed25519: null,
  Ed448: null,
};

/** Verify a signature over the byte ranges our parser reported: proves the ranges are exact. */
function verifyRanges(
  der: Uint8Array,
  signed: { start: number; end: number },
  sig: { start: number; end: number },
  alg: SignatureAlgorithm,
  key: KeyObject,
): boolean {
  const data = der.subarray(signed.start, signed.end);
  const signature = der.subarray(sig.start, sig.end);
  if (alg.pss)
    return verify(
      alg.pss.hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.pss.saltLength },
      signature,
    );
  const h = SIG_HASHES[alg.name];
  assert.ok(h !== undefined, `no digest known for ${alg.name}`);
  return verify(h, data, key, signature);
}

/** The PSS lines openssl prints after 'Signature Algorithm: rsassaPss'. */
function textPss(text: string): { hash: string; mgfHash: string; saltLength: number; trailerField: number } {
  const hash = /Hash Algorithm: (\S+)/.exec(text)?.[1];
  const mgfHash = /Mask Algorithm: mgf1 with (\S+)/.exec(text)?.[1];
  const salt = /Salt Length: 0x([0-9A-Fa-f]+)/.exec(text)?.[1];
  const trailer = /Trailer Field: 0x([0-9A-Fa-f]+)/.exec(text)?.[1];
  assert.ok(hash && mgfHash && salt && trailer, 'openssl printed no PSS parameters');
  return { hash, mgfHash, saltLength: parseInt(salt, 16), trailerField: parseInt(trailer, 16) };
}

/** Check our public-key facts against node's KeyObject and openssl's text. */
function checkPublicKey(
  ours: Certificate['publicKey'],
  nodeKey: KeyObject,
  text: string,
  expected: CertCase['key'],
): void {
  assert.equal(ours.algorithm, expected.algorithm);
  assert.equal(ours.size, expected.size);
  assert.equal(ours.curve, expected.curve);
  assert.equal(ours.algorithm, NODE_KEY_TYPES[nodeKey.asymmetricKeyType ?? '']);
  const d = nodeKey.asymmetricKeyDetails ?? {};
  if (d.modulusLength !== undefined) assert.equal(ours.size, d.modulusLength);
  if (d.publicExponent !== undefined) assert.equal(BigInt(ours.rsaExponent ?? -1), d.publicExponent);
  if (d.namedCurve !== undefined) assert.equal(ours.curve, NODE_CURVES[d.namedCurve]);
  assert.equal(ours.keyId, sha256(nodeKey.export({ type: 'spki', format: 'der' })));
  const alg = /Public Key Algorithm: (\S+)/.exec(text)?.[1];
  assert.equal(ours.algorithm, OPENSSL_KEY_ALGORITHMS[alg ?? '']);
  const bits = /Public-Key: \((\d+) bit\)/.exec(text)?.[1];
  if (ours.algorithm === 'RSA' || ours.algorithm === 'RSA-PSS' || ours.algorithm === 'EC')
    assert.equal(ours.size, Number(bits));
  const curve = /NIST CURVE: (\S+)/.exec(text)?.[1];
  if (curve) assert.equal(ours.curve, curve);
}

/** Every extension in openssl's order, with its name and criticality; undecoded ones keep raw bytes. */
function checkExtensionList(ours: readonly Extension[], text: readonly TextExtension[]): void {
  assert.deepEqual(
    ours.map((e) => [e.name, e.critical]),
    text.map((t) => [EXT_LABELS[t.label] ?? t.label, t.critical]),
  );
  for (const e of ours) {
    assert.equal(e.error, undefined, `${e.name} failed to decode: ${e.error}`);
    if (!e.value) assert.match(e.raw ?? '', /^([0-9a-f]{2})+$/, `${e.name} has neither value nor raw bytes`);
  }
}

// ---------------------------------------------------------------------------------------------

before(buildPki, { timeout: 300_000 });
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('parseCertificate against node:crypto and openssl', () => {
  for (const c of CERTS) {
    test(c.name, async () => {
      const der = certs.get(c.name)!;
      const ours = parseCertificate(der);
      const node = new X509Certificate(der);
      const issuer = new X509Certificate(certs.get(c.issuer)!);
      const file = `${c.name}.pem`;
      const text = await ossl(`x509 -in ${file} -noout -text`);
      const info = keyValues(
        await ossl(
          `x509 -in ${file} -noout -serial -fingerprint -sha256 -subject -issuer -startdate -enddate -nameopt RFC2253,-esc_msb`,
        ),
      );
      const sha1 = keyValues(await ossl(`x509 -in ${file} -noout -fingerprint -sha1`));

      assert.equal(ours.version, c.version);
      assert.equal(ours.version, Number(/Version: (\d+)/.exec(text)?.[1]));

      // serial: hex without the sign octet
      assert.match(ours.serial, /^([0-9a-f]{2})+$/);
      assert.equal(ours.serial.toUpperCase(), node.serialNumber);
      assert.equal(ours.serial.toUpperCase(), kv(info, 'serial'));

      // validity
      assert.equal(ours.notBefore, Date.parse(node.validFrom));
      assert.equal(ours.notAfter, Date.parse(node.validTo));
      assert.equal(ours.notBefore, Date.parse(kv(info, 'notBefore')));
      assert.equal(ours.notAfter, Date.parse(kv(info, 'notAfter')));

      // names
      assert.equal(nodeNameLines(ours.subject.rdns), node.subject);
      assert.equal(nodeNameLines(ours.issuer.rdns), node.issuer);
      assert.equal(normDn(ours.subject.text), normDn(kv(info, 'subject')));
      assert.equal(normDn(ours.issuer.text), normDn(kv(info, 'issuer')));
      assert.equal(ours.selfIssued, c.issuer === c.name);

      // fingerprints
      assert.equal(ours.sha256, unColon(node.fingerprint256));
      assert.equal(ours.sha256, unColon(kv(info, /Fingerprint$/)));
      assert.equal(ours.sha1, unColon(node.fingerprint));
      assert.equal(ours.sha1, unColon(kv(sha1, /Fingerprint$/)));
      assert.equal(ours.sha256, sha256(der));

      checkPublicKey(ours.publicKey, node.publicKey, text, c.key);

      // signature algorithm, PSS parameters, and the signature itself over our byte ranges
      assert.equal(ours.signatureAlgorithm.name, c.signature);
      assert.equal(
        ours.signatureAlgorithm.name.toLowerCase(),
        /Signature Algorithm: (\S+)/.exec(text)?.[1]?.toLowerCase(),
      );
      if (c.pss) {
        const p = textPss(text);
        assert.deepEqual(ours.signatureAlgorithm.pss, { ...p, mgf: 'mgf1' });
        assert.deepEqual([p.hash, p.mgfHash, p.trailerField], [c.pss.hash, c.pss.mgfHash, 1]);
        if (c.pss.saltLength !== undefined) assert.equal(p.saltLength, c.pss.saltLength);
      } else assert.equal(ours.signatureAlgorithm.pss, undefined);
      assert.ok(node.verify(issuer.publicKey), 'node rejects the signature');
      assert.ok(verifyRanges(der, ours.tbs, ours.signature, ours.signatureAlgorithm, issuer.publicKey));

      // extensions: order, names, criticality
      const tx = textExtensions(text, 'X509v3 extensions:');
      checkExtensionList(ours.extensions, tx);
      if (c.version === 1) assert.deepEqual(ours.extensions, []);

      // subjectAltName and extKeyUsage (node calls the EKU OIDs "keyUsage")
      assert.deepEqual(
        ours.subjectAltNames?.map(nodeSan),
        node.subjectAltName && splitNodeSan(node.subjectAltName),
      );
      assert.deepEqual(
        ours.extKeyUsage?.map((p) => EKU_OIDS.get(p) ?? p),
        node.keyUsage,
      );

      // basicConstraints
      assert.equal(ours.basicConstraints?.ca ?? false, node.ca);
      if (ours.basicConstraints) {
        const { ca, pathLen } = ours.basicConstraints;
        const want = `CA:${ca ? 'TRUE' : 'FALSE'}${pathLen === undefined ? '' : `, pathlen:${pathLen}`}`;
        assert.equal(textExt(tx, 'X509v3 Basic Constraints').lines[0], want);
      }
      // keyUsage
      if (ours.keyUsage) {
        const line = textExt(tx, 'X509v3 Key Usage').lines[0] ?? '';
        assert.deepEqual(
          ours.keyUsage,
          line.split(', ').map((l) => KU_LABELS[l] ?? l),
        );
      }
      // key identifiers
      if (ours.ski) assert.equal(colonHex(ours.ski), textExt(tx, 'X509v3 Subject Key Identifier').lines[0]);
      const aki = ext(ours.extensions, 'authorityKeyIdentifier')?.value;
      if (aki) {
        const lines = textExt(tx, 'X509v3 Authority Key Identifier').lines;
        assert.ok(
          lines.includes(`keyid:${colonHex(aki.keyId ?? '')}`) || lines[0] === colonHex(aki.keyId ?? ''),
        );
        if (aki.serial) assert.ok(lines.includes(`serial:${colonHex(aki.serial)}`), lines.join('|'));
        if (aki.issuer) {
          const dn = aki.issuer[0]!.value;
          assert.ok(
            lines.includes(`DirName:/${splitUnescaped(dn, ',').reverse().join('/')}`),
            lines.join('|'),
          );
        }
      }
      // authorityInfoAccess
      const aia = ext(ours.extensions, 'authorityInfoAccess');
      const methods: Record<string, string> = { ocsp: 'OCSP', caIssuers: 'CA Issuers' };
      assert.deepEqual(
        aia?.access.map((a) => `${methods[a.method] ?? a.method} - URI:${a.location.value}`),
        node.infoAccess?.split('\n').filter((l) => l !== ''),
      );
    });
  }
});

describe('certificate details', () => {
  test('the chain links by key identifiers, issuer names and serials', () => {
    const root = parseCertificate(certs.get('root')!);
    const int = parseCertificate(certs.get('int')!);
    const full = parseCertificate(certs.get('full')!);
    assert.ok(root.ski && int.ski && full.ski);
    assert.equal(root.aki, root.ski);
    assert.equal(int.aki, root.ski);
    assert.equal(full.aki, int.ski);
    assert.deepEqual([root.selfSigned, int.selfSigned, full.selfSigned], [true, false, false]);
    assert.equal(int.issuer.text, root.subject.text);
    assert.equal(full.issuer.text, int.subject.text);
    // keyid,issuer:always names the issuer's issuer and the issuer's serial
    const intAki = ext(int.extensions, 'authorityKeyIdentifier')!.value;
    assert.deepEqual(intAki.issuer, [{ type: 'directoryName', value: root.issuer.text }]);
    assert.equal(intAki.serial, root.serial);
    const fullAki = ext(full.extensions, 'authorityKeyIdentifier')!.value;
    assert.deepEqual(fullAki.issuer, [{ type: 'directoryName', value: int.issuer.text }]);
    assert.equal(fullAki.serial, INT_SERIAL);
    // the SKI openssl writes is SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1)
    for (const c of [root, int, full]) {
      const spki = new X509Certificate(derOf(c)).publicKey.export({ type: 'spki', format: 'der' });
      const [, bits] = children(spki, readOne(spki));
      assert.ok(bits);
      assert.equal(
        c.ski,
        createHash('sha1')
          .update(spki.subarray(bits.start + 1, bits.end))
          .digest('hex'),
      );
    }
    assert.deepEqual(
      [root, int, full].map((c) => c.basicConstraints),
      [{ ca: true, pathLen: 1 }, { ca: true, pathLen: 0 }, { ca: false }],
    );
  });

  test('serial with a sign octet, and the intermediate’s name constraints', async () => {
    const der = certs.get('int')!;
    const int = parseCertificate(der);
    // DER holds 00 ff 01 ...: the sign octet is not part of the serial
    assert.equal(int.serial, INT_SERIAL);
    const nc = ext(int.extensions, 'nameConstraints')!.value;
    assert.deepEqual(nc, {
      permitted: [
        { base: { type: 'dns', value: '.example.com' } },
        { base: { type: 'ip', value: '192.168.0.0/16' } },
        { base: { type: 'ip', value: '2001:db8:0:0:0:0:0:0/32' } },
        { base: { type: 'email', value: '.example.com' } },
      ],
      excluded: [
        { base: { type: 'dns', value: 'bad.example.com' } },
        { base: { type: 'ip', value: '10.0.0.0/8' } },
      ],
    });
    // and as openssl prints them, with the mask spelled out
    const text = await ossl(`x509 -in int.pem -noout -text`);
    const lines = textExt(textExtensions(text, 'X509v3 extensions:'), 'X509v3 Name Constraints').lines;
    const asOpenssl = (s: { base: GeneralName }): string => {
      if (s.base.type !== 'ip') return `${s.base.type === 'dns' ? 'DNS' : s.base.type}:${s.base.value}`;
      const [addr, prefix] = s.base.value.split('/') as [string, string];
      const v6 = addr.includes(':');
      const bits = Array.from({ length: v6 ? 128 : 32 }, (_, i) => (i < Number(prefix) ? 1 : 0));
      const groups: string[] = [];
      for (let i = 0; i < bits.length; i += v6 ? 16 : 8) {
        const n = parseInt(bits.slice(i, i + (v6 ? 16 : 8)).join(''), 2);
        groups.push(v6 ? n.toString(16).toUpperCase() : String(n));
      }
      return `IP:${addr.toUpperCase()}/${groups.join(v6 ? ':' : '.')}`;
    };
    assert.deepEqual(lines, [
      'Permitted:',
      ...nc.permitted.map(asOpenssl),
      'Excluded:',
      ...nc.excluded.map(asOpenssl),
    ]);
    // extensions we name but do not decode keep their bytes
    for (const name of ['policyConstraints', 'inhibitAnyPolicy']) {
      const e = int.extensions.find((x) => x.name === name);
      assert.ok(e?.raw && !e.value, name);
    }
    assert.equal(int.extensions.find((x) => x.name === 'inhibitAnyPolicy')?.raw, '020100');
  });

  test('the leaf with every extension decodes each one', async () => {
    const full = parseCertificate(certs.get('full')!);
    const text = await ossl(`x509 -in full.pem -noout -text`);
    const tx = textExtensions(text, 'X509v3 extensions:');
    assert.deepEqual(full.subjectAltNames, [
      { type: 'dns', value: 'leaf.example.com' },
      { type: 'dns', value: '*.leaf.example.com' },
      { type: 'ip', value: '192.168.1.10' },
      { type: 'ip', value: '2001:db8:0:0:0:0:0:1' },
      { type: 'email', value: 'ops@example.com' },
      { type: 'uri', value: 'https://leaf.example.com/path?q=1' },
      { type: 'registeredId', value: '1.3.6.1.4.1.55555.9' },
      { type: 'directoryName', value: 'CN=Dir Name,O=Dir Org,C=DE' },
      { type: 'otherName', oid: '1.3.6.1.4.1.311.20.2.3', value: 'upn@example.com' },
      // hardwareModuleName is a SEQUENCE, not a string: shown as '#' + its DER in hex
      { type: 'otherName', oid: '1.3.6.1.5.5.7.8.4', value: '#301006092b0601040183b2030704030a0b0c' },
    ]);
    assert.deepEqual(full.keyUsage, [
      'digitalSignature',
      'nonRepudiation',
      'keyEncipherment',
      'dataEncipherment',
      'keyAgreement',
      'encipherOnly',
      'decipherOnly',
    ]);
    assert.deepEqual(full.extKeyUsage, [
      'serverAuth',
      'clientAuth',
      'codeSigning',
      'emailProtection',
      'timeStamping',
      'OCSPSigning',
      '1.3.6.1.4.1.55555.3',
    ]);
    assert.deepEqual(full.basicConstraints, { ca: false });
    assert.equal(full.extensions.find((e) => e.name === 'keyUsage')?.critical, true);
    assert.equal(full.extensions.find((e) => e.name === 'extKeyUsage')?.critical, false);

    assert.deepEqual(ext(full.extensions, 'issuerAltName')?.names, [
      { type: 'uri', value: 'http://ca.example.com/' },
      { type: 'email', value: 'ca@example.com' },
    ]);
    assert.equal(
      textExt(tx, 'X509v3 Issuer Alternative Name').lines[0],
      'URI:http://ca.example.com/, email:ca@example.com',
    );

    assert.deepEqual(ext(full.extensions, 'cRLDistributionPoints')?.points, [
      {
        fullName: [{ type: 'uri', value: 'http://crl.example.com/int.crl' }],
        reasons: ['keyCompromise', 'cACompromise'],
        crlIssuer: [{ type: 'directoryName', value: 'CN=Dir Name,O=Dir Org,C=DE' }],
      },
    ]);
    const dpText = textExt(tx, 'X509v3 CRL Distribution Points').lines.join('\n');
    for (const s of [
      'URI:http://crl.example.com/int.crl',
      'Key Compromise, CA Compromise',
      'DirName:C = DE, O = Dir Org, CN = Dir Name',
    ])
      assert.ok(dpText.includes(s), s);

    assert.deepEqual(ext(full.extensions, 'authorityInfoAccess')?.access, [
      { method: 'ocsp', location: { type: 'uri', value: 'http://ocsp.example.com/' } },
      { method: 'caIssuers', location: { type: 'uri', value: 'http://ca.example.com/int.cer' } },
    ]);

    const policies = ext(full.extensions, 'certificatePolicies')?.policies;
    assert.deepEqual(policies, [
      { oid: '1.3.6.1.4.1.55555.2.1' },
      {
        oid: '1.3.6.1.4.1.55555.2.2',
        cps: ['http://cps.example.com/'],
        userNotice: ['Explicit notice text'],
      },
    ]);
    const polText = textExt(tx, 'X509v3 Certificate Policies').lines;
    for (const p of policies ?? []) {
      assert.ok(polText.includes(`Policy: ${p.oid}`));
      for (const cps of p.cps ?? []) assert.ok(polText.includes(`CPS: ${cps}`));
      for (const n of p.userNotice ?? []) assert.ok(polText.includes(`Explicit Text: ${n}`));
    }

    // a private extension comes back as its OID and the raw extnValue: UTF8String "hello"
    const priv = full.extensions.find((e) => e.oid === '1.3.6.1.4.1.55555.1');
    assert.deepEqual(priv, {
      oid: '1.3.6.1.4.1.55555.1',
      name: '1.3.6.1.4.1.55555.1',
      critical: false,
      raw: '0c0568656c6c6f',
    });
    assert.deepEqual(textExt(tx, '1.3.6.1.4.1.55555.1').lines, ['..hello']);
  });

  test('subject string types and the multi-valued RDN', () => {
    const full = parseCertificate(certs.get('full')!);
    assert.deepEqual(
      full.subject.rdns.map((rdn) => rdn.map((a) => [a.type, a.value, a.stringType])),
      [
        [['C', 'DE', 'PrintableString']],
        [['L', 'München', 'TeletexString']],
        [['O', 'Acme, Inc.', 'PrintableString']],
        [
          ['OU', 'Eng', 'PrintableString'],
          ['OU', 'Sec', 'PrintableString'],
          ['UID', 'u1', 'PrintableString'],
        ],
        [['CN', '東京 leaf', 'BMPString']],
        [['emailAddress', 'leaf@example.com', 'IA5String']],
      ],
    );
    assert.equal(
      full.subject.text,
      'emailAddress=leaf@example.com,CN=東京 leaf,OU=Eng+OU=Sec+UID=u1,O=Acme\\, Inc.,L=München,C=DE',
    );
    const forever = parseCertificate(certs.get('forever')!);
    assert.deepEqual(
      forever.subject.rdns.flat().map((a) => [a.value, a.stringType]),
      [
        ['Keywarden Tëst', 'UTF8String'],
        ['forever ∞', 'UTF8String'],
      ],
    );
  });

  test('UTCTime and GeneralizedTime at their edges', () => {
    const at = (name: string): [string, string] => {
      const c = parseCertificate(certs.get(name)!);
      return [new Date(c.notBefore).toISOString(), new Date(c.notAfter).toISOString()];
    };
    assert.deepEqual(at('forever'), ['2024-01-01T00:00:00.000Z', '9999-12-31T23:59:59.000Z']);
    // UTCTime 50 is 1950 and 49 is 2049 (RFC 5280 §4.1.2.5.1)
    assert.deepEqual(at('utc-bounds'), ['1950-01-01T00:00:00.000Z', '2049-12-31T23:59:59.000Z']);
    assert.deepEqual(at('generalized-2050'), ['2049-12-31T23:59:59.000Z', '2050-01-01T00:00:00.000Z']);
    // the encodings really are the ones claimed: UTCTime is tag 0x17, GeneralizedTime 0x18
    const tags = (name: string): string => {
      const der = certs.get(name)!;
      const [tbs] = children(der, readOne(der));
      const fields = children(der, tbs!);
      // [0] version (v3 only), serial, signature, issuer, validity
      const validity = fields[fields[0]!.tag === 0xa0 ? 4 : 3]!;
      return children(der, validity)
        .map((t) => t.tag.toString(16))
        .join(',');
    };
    assert.equal(tags('forever'), '17,18');
    assert.equal(tags('utc-bounds'), '17,17');
    assert.equal(tags('generalized-2050'), '17,18');
  });

  test('a certificate inside a larger buffer: offsets are relative to start', () => {
    const der = certs.get('full')!;
    const padded = Buffer.concat([Buffer.from('junk!'), der, Buffer.from('more junk')]);
    const a = parseCertificate(der);
    const b = parseCertificate(padded, 5, 5 + der.length);
    assert.deepEqual(b, a);
  });
});

function derOf(c: Certificate): Buffer {
  for (const d of certs.values()) if (sha256(d) === c.sha256) return d;
  return assert.fail('unknown certificate');
}

// ---------------------------------------------------------------------------------------------
// PKCS#10

describe('parseCertificationRequest against openssl req', () => {
  for (const c of CSRS) {
    test(c.name, async () => {
      const der = csrs.get(c.name)!;
      const csr = parseCertificationRequest(der);
      const file = `${c.name}.csr`;
      const text = await ossl(`req -in ${file} -noout -text`);
      const subject = keyValues(await ossl(`req -in ${file} -noout -subject -nameopt RFC2253,-esc_msb`));
      const pub = createPublicKey(await ossl(`req -in ${file} -noout -pubkey`));

      assert.equal(csr.version, 1);
      assert.equal(normDn(csr.subject.text), normDn(kv(subject, 'subject')));
      assert.equal(csr.sha256, sha256(der));
      assert.equal(csr.publicKey.keyId, sha256(pub.export({ type: 'spki', format: 'der' })));
      // the same key as the fixture's certificate-side key file
      const keyFile = createPublicKey(readFileSync(join(dir, `${c.key}.key`)));
      assert.equal(csr.publicKey.keyId, sha256(keyFile.export({ type: 'spki', format: 'der' })));
      assert.equal(
        csr.publicKey.algorithm,
        OPENSSL_KEY_ALGORITHMS[/Public Key Algorithm: (\S+)/.exec(text)?.[1] ?? ''],
      );

      assert.equal(csr.signatureAlgorithm.name, c.signature);
      assert.equal(
        csr.signatureAlgorithm.name.toLowerCase(),
        /Signature Algorithm: (\S+)/.exec(text)?.[1]?.toLowerCase(),
      );
      if (csr.signatureAlgorithm.pss) {
        const p = textPss(text);
        assert.deepEqual(csr.signatureAlgorithm.pss, { ...p, mgf: 'mgf1' });
        assert.equal(p.saltLength, 32);
      }
      assert.ok(
        verifyRanges(der, csr.info, csr.signature, csr.signatureAlgorithm, pub),
        'signature over info fails',
      );

      // requested extensions: order, names, criticality
      checkExtensionList(csr.extensions, textExtensions(text, 'Requested Extensions:'));
      // other attributes by name; their values (a challenge password!) are not kept
      const attrLines = text.split('\n');
      const from = attrLines.findIndex((l) => l.trim() === 'Attributes:');
      const to = attrLines.findIndex((l) => l.trim() === 'Requested Extensions:');
      const names = attrLines
        .slice(from + 1, to)
        .map((l) => /^\s*(\w+)\s*:/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined);
      assert.deepEqual(
        csr.attributes.map((a) => a.name),
        names,
      );
      assert.ok(!JSON.stringify(csr).includes('s3cret'), 'the challenge password leaked into the record');

      const summary = csrSummary(csr);
      assert.deepEqual(summary, {
        sha256: csr.sha256,
        subject: csr.subject.text,
        key: {
          keyId: csr.publicKey.keyId,
          algorithm: csr.publicKey.algorithm,
          ...(csr.publicKey.size !== undefined && { size: csr.publicKey.size }),
          ...(csr.publicKey.curve !== undefined && { curve: csr.publicKey.curve }),
        },
        signatureAlgorithm: c.signature,
        extensions: csr.extensions.map((e) => ({ oid: e.oid, name: e.name, critical: e.critical })),
      });
    });
  }

  test('csr-attrs: attributes and every requested extension decoded', () => {
    const csr = parseCertificationRequest(csrs.get('csr-attrs')!);
    assert.deepEqual(csr.attributes, [
      { oid: '1.2.840.113549.1.9.7', name: 'challengePassword' },
      { oid: '1.2.840.113549.1.9.2', name: 'unstructuredName' },
    ]);
    assert.equal(csr.subject.text, 'CN=csr.example.com,O=Keywarden Ö,C=SE');
    assert.deepEqual(csr.subjectAltNames, [
      { type: 'dns', value: 'csr.example.com' },
      { type: 'ip', value: '10.1.2.3' },
      { type: 'email', value: 'a@example.com' },
    ]);
    assert.deepEqual(
      csr.extensions.map((e) => [e.name, e.critical]),
      [
        ['subjectAltName', false],
        ['keyUsage', true],
        ['extKeyUsage', false],
        ['basicConstraints', true],
        ['1.3.6.1.4.1.55555.1', false],
      ],
    );
    assert.deepEqual(ext(csr.extensions, 'keyUsage')?.usages, ['digitalSignature', 'keyAgreement']);
    assert.deepEqual(ext(csr.extensions, 'extKeyUsage')?.purposes, ['clientAuth']);
    assert.equal(csr.extensions[4]?.raw, '0c0568656c6c6f');
    assert.deepEqual(csrSummary(csr).key, {
      keyId: csr.publicKey.keyId,
      algorithm: 'EC',
      size: 256,
      curve: 'P-256',
    });
  });

  test('csr-pss: multi-valued RDN, BMPString, PSS parameters', () => {
    const csr = parseCertificationRequest(csrs.get('csr-pss')!);
    assert.equal(csr.subject.text, 'CN=東京 csr,OU=Eng+OU=Sec,O=Acme\\, Inc.,C=DE');
    assert.equal(csr.subject.rdns[3]?.[0]?.stringType, 'BMPString');
    assert.deepEqual(csr.signatureAlgorithm.pss, {
      hash: 'sha256',
      mgf: 'mgf1',
      mgfHash: 'sha256',
      saltLength: 32,
      trailerField: 1,
    });
    assert.deepEqual(csr.subjectAltNames, [{ type: 'uri', value: 'https://csr.example.com/' }]);
  });

  test('csr-ed25519: empty attributes, no extensions', () => {
    const csr = parseCertificationRequest(csrs.get('csr-ed25519')!);
    assert.deepEqual([csr.attributes, csr.extensions, csr.subjectAltNames], [[], [], undefined]);
    assert.deepEqual(csrSummary(csr).key, { keyId: csr.publicKey.keyId, algorithm: 'Ed25519', size: 255 });
  });

  test('hand-built requests: missing attributes, msExtReq, two extension requests, junk', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const ed = seq(oid('1.3.101.112'));
    const sig = tlv(0x03, Buffer.from([0]), Buffer.alloc(64, 7));
    const san = extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from('x.example'))));
    const req = (...attrs: Buffer[]): Buffer =>
      seq(
        seq(int(0), nameOf(['2.5.4.3', 'r']), spki, ...(attrs.length ? [tlv(0xa0, ...attrs)] : [])),
        ed,
        sig,
      );
    const attr = (id: string, ...values: Buffer[]): Buffer => seq(oid(id), set(...values));

    // some encoders leave out an empty attributes field: accepted
    const bare = parseCertificationRequest(seq(seq(int(0), nameOf(['2.5.4.3', 'r']), spki), ed, sig));
    assert.deepEqual([bare.attributes, bare.extensions], [[], []]);
    assert.equal(bare.publicKey.keyId, sha256(spki));

    const ms = parseCertificationRequest(req(attr('1.3.6.1.4.1.311.2.1.14', seq(san))));
    assert.deepEqual(ms.subjectAltNames, [{ type: 'dns', value: 'x.example' }]);

    const unknown = parseCertificationRequest(req(attr('1.2.3.4', tlv(0x0c, Buffer.from('v')))));
    assert.deepEqual(unknown.attributes, [{ oid: '1.2.3.4', name: '1.2.3.4' }]);

    const twice = req(attr('1.2.840.113549.1.9.14', seq(san)), attr('1.3.6.1.4.1.311.2.1.14', seq(san)));
    assert.throws(() => parseCertificationRequest(twice), CoreError);
    const twoValues = req(attr('1.2.840.113549.1.9.14', seq(san), seq(san)));
    assert.throws(() => parseCertificationRequest(twoValues), CoreError);
    const extraField = seq(seq(int(0), nameOf(['2.5.4.3', 'r']), spki, tlv(0xa0), int(1)), ed, sig);
    assert.throws(() => parseCertificationRequest(extraField), CoreError);
    const wrongTag = seq(seq(int(0), nameOf(['2.5.4.3', 'r']), spki, tlv(0xa1)), ed, sig);
    assert.throws(() => parseCertificationRequest(wrongTag), CoreError);
    // a certificate is not a request
    assert.throws(() => parseCertificationRequest(certs.get('root')!), CoreError);
  });
});

// ---------------------------------------------------------------------------------------------
// CRLs

/** Per revoked entry of `openssl crl -text`: serial, date, and entry extensions. */
function textRevoked(text: string): { serial: string; date: string; exts: TextExtension[] }[] {
  const out: { serial: string; date: string; exts: TextExtension[] }[] = [];
  const blocks = text.split(/^ {4}Serial Number: /m).slice(1);
  for (const b of blocks) {
    const serial = b.slice(0, b.indexOf('\n')).trim();
    const date = /Revocation Date: (.*)/.exec(b)?.[1]?.trim() ?? '';
    out.push({ serial, date, exts: textExtensions(b, 'CRL entry extensions:') });
  }
  return out;
}

describe('parseCrl against openssl crl', () => {
  for (const name of ['int-v2', 'root-empty', 'root-v1']) {
    test(name, async () => {
      const der = crls.get(name)!;
      const crl = parseCrl(der);
      const file = `${name}.crl`;
      const text = await ossl(`crl -in ${file} -noout -text`);
      const info = keyValues(
        await ossl(
          `crl -in ${file} -noout -issuer -lastupdate -nextupdate -crlnumber -fingerprint -sha256 -nameopt RFC2253,-esc_msb`,
        ),
      );
      const issuerName = name === 'int-v2' ? 'int' : 'root';
      const issuer = new X509Certificate(certs.get(issuerName)!);

      assert.equal(crl.version, Number(/Version (\d+)/.exec(text)?.[1]));
      assert.equal(normDn(crl.issuer.text), normDn(kv(info, 'issuer')));
      assert.equal(crl.issuer.text, parseCertificate(certs.get(issuerName)!).subject.text);
      assert.equal(crl.thisUpdate, Date.parse(kv(info, 'lastUpdate')));
      assert.equal(crl.nextUpdate, Date.parse(kv(info, 'nextUpdate')));
      assert.equal(crl.sha256, unColon(kv(info, /Fingerprint$/)));
      assert.equal(crl.sha256, sha256(der));
      const crlNumber = kv(info, 'crlNumber');
      if (crlNumber === '<NONE>') assert.equal(crl.crlNumber, undefined);
      else assert.equal(BigInt(`0x${crl.crlNumber}`), BigInt(crlNumber));

      assert.equal(
        crl.signatureAlgorithm.name.toLowerCase(),
        /Signature Algorithm: (\S+)/.exec(text)?.[1]?.toLowerCase(),
      );
      assert.ok(
        verifyRanges(der, crl.tbs, crl.signature, crl.signatureAlgorithm, issuer.publicKey),
        'signature over tbs fails',
      );

      checkExtensionList(crl.extensions, textExtensions(text, 'CRL extensions:'));
      const entries = textRevoked(text);
      assert.equal(crl.revoked.length, entries.length);
      for (const [i, e] of entries.entries()) {
        const r = crl.revoked[i]!;
        assert.equal(r.serial.toUpperCase(), e.serial);
        assert.equal(r.revocationDate, Date.parse(e.date));
        checkExtensionList(r.extensions ?? [], e.exts);
        const reason = e.exts.find((x) => x.label === 'X509v3 CRL Reason Code')?.lines[0];
        assert.equal(r.reason, reason === undefined ? undefined : REASON_LABELS[reason]);
        const inv = e.exts.find((x) => x.label === 'Invalidity Date')?.lines[0];
        assert.equal(r.invalidityDate, inv === undefined ? undefined : Date.parse(inv));
      }
      if (entries.length === 0) assert.match(text, /No Revoked Certificates/);

      assert.deepEqual(crlSummary(crl), {
        sha256: crl.sha256,
        issuer: crl.issuer.text,
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
        ...(crl.crlNumber !== undefined && { crlNumber: crl.crlNumber }),
        ...(crl.aki !== undefined && { aki: crl.aki }),
        signatureAlgorithm: crl.signatureAlgorithm.name,
        entries: entries.length,
      });
    });
  }

  test('int-v2: reasons, invalidity date, hold instruction, IDP, AKI, number', () => {
    const crl = parseCrl(crls.get('int-v2')!);
    const serial = (n: string): string => parseCertificate(certs.get(n)!).serial;
    const int = parseCertificate(certs.get('int')!);
    assert.equal(crl.version, 2);
    assert.equal(crl.crlNumber, '01');
    assert.equal(crl.aki, int.ski);
    assert.equal(crl.signatureAlgorithm.name, 'sha256WithRSAEncryption');
    assert.equal(crl.nextUpdate! - crl.thisUpdate, 7 * 86_400_000);
    assert.deepEqual(crl.issuingDistributionPoint, {
      fullName: [{ type: 'uri', value: 'http://crl.example.com/int.crl' }],
      onlyContainsUserCerts: false,
      onlyContainsCACerts: false,
      onlySomeReasons: ['keyCompromise', 'superseded'],
      indirectCRL: false,
      onlyContainsAttributeCerts: false,
    });
    assert.equal(crl.extensions.find((e) => e.name === 'issuingDistributionPoint')?.critical, true);
    const bySerial = new Map(crl.revoked.map((r) => [r.serial, r]));
    assert.equal(bySerial.get(serial('utc-bounds'))?.reason, 'keyCompromise');
    assert.equal(bySerial.get(serial('generalized-2050'))?.reason, 'superseded');
    assert.equal(bySerial.get(serial('full'))?.reason, 'cessationOfOperation');
    const rev1 = bySerial.get(serial('rev1'));
    assert.equal(rev1?.reason, 'keyCompromise');
    assert.equal(rev1?.invalidityDate, Date.UTC(2024, 0, 2, 3, 4, 5));
    const rev2 = bySerial.get(serial('rev2'));
    assert.equal(rev2?.reason, 'certificateHold');
    // holdInstructionCode is not decoded: OID and raw bytes (the holdInstructionReject OID)
    const hold = rev2?.extensions?.find((e) => e.oid === '2.5.29.23');
    assert.deepEqual(hold, {
      oid: '2.5.29.23',
      name: '2.5.29.23',
      critical: false,
      raw: '06072a8648ce380203',
    });
    for (const r of crl.revoked) assert.equal(r.certificateIssuer, undefined);
  });

  test('root-v1: a v1 CRL with one entry without extensions', () => {
    const crl = parseCrl(crls.get('root-v1')!);
    const int = parseCertificate(certs.get('int')!);
    assert.equal(crl.version, 1);
    assert.deepEqual(crl.extensions, []);
    assert.equal(crl.revoked.length, 1);
    assert.deepEqual(Object.keys(crl.revoked[0]!).sort(), ['revocationDate', 'serial']);
    assert.equal(crl.revoked[0]!.serial, int.serial);
    assert.equal(crl.signatureAlgorithm.name, 'ecdsa-with-SHA384');
    assert.deepEqual(parseCrl(crls.get('root-empty')!).revoked, []);
  });

  test('hand-built CRLs: indirect issuers, delta, no nextUpdate, bounds and malformations', () => {
    const alg = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05));
    const issuer = nameOf(['2.5.4.3', 'CRL issuer']);
    const sig = tlv(0x03, Buffer.from([0]), Buffer.alloc(16, 1));
    const gtime = (s: string): Buffer => tlv(0x18, Buffer.from(s));
    const utime = (s: string): Buffer => tlv(0x17, Buffer.from(s));
    const entry = (serial: number, ...exts: Buffer[]): Buffer =>
      seq(int(serial), utime('240601000000Z'), ...(exts.length ? [seq(...exts)] : []));
    const certIssuer = (cn: string): Buffer =>
      extension('2.5.29.29', true, seq(tlv(0xa4, nameOf(['2.5.4.3', cn]))));
    const reason = (code: number): Buffer => extension('2.5.29.21', false, tlv(0x0a, Buffer.from([code])));
    const idp = extension('2.5.29.28', true, seq(tlv(0x84, Buffer.from([0xff]))));
    const delta = extension('2.5.29.27', true, int(0x1234));
    const number = extension('2.5.29.20', false, int(0x1235));
    const build = (o: {
      version?: Buffer | null;
      tbsAlg?: Buffer;
      outerAlg?: Buffer;
      entries?: Buffer[];
      exts?: Buffer[];
      next?: Buffer;
      tail?: Buffer[];
    }): Buffer =>
      seq(
        seq(
          ...(o.version === null ? [] : [o.version ?? int(1)]),
          o.tbsAlg ?? alg,
          issuer,
          gtime('20240601000000Z'),
          ...(o.next ? [o.next] : []),
          ...(o.entries ? [seq(...o.entries)] : []),
          ...(o.exts ? [tlv(0xa0, seq(...o.exts))] : []),
          ...(o.tail ?? []),
        ),
        o.outerAlg ?? alg,
        sig,
      );

    const entries = [
      entry(1),
      entry(2, certIssuer('Other CA A'), reason(1)),
      entry(3),
      entry(4, reason(4)),
      entry(5, certIssuer('Other CA B')),
      entry(6),
    ];
    const crl = parseCrl(build({ entries, exts: [idp, delta, number] }));
    assert.equal(crl.nextUpdate, undefined);
    assert.equal(crl.thisUpdate, Date.UTC(2024, 5, 1));
    assert.equal(crl.deltaCrlIndicator, '1234');
    assert.equal(crl.crlNumber, '1235');
    assert.equal(crl.issuingDistributionPoint?.indirectCRL, true);
    // RFC 5280 §5.3.3: an entry without certificateIssuer inherits the previous entry's
    assert.deepEqual(
      crl.revoked.map((r) => [r.serial, r.reason ?? '-', r.certificateIssuer?.[0]?.value ?? 'CRL issuer']),
      [
        ['01', '-', 'CRL issuer'],
        ['02', 'keyCompromise', 'CN=Other CA A'],
        ['03', '-', 'CN=Other CA A'],
        ['04', 'superseded', 'CN=Other CA A'],
        ['05', '-', 'CN=Other CA B'],
        ['06', '-', 'CN=Other CA B'],
      ],
    );
    assert.equal(crl.revoked[1]!.extensions?.find((e) => e.name === 'certificateIssuer')?.critical, true);
    assert.equal(crlSummary(crl).nextUpdate, undefined);
    assert.ok(!('nextUpdate' in crlSummary(crl)));

    // the entry bound
    const three = build({ entries: [entry(1), entry(2), entry(3)] });
    assert.equal(parseCrl(three, 0, three.length, { maxEntries: 3 }).revoked.length, 3);
    assert.throws(
      () => parseCrl(three, 0, three.length, { maxEntries: 2 }),
      (e: unknown) => e instanceof CoreError && /more than 2 entries/.test(e.message),
    );
    assert.equal(MAX_CRL_ENTRIES, 5_000_000);

    // version absent is v1; v2 is 1; anything else is refused
    assert.equal(parseCrl(build({ version: null })).version, 1);
    assert.throws(() => parseCrl(build({ version: int(2) })), CoreError);
    // inner and outer algorithms must agree, PSS parameters included
    const pss = (salt: number): Buffer =>
      seq(
        oid('1.2.840.113549.1.1.10'),
        seq(tlv(0xa0, seq(oid('2.16.840.1.101.3.4.2.1'))), tlv(0xa2, int(salt))),
      );
    assert.throws(
      () => parseCrl(build({ outerAlg: seq(oid('1.2.840.113549.1.1.12'), tlv(0x05)) })),
      CoreError,
    );
    assert.throws(() => parseCrl(build({ tbsAlg: pss(32), outerAlg: pss(20) })), CoreError);
    assert.equal(
      parseCrl(build({ tbsAlg: pss(32), outerAlg: pss(32) })).signatureAlgorithm.pss?.saltLength,
      32,
    );
    // fields out of place, bad times, bad entries
    assert.throws(() => parseCrl(build({ tail: [int(7)] })), CoreError);
    assert.throws(() => parseCrl(build({ next: utime('241301000000Z') })), CoreError);
    assert.throws(() => parseCrl(build({ entries: [seq(int(1))] })), CoreError);
    assert.throws(() => parseCrl(build({ entries: [seq(utime('240601000000Z'), int(1))] })), CoreError);
    assert.throws(() => parseCrl(build({ entries: [entry(1, reason(1), reason(1))] })), CoreError);
    // an undecodable entry extension is kept raw with the reason, like certificate extensions
    const badDate = extension('2.5.29.24', false, tlv(0x18, Buffer.from('not a time')));
    const odd = parseCrl(build({ entries: [entry(9, badDate)] })).revoked[0]!;
    assert.equal(odd.invalidityDate, undefined);
    assert.match(odd.extensions?.[0]?.error ?? '', /time/);
    // a certificate is not a CRL
    assert.throws(() => parseCrl(certs.get('root')!), CoreError);
  });
});

// ---------------------------------------------------------------------------------------------
// a few DER building blocks for hand-made inputs

function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len: number[] = [];
  if (n < 0x80) len.push(n);
  else {
    for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff);
    len.unshift(0x80 | len.length);
  }
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

function seq(...parts: Uint8Array[]): Buffer {
  return tlv(0x30, ...parts);
}

function set(...parts: Uint8Array[]): Buffer {
  return tlv(0x31, ...parts);
}

function int(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const first = arcs[0]! * 40 + arcs[1]!;
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const group = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift((v & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

function nameOf(...atvs: [string, string][]): Buffer {
  return seq(...atvs.map(([type, value]) => set(seq(oid(type), tlv(0x0c, Buffer.from(value))))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}
