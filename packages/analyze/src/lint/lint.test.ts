import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { needTools } from '@keywarden/testkit';
import { parseCertificate } from '@keywarden/core';
import { OpensslCa, P384, rsa, type Made, type MakeOpts } from './openssl-ca.test-helper.ts';
import { RFC5280_LINTS } from './rfc5280.ts';
import { lintCertificate, rawFacts } from './run.ts';
import type { LintContext, LintProfile } from './types.ts';

const AT = Date.UTC(2026, 11, 1);
const START = '20260101000000Z';
const KEYIDS = ['subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', ...KEYIDS];
const VID = '1.3.6.1.4.1.37244.2.1';
const PID = '1.3.6.1.4.1.37244.2.2';

let ca: OpensslCa | undefined;
let root: Made;

/** Fixtures need openssl: false (test skipped) without it; the CA and root are made once, on first use. */
function ready(t: TestContext): boolean {
  if (!needTools(t, 'openssl')) return false;
  if (!ca) {
    ca = new OpensslCa();
    root = ca.make({ subj: '/CN=Test Root', ext: CA_EXT, start: START, end: '20460101000000Z' });
  }
  return true;
}
after(() => ca?.close());

function make(o: Partial<MakeOpts> & { subj: string; ext: readonly string[] }): Made {
  return ca!.make({ issuer: root, start: START, end: '20270101000000Z', ...o });
}

function ids(der: Uint8Array, profile?: LintProfile, issuer?: Made): string[] {
  const r = lintCertificate(der, {
    at: AT,
    ...(profile ? { profile } : {}),
    ...(issuer ? { issuer: issuer.der } : {}),
  });
  return r.results.map((x) => x.id).sort();
}

function profileOf(der: Uint8Array, issuer?: Made): string {
  return lintCertificate(der, { at: AT, ...(issuer ? { issuer: issuer.der } : {}) }).profile;
}

const LEAF = (...extra: string[]): string[] => ['basicConstraints=critical,CA:FALSE', ...KEYIDS, ...extra];
const TLS = LEAF(
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:www.example.test',
);
const HMN = [
  'subjectAltName=critical,otherName:1.3.6.1.5.5.7.8.4;SEQUENCE:hmn',
  '[hmn]',
  'type=OID:1.3.6.1.4.1.55555.1',
  'serial=OCTETSTRING:SN0001',
];
const IDEVID = (...ku: string[]): string[] => [
  'basicConstraints=critical,CA:FALSE',
  ...KEYIDS,
  `keyUsage=critical,${ku.length ? ku.join(',') : 'digitalSignature'}`,
  ...HMN,
];

describe('validity-period lints by profile', () => {
  test('an IDevID with notAfter 99991231235959Z raises no lint at all', (t) => {
    if (!ready(t)) return;
    const dev = make({ subj: '/CN=dev/serialNumber=SN0001', ext: IDEVID(), end: '99991231235959Z' });
    const r = lintCertificate(dev.der, { at: AT, issuer: root.der });
    assert.equal(r.profile, 'idevid');
    assert.match(r.reason, /HardwareModuleName/);
    assert.deepEqual(rawFacts(dev.der).notAfterTag, 'GeneralizedTime');
    assert.deepEqual(r.results, []);
  });

  test('a 20-year ECU certificate raises no validity lint', (t) => {
    if (!ready(t)) return;
    const ecu = make({
      subj: '/CN=ECU-BCM/serialNumber=ECU0042',
      ext: LEAF('keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'),
      end: '20460101000000Z',
    });
    assert.deepEqual(ids(ecu.der, 'ecu-identity'), []);
    // Guessing leaves it at general lints: still nothing, and never a Web-PKI lint.
    assert.equal(profileOf(ecu.der, root), 'rfc5280');
    assert.deepEqual(ids(ecu.der), []);
  });

  test('a 400-day web-server certificate raises kw.webpki.validity-398-days; 90 days does not', (t) => {
    if (!ready(t)) return;
    const long = make({ subj: '/CN=www.example.test', ext: TLS, end: '20270205000000Z' });
    assert.equal(profileOf(long.der, root), 'web-server');
    assert.deepEqual(ids(long.der, undefined, root), ['kw.webpki.validity-398-days']);
    const short = make({ subj: '/CN=www.example.test', ext: TLS, end: '20260401000000Z' });
    assert.deepEqual(ids(short.der, undefined, root), []);
  });

  test('web-PKI lints run only under web-server', (t) => {
    if (!ready(t)) return;
    const long = make({ subj: '/CN=www.example.test', ext: TLS, end: '20270205000000Z' });
    for (const p of ['rfc5280', 'idevid', 'ecu-identity', 'matter-dac', 'code-signing'] as const)
      assert.ok(!ids(long.der, p).some((id) => id.startsWith('kw.webpki.')), p);
  });
});

