import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  nameText,
  parseCertificate,
  findPemBlocks,
  type Certificate,
  type GeneralName,
  type GeneralNameType,
  type NameAttribute,
  type NameConstraints,
} from '@keywarden/core';
import { needTools } from '@keywarden/testkit';
import {
  applyNameConstraints,
  checkNames,
  initialNameState,
  MAX_SUBTREES,
  type NameConstraintState,
} from './name-constraints.ts';

const OID: Record<string, string> = {
  C: '2.5.4.6',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  emailAddress: '1.2.840.113549.1.9.1',
};

function fake(subject: [string, string][], sans: [GeneralNameType, string][] = []): Certificate {
  const rdns: NameAttribute[][] = subject.map(([type, value]) => [
    { oid: OID[type]!, type, value, stringType: 'UTF8String' },
  ]);
  return {
    subject: { rdns, text: nameText(rdns) },
    subjectAltNames: sans.map(([type, value]) => ({ type, value })),
  } as unknown as Certificate;
}

const gn = (type: GeneralNameType, value: string): GeneralName => ({ type, value });
const nc = (permitted: GeneralName[], excluded: GeneralName[] = []): NameConstraints => ({
  permitted: permitted.map((base) => ({ base })),
  excluded: excluded.map((base) => ({ base })),
});
const rules = (s: NameConstraintState, c: Certificate): string[] => checkNames(s, c).map((e) => e.rule);
const san = (type: GeneralNameType, value: string): Certificate => fake([], [[type, value]]);

test('dNSName: plain constraint covers the host and below, leading dot only below, "" everything', () => {
  const plain = applyNameConstraints(initialNameState(), nc([gn('dns', 'Example.com')]));
  assert.deepEqual(rules(plain, san('dns', 'example.com')), []);
  assert.deepEqual(rules(plain, san('dns', 'a.b.EXAMPLE.com')), []);
  assert.deepEqual(rules(plain, san('dns', 'badexample.com')), ['name-constraints.permitted']);
  assert.deepEqual(rules(plain, san('dns', 'com')), ['name-constraints.permitted']);
  const dot = applyNameConstraints(initialNameState(), nc([gn('dns', '.example.com')]));
  assert.deepEqual(rules(dot, san('dns', 'example.com')), ['name-constraints.permitted']);
  assert.deepEqual(rules(dot, san('dns', 'www.example.com')), []);
  const all = applyNameConstraints(initialNameState(), nc([gn('dns', '')]));
  assert.deepEqual(rules(all, san('dns', 'anything.test')), []);
  const ex = applyNameConstraints(initialNameState(), nc([], [gn('dns', 'evil.example.com')]));
  assert.deepEqual(rules(ex, san('dns', 'x.evil.example.com')), ['name-constraints.excluded']);
  assert.deepEqual(rules(ex, san('dns', 'notevil.example.com')), []);
});

test('rfc822Name: mailbox, host and .domain forms', () => {
  const s = (c: string): NameConstraintState =>
    applyNameConstraints(initialNameState(), nc([gn('email', c)]));
  assert.deepEqual(rules(s('ops@example.com'), san('email', 'ops@EXAMPLE.com')), []);
  assert.deepEqual(rules(s('ops@example.com'), san('email', 'Ops@example.com')), [
    'name-constraints.permitted',
  ]);
  assert.deepEqual(rules(s('example.com'), san('email', 'anyone@example.com')), []);
  assert.deepEqual(rules(s('example.com'), san('email', 'a@mail.example.com')), [
    'name-constraints.permitted',
  ]);
  assert.deepEqual(rules(s('.example.com'), san('email', 'a@mail.example.com')), []);
  assert.deepEqual(rules(s('.example.com'), san('email', 'a@example.com')), ['name-constraints.permitted']);
  assert.deepEqual(rules(s('example.com'), san('email', 'not-a-mailbox')), ['name-constraints.permitted']);
});

test('uniformResourceIdentifier: the host of the URI, host and .domain forms', () => {
  const host = applyNameConstraints(initialNameState(), nc([gn('uri', 'ota.example.com')]));
  assert.deepEqual(rules(host, san('uri', 'https://user@OTA.example.com:8443/x?y')), []);
  assert.deepEqual(rules(host, san('uri', 'https://a.ota.example.com/')), ['name-constraints.permitted']);
  assert.deepEqual(rules(host, san('uri', 'urn:uuid:1234')), ['name-constraints.permitted']);
  const dom = applyNameConstraints(initialNameState(), nc([], [gn('uri', '.example.com')]));
  assert.deepEqual(rules(dom, san('uri', 'http://a.example.com/p')), ['name-constraints.excluded']);
  assert.deepEqual(rules(dom, san('uri', 'http://example.com/p')), []);
});