describe('web-server', () => {
  test('missing SAN and EKU', (t) => {
    if (!ready(t)) return;
    const noSan = make({
      subj: '/CN=www.example.test',
      ext: LEAF('keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth'),
    });
    assert.deepEqual(ids(noSan.der, 'web-server'), ['kw.webpki.san-required']);
    const noEku = make({ subj: '/CN=www.example.test', ext: LEAF('subjectAltName=DNS:www.example.test') });
    assert.deepEqual(ids(noEku.der, 'web-server'), ['kw.webpki.eku-server-auth']);
  });
});

describe('ieee 802.1AR', () => {
  test('one broken certificate per lint', (t) => {
    if (!ready(t)) return;
    const end = '99991231235959Z';
    const noSerial = make({ subj: '/CN=dev', ext: IDEVID(), end });
    assert.deepEqual(ids(noSerial.der), ['kw.ieee8021ar.subject-serial-number']);
    const signing = make({
      subj: '/CN=dev/serialNumber=1',
      ext: IDEVID('digitalSignature', 'keyCertSign'),
      end,
    });
    assert.deepEqual(ids(signing.der), ['kw.ieee8021ar.end-entity', 'kw.rfc5280.key-cert-sign-needs-ca']);
    const noDs = make({ subj: '/CN=dev/serialNumber=1', ext: IDEVID('keyAgreement'), end });
    assert.deepEqual(ids(noDs.der), ['kw.ieee8021ar.key-usage']);
    const p384sha256 = make({ subj: '/CN=dev/serialNumber=1', ext: IDEVID(), end, key: P384 });
    assert.deepEqual(ids(p384sha256.der), ['kw.ieee8021ar.algorithm-suite']);
    const expires = make({ subj: '/CN=dev/serialNumber=1', ext: IDEVID(), end: '20451231235959Z' });
    assert.deepEqual(ids(expires.der), ['kw.ieee8021ar.idevid.no-expiry']);
    // An LDevID is expected to be replaced, so the no-expiry notice is IDevID-only.
    assert.deepEqual(ids(expires.der, 'ldevid'), []);
  });
});

describe('ecu-identity', () => {
  test('one broken certificate per lint', (t) => {
    if (!ready(t)) return;
    const weak = make({
      subj: '/CN=ECU/serialNumber=1',
      ext: LEAF('extendedKeyUsage=clientAuth'),
      key: rsa(1024),
    });
    assert.deepEqual(ids(weak.der, 'ecu-identity'), ['kw.ecu.key-strength']);
    const noClient = make({ subj: '/CN=ECU/serialNumber=1', ext: LEAF() });
    assert.deepEqual(ids(noClient.der, 'ecu-identity'), ['kw.ecu.client-auth']);
    const anon = make({ subj: '/CN=ECU', ext: LEAF('extendedKeyUsage=clientAuth') });
    assert.deepEqual(ids(anon.der, 'ecu-identity'), ['kw.ecu.device-serial']);
  });
});

describe('code-signing', () => {
  const CS = (ku = 'critical,digitalSignature', eku = 'codeSigning'): string[] =>
    LEAF(`keyUsage=${ku}`, `extendedKeyUsage=${eku}`);
  test('a conforming certificate is chosen by its EKU and passes', (t) => {
    if (!ready(t)) return;
    const good = make({ subj: '/CN=Signer', ext: CS(), key: rsa(3072) });
    assert.equal(profileOf(good.der, root), 'code-signing');
    assert.deepEqual(ids(good.der), []);
  });
  test('one broken certificate per lint', (t) => {
    if (!ready(t)) return;
    assert.deepEqual(ids(make({ subj: '/CN=S', ext: CS(), key: rsa(2048) }).der), [
      'kw.codesign.key-strength',
    ]);
    assert.deepEqual(ids(make({ subj: '/CN=S', ext: CS('digitalSignature') }).der), [
      'kw.codesign.key-usage',
    ]);
    assert.deepEqual(ids(make({ subj: '/CN=S', ext: CS(undefined, 'codeSigning,serverAuth') }).der), [
      'kw.codesign.eku-code-signing',
    ]);
    const long = make({ subj: '/CN=S', ext: CS(), end: '20290402000000Z' });
    assert.deepEqual(ids(long.der), ['kw.codesign.validity-39-months']);
    const edge = make({ subj: '/CN=S', ext: CS(), end: '20290401000000Z' });
    assert.deepEqual(ids(edge.der), []);
  });
});

describe('matter', () => {
  let paa: Made;
  let pai: Made;
  const paiExt = (pathlen = 0): string[] => [
    `basicConstraints=critical,CA:TRUE,pathlen:${pathlen}`,
    'keyUsage=critical,keyCertSign,cRLSign',
    ...KEYIDS,
  ];
  const dacExt = (ku = 'critical,digitalSignature'): string[] => LEAF(`keyUsage=${ku}`);
  const dac = (vid = 'FFF1', o: Partial<MakeOpts> = {}): Made =>
    make({ subj: `/CN=DAC/${VID}=${vid}/${PID}=8000`, ext: dacExt(), issuer: pai, ...o });

  test('a conforming PAA, PAI and DAC are recognised and pass', (t) => {
    if (!ready(t)) return;
    paa = ca!.make({
      subj: `/CN=PAA/${VID}=FFF1`,
      ext: [
        'basicConstraints=critical,CA:TRUE,pathlen:1',
        'keyUsage=critical,keyCertSign,cRLSign',
        ...KEYIDS,
      ],
      start: START,
      end: '99991231235959Z',
    });
    pai = make({
      subj: `/CN=PAI/${VID}=FFF1/${PID}=8000`,
      ext: paiExt(),
      issuer: paa,
      end: '20460101000000Z',
    });
    const d = dac();
    assert.equal(profileOf(paa.der), 'matter-paa');
    assert.equal(profileOf(pai.der, paa), 'matter-pai');
    assert.equal(profileOf(d.der, pai), 'matter-dac');
    assert.deepEqual(ids(paa.der), []);
    assert.deepEqual(ids(pai.der, undefined, paa), []);
    assert.deepEqual(ids(d.der, undefined, pai), []);
  });

  test('one broken certificate per lint', (t) => {
    if (!ready(t)) return;
    assert.ok(pai, 'the conforming-chain test made the PAI');
    assert.deepEqual(ids(dac('fff1').der, undefined, pai), ['kw.matter.dac.vid-pid-format']);
    assert.deepEqual(ids(dac('FFF2').der, undefined, pai), ['kw.matter.dac.vid-matches-pai']);
    assert.deepEqual(ids(dac('FFF1', { key: P384, md: 'sha384' }).der, undefined, pai), [
      'kw.matter.public-key',
      'kw.matter.signature-algorithm',
    ]);
    const ku = dac('FFF1', { ext: dacExt('critical,digitalSignature,keyEncipherment') });
    assert.deepEqual(ids(ku.der, undefined, pai), ['kw.matter.dac.key-usage']);
    const noPid = make({ subj: `/CN=DAC/${VID}=FFF1`, ext: dacExt(), issuer: pai });
    assert.deepEqual(ids(noPid.der, undefined, pai), ['kw.matter.dac.vid-pid-format']);
    const nonCritBc = dac('FFF1', {
      ext: ['basicConstraints=CA:FALSE', ...KEYIDS, 'keyUsage=critical,digitalSignature'],
    });
    assert.deepEqual(ids(nonCritBc.der, undefined, pai), ['kw.matter.dac.basic-constraints']);
    const pai1 = make({ subj: `/CN=PAI/${VID}=FFF1`, ext: paiExt(1), issuer: paa });
    assert.deepEqual(ids(pai1.der, undefined, paa), ['kw.matter.pai.basic-constraints']);
    // A PAA-shaped CA signed by another root: the caller says it is meant as a PAA.
    const notSelf = make({ subj: `/CN=PAA2/${VID}=FFF1`, ext: CA_EXT, end: '20460101000000Z' });
    assert.deepEqual(ids(notSelf.der, 'matter-paa'), ['kw.matter.paa.self-signed']);
  });
});