test('iPAddress: v4 and v6 prefixes; a constraint of the wrong length never matches', () => {
  const s = applyNameConstraints(
    initialNameState(),
    nc([gn('ip', '192.168.0.0/16'), gn('ip', '2001:db8:0:0:0:0:0:0/32')], [gn('ip', '192.168.66.0/24')]),
  );
  assert.deepEqual(rules(s, san('ip', '192.168.1.7')), []);
  assert.deepEqual(rules(s, san('ip', '192.169.1.7')), ['name-constraints.permitted']);
  assert.deepEqual(rules(s, san('ip', '192.168.66.1')), ['name-constraints.excluded']);
  assert.deepEqual(rules(s, san('ip', '2001:db8:1:0:0:0:0:1')), []);
  assert.deepEqual(rules(s, san('ip', '2001:db9:0:0:0:0:0:1')), ['name-constraints.permitted']);
  // core renders a 5-octet constraint as hex: it names no address of any length.
  const odd = applyNameConstraints(
    initialNameState(),
    nc([gn('ip', 'c0a80000ff')], [gn('ip', '0a000000ff')]),
  );
  assert.deepEqual(rules(odd, san('ip', '192.168.0.1')), ['name-constraints.permitted']);
  assert.deepEqual(rules(odd, san('ip', '10.0.0.1')), ['name-constraints.permitted']);
});

test('directoryName: RDN prefix with case-insensitive, space-folding comparison', () => {
  const s = applyNameConstraints(initialNameState(), nc([gn('directoryName', 'O=Acme  Devices,C=DE')]));
  assert.deepEqual(
    rules(
      s,
      fake([
        ['C', 'de'],
        ['O', ' acme devices'],
        ['CN', 'ecu-1'],
      ]),
    ),
    [],
  );
  assert.deepEqual(
    rules(
      s,
      fake([
        ['C', 'DE'],
        ['O', 'Other'],
        ['CN', 'x'],
      ]),
    ),
    ['name-constraints.permitted'],
  );
  // Order matters: the constraint is a prefix from the most significant RDN.
  assert.deepEqual(
    rules(
      s,
      fake([
        ['O', 'Acme Devices'],
        ['C', 'DE'],
      ]),
    ),
    ['name-constraints.permitted'],
  );
  const esc = applyNameConstraints(initialNameState(), nc([], [gn('directoryName', 'O=Acme\\, Inc.')]));
  assert.deepEqual(
    rules(
      esc,
      fake([
        ['O', 'ACME, inc.'],
        ['CN', 'x'],
      ]),
    ),
    ['name-constraints.excluded'],
  );
  // An empty subject is not a directory name to constrain.
  assert.deepEqual(rules(s, fake([], [['dns', 'x.test']])), []);
});

test('emailAddress attributes of the subject are checked as rfc822Name', () => {
  const s = applyNameConstraints(initialNameState(), nc([gn('email', 'example.com')]));
  assert.deepEqual(
    rules(
      s,
      fake([
        ['CN', 'a'],
        ['emailAddress', 'a@example.com'],
      ]),
    ),
    [],
  );
  assert.deepEqual(
    rules(
      s,
      fake([
        ['CN', 'a'],
        ['emailAddress', 'a@evil.test'],
      ]),
    ),
    ['name-constraints.permitted'],
  );
});

test('permitted subtrees intersect per form; forms not constrained stay free; excluded accumulate', () => {
  let s = applyNameConstraints(initialNameState(), nc([gn('dns', 'example.com')], [gn('ip', '10.0.0.0/8')]));
  s = applyNameConstraints(
    s,
    nc([gn('dns', '.dev.example.com'), gn('dns', 'other.test')], [gn('dns', 'x.dev.example.com')]),
  );
  assert.deepEqual(rules(s, san('dns', 'a.dev.example.com')), []);
  assert.deepEqual(rules(s, san('dns', 'www.example.com')), ['name-constraints.permitted']);
  assert.deepEqual(rules(s, san('dns', 'other.test')), ['name-constraints.permitted']);
  assert.deepEqual(rules(s, san('dns', 'x.dev.example.com')), ['name-constraints.excluded']);
  assert.deepEqual(rules(s, san('ip', '10.9.9.9')), ['name-constraints.excluded']);
  assert.deepEqual(rules(s, san('email', 'a@anywhere.test')), []);
  // Disjoint permitted sets leave an empty set: no DNS name at all, other forms untouched.
  const none = applyNameConstraints(s, nc([gn('dns', 'unrelated.test')]));
  assert.deepEqual(rules(none, san('dns', 'a.dev.example.com')), ['name-constraints.permitted']);
  assert.match(checkNames(none, san('dns', 'a.dev.example.com'))[0]!.message, /no dns name is permitted/);
  assert.deepEqual(rules(none, san('ip', '192.0.2.1')), []);
  assert.ok(checkNames(none, san('dns', 'x')).every((e) => e.index === -1));
});