describe('rfc5280', () => {
  test('serial of 21 octets', (t) => {
    if (!ready(t)) return;
    const big = make({ subj: '/CN=x', ext: LEAF(), serial: '7f' + '11'.repeat(20) });
    assert.equal(rawFacts(big.der).serialOctets, 21);
    assert.deepEqual(ids(big.der), ['kw.rfc5280.serial-max-20-octets']);
  });
  // OpenSSL 3 adds SKI and AKI unless told 'none', so the broken ones say so.
  test('missing AKI on an issued certificate, CA without SKI or keyCertSign', (t) => {
    if (!ready(t)) return;
    const noAki = make({
      subj: '/CN=x',
      ext: ['basicConstraints=critical,CA:FALSE', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=none'],
    });
    assert.deepEqual(ids(noAki.der), ['kw.rfc5280.aki-present']);
    const sub = make({
      subj: '/CN=sub',
      ext: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,cRLSign',
        'subjectKeyIdentifier=none',
        'authorityKeyIdentifier=keyid',
      ],
    });
    assert.deepEqual(ids(sub.der), ['kw.rfc5280.ca-key-cert-sign', 'kw.rfc5280.ca-ski-present']);
    const soft = make({
      subj: '/CN=sub',
      ext: ['basicConstraints=CA:TRUE', 'keyUsage=critical,keyCertSign', ...KEYIDS],
    });
    assert.deepEqual(ids(soft.der), ['kw.rfc5280.ca-basic-constraints-critical']);
  });
  test('time encoding and validity order (encoding facts substituted)', (t) => {
    if (!ready(t)) return;
    const c = make({ subj: '/CN=x', ext: LEAF() });
    const cert = parseCertificate(c.der);
    const ctx: LintContext = { cert, der: c.der, at: AT, ...rawFacts(c.der) };
    const time = RFC5280_LINTS.find((l) => l.id === 'kw.rfc5280.time-encoding')!;
    assert.deepEqual(time.check(ctx), []);
    assert.equal(time.check({ ...ctx, notBeforeTag: 'GeneralizedTime' }).length, 1);
    const order = RFC5280_LINTS.find((l) => l.id === 'kw.rfc5280.validity-positive')!;
    assert.deepEqual(order.check(ctx), []);
    assert.equal(order.check({ ...ctx, cert: { ...cert, notAfter: cert.notBefore - 1000 } }).length, 1);
  });
  test('malformed input throws rather than linting garbage', () => {
    assert.throws(() => lintCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01]), { at: AT }));
  });
});

describe('profile selection', () => {
  test('device evidence wins over serverAuth; a self-signed TLS certificate is not Web-PKI', (t) => {
    if (!ready(t)) return;
    const dev = make({
      subj: '/CN=dev/serialNumber=SN0001',
      ext: ['extendedKeyUsage=serverAuth,clientAuth', ...IDEVID()], // before IDEVID's [hmn] section
      end: '99991231235959Z',
    });
    const r = lintCertificate(dev.der, { at: AT, issuer: root.der });
    assert.equal(r.profile, 'idevid');
    assert.ok(!r.results.some((x) => x.id.startsWith('kw.webpki.')));
    const self = ca!.make({ subj: '/CN=www.example.test', ext: TLS, start: START, end: '20270205000000Z' });
    const s = lintCertificate(self.der, { at: AT });
    assert.equal(s.profile, 'rfc5280');
    assert.match(s.reason, /general RFC 5280/);
    assert.equal(
      lintCertificate(self.der, { at: AT, profile: 'ldevid' }).reason,
      'profile given by the caller',
    );
  });
});