test('a critical constraint on a form we cannot evaluate rejects names of that form; non-critical is ignored', () => {
  const other = nc([{ type: 'otherName', value: 'x', oid: '1.3.6.1.5.5.7.8.4' }]);
  const crit = applyNameConstraints(initialNameState(), other);
  const cert = fake([], [['otherName', 'hw-1']]);
  assert.deepEqual(rules(crit, cert), ['name-constraints.permitted']);
  assert.deepEqual(rules(crit, san('dns', 'a.test')), []);
  assert.deepEqual(rules(applyNameConstraints(initialNameState(), other, false), cert), []);
  const ex = applyNameConstraints(initialNameState(), nc([], [gn('registeredId', '1.2.3')]));
  assert.deepEqual(rules(ex, fake([], [['registeredId', '1.2.3.4']])), ['name-constraints.excluded']);
});

test('more than MAX_SUBTREES subtrees refuses every name instead of growing', () => {
  const many = Array.from({ length: MAX_SUBTREES + 1 }, (_, i) => gn('dns', `h${i}.test`));
  const s = applyNameConstraints(initialNameState(), nc([], many));
  assert.equal(s.overflow, true);
  assert.deepEqual(rules(s, san('dns', 'fine.example')), ['name-constraints.permitted']);
  assert.equal(applyNameConstraints(initialNameState(), nc([], many.slice(0, 10))).overflow, false);
});

// ---- end to end: constraints written by openssl, and openssl's own verdict beside ours ----

function run(dir: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function ok(dir: string, args: string[]): void {
  const r = run(dir, args);
  assert.equal(r.status, 0, r.out);
}

function load(dir: string, file: string): Certificate {
  const [block] = findPemBlocks(readFileSync(join(dir, file)));
  return parseCertificate(block!.der);
}

test('end to end: certificates made by openssl x509 -extfile', (t) => {
  if (!needTools(t, 'openssl')) return;
  const dir = mkdtempSync(join(tmpdir(), 'kw-nc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = (f: string): void => ok(dir, ['genpkey', '-algorithm', 'ed25519', '-out', f]);
  key('root.key');
  ok(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/CN=Root',
    '-days',
    '30',
    '-out',
    'root.pem',
  ]);
  writeFileSync(
    join(dir, 'inter.ext'),
    [
      'basicConstraints=critical,CA:true',
      'keyUsage=critical,keyCertSign',
      'nameConstraints=critical,permitted;DNS:.example.com,permitted;dirName:dn,permitted;email:.example.com,excluded;IP:10.0.0.0/255.0.0.0,excluded;IP:2001:db8::/ffff:ffff::',
      '[dn]',
      'C=DE',
      'O=Acme  Devices',
      '',
    ].join('\n'),
  );
  key('inter.key');
  ok(dir, [
    'req',
    '-new',
    '-key',
    'inter.key',
    '-subj',
    '/C=DE/O=Acme Devices/CN=Inter',
    '-out',
    'inter.csr',
  ]);
  ok(dir, [
    'x509',
    '-req',
    '-in',
    'inter.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-days',
    '30',
    '-extfile',
    'inter.ext',
    '-set_serial',
    '2',
    '-out',
    'inter.pem',
  ]);
  key('leaf.key');
  const leaves: [string, string, string, string[]][] = [
    ['good', '/C=DE/O=acme devices/CN=ecu', 'DNS:ecu.example.com,IP:192.0.2.1,email:a@mail.example.com', []],
    ['apex', '/C=DE/O=Acme Devices/CN=apex', 'DNS:example.com', ['name-constraints.permitted']],
    ['net10', '/C=DE/O=Acme Devices/CN=n', 'DNS:a.example.com,IP:10.1.2.3', ['name-constraints.excluded']],
    ['v6', '/C=DE/O=Acme Devices/CN=n', 'IP:2001:db8:5::1', ['name-constraints.excluded']],
    ['dn', '/C=FR/O=Acme Devices/CN=n', 'DNS:a.example.com', ['name-constraints.permitted']],
    ['mail', '/C=DE/O=Acme Devices/CN=m', 'email:a@example.com', ['name-constraints.permitted']],
  ];
  const state = load(dir, 'inter.pem').extensions.reduce((s, e) => {
    if (e.value?.kind !== 'nameConstraints') return s;
    return applyNameConstraints(s, e.value.value, e.critical);
  }, initialNameState());
  assert.equal(state.permitted.get('dns')?.length, 1);
  for (const [name, subj, sans, want] of leaves) {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans}\n`);
    ok(dir, ['req', '-new', '-key', 'leaf.key', '-subj', subj, '-out', `${name}.csr`]);
    ok(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'inter.pem',
      '-CAkey',
      'inter.key',
      '-days',
      '30',
      '-extfile',
      `${name}.ext`,
      '-set_serial',
      '9',
      '-out',
      `${name}.pem`,
    ]);
    const got = rules(state, load(dir, `${name}.pem`));
    assert.deepEqual(got, want, name);
    const v = run(dir, ['verify', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', `${name}.pem`]);
    assert.equal(v.status === 0, want.length === 0, `openssl and we disagree on ${name}: ${v.out}`);
  }
});
