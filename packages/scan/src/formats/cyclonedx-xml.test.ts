import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { cyclonedxXmlToJson, looksLikeCyclonedxXml, MAX_XML_BYTES } from './cyclonedx-xml.ts';

// The official schemas live in shared/ beside the repository, as for engine/src/cbom.test.ts.
const SCHEMAS =
  process.env.KEYWARDEN_CYCLONEDX_SCHEMAS ??
  join(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/schemas/cyclonedx');
const noSchemas = existsSync(join(SCHEMAS, 'bom-1.6.schema.json'))
  ? undefined
  : `CycloneDX schemas missing in ${SCHEMAS} (set KEYWARDEN_CYCLONEDX_SCHEMAS)`;
if (noSchemas && process.env.CI) throw new Error(noSchemas);

function validator(): (doc: unknown) => string[] {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  formats.default(ajv);
  for (const f of ['spdx.schema.json', 'jsf-0.82.schema.json'])
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
  const v = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'bom-1.6.schema.json'), 'utf8')) as object);
  return (doc) => (v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
}

// Hand-written to the CycloneDX 1.6 XSD (bom-1.6.xsd): element names and nesting follow it.
const SBOM = `<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="2">
  <metadata>
    <timestamp>2026-03-01T12:00:00Z</timestamp>
    <component type="firmware" bom-ref="fw">
      <name>Router &amp; Switch &#x2014; &#8220;R1&#8221;</name>
      <version>2.1</version>
    </component>
    <supplier><name>Acme &lt;Devices&gt; &apos;Ltd&apos;</name><url>https://acme.example</url></supplier>
  </metadata>
  <components>
    <component type="library" bom-ref="pkg:deb/debian/libssl3@3.0.11">
      <supplier><name>Debian</name></supplier>
      <name>libssl3</name>
      <version>3.0.11</version>
      <hashes><hash alg="SHA-256">9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</hash></hashes>
      <licenses><license><id>Apache-2.0</id></license></licenses>
      <purl>pkg:deb/debian/libssl3@3.0.11</purl>
      <properties><property name="note">a &quot;quoted&quot; value</property></properties>
    </component>
    <component type="library" bom-ref="mbedtls">
      <name>mbedtls</name>
      <version>3.5.0</version>
      <cpe>cpe:2.3:a:arm:mbed_tls:3.5.0:*:*:*:*:*:*:*</cpe>
    </component>
  </components>
  <dependencies>
    <dependency ref="fw">
      <dependency ref="mbedtls"/>
      <dependency ref="pkg:deb/debian/libssl3@3.0.11"/>
    </dependency>
  </dependencies>
</bom>`;

// Also to the 1.6 XSD: one algorithm, one certificate, one related-crypto-material component.
const CBOM = `<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <metadata><supplier><name>Supplier Inc</name></supplier></metadata>
  <components>
    <component type="cryptographic-asset" bom-ref="alg-ecdsa">
      <name>ECDSA-P256-SHA256</name>
      <cryptoProperties>
        <assetType>algorithm</assetType>
        <algorithmProperties>
          <primitive>signature</primitive>
          <parameterSetIdentifier>256</parameterSetIdentifier>
          <curve>secp256r1</curve>
          <executionEnvironment>software-plain-ram</executionEnvironment>
          <implementationPlatform>x86_64</implementationPlatform>
          <certificationLevel>none</certificationLevel>
          <cryptoFunctions><cryptoFunction>sign</cryptoFunction><cryptoFunction>verify</cryptoFunction></cryptoFunctions>
          <classicalSecurityLevel>128</classicalSecurityLevel>
          <nistQuantumSecurityLevel>0</nistQuantumSecurityLevel>
        </algorithmProperties>
        <oid>1.2.840.10045.4.3.2</oid>
      </cryptoProperties>
    </component>
    <component type="cryptographic-asset" bom-ref="cert-device">
      <name>CN=device.example</name>
      <cryptoProperties>
        <assetType>certificate</assetType>
        <certificateProperties>
          <subjectName>CN=device.example</subjectName>
          <issuerName>CN=Example CA</issuerName>
          <notValidBefore>2026-01-01T00:00:00Z</notValidBefore>
          <notValidAfter>2027-01-01T00:00:00Z</notValidAfter>
          <signatureAlgorithmRef>alg-ecdsa</signatureAlgorithmRef>
          <subjectPublicKeyRef>key-device</subjectPublicKeyRef>
          <certificateFormat>X.509</certificateFormat>
          <certificateExtension>crt</certificateExtension>
        </certificateProperties>
      </cryptoProperties>
    </component>
    <component type="cryptographic-asset" bom-ref="key-device">
      <name>device public key</name>
      <cryptoProperties>
        <assetType>related-crypto-material</assetType>
        <relatedCryptoMaterialProperties>
          <type>public-key</type>
          <id>device-key</id>
          <state>active</state>
          <algorithmRef>alg-ecdsa</algorithmRef>
          <size>256</size>
          <format>PEM</format>
          <securedBy><mechanism>None</mechanism></securedBy>
        </relatedCryptoMaterialProperties>
        <oid>1.2.840.10045.2.1</oid>
      </cryptoProperties>
    </component>
  </components>
  <dependencies>
    <dependency ref="cert-device"><provides ref="alg-ecdsa"/></dependency>
  </dependencies>
</bom>`;

function convert(xml: string): Record<string, unknown> {
  const r = cyclonedxXmlToJson(Buffer.from(xml));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.json;
}

test('recognises CycloneDX XML by its root namespace only', () => {
  assert.equal(looksLikeCyclonedxXml(Buffer.from(SBOM)), true);
  assert.equal(looksLikeCyclonedxXml(Buffer.from('<bom xmlns="http://example.com/bom"/>')), false);
  assert.equal(looksLikeCyclonedxXml(Buffer.from('{"bomFormat":"CycloneDX"}')), false);
});

test('a plain SBOM converts to the JSON model, entities and character references decoded', () => {
  assert.deepEqual(convert(SBOM), {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 2,
    metadata: {
      timestamp: '2026-03-01T12:00:00Z',
      component: {
        type: 'firmware',
        'bom-ref': 'fw',
        name: 'Router & Switch \u2014 \u201cR1\u201d',
        version: '2.1',
      },
      supplier: { name: "Acme <Devices> 'Ltd'", url: ['https://acme.example'] },
    },
    components: [
      {
        type: 'library',
        'bom-ref': 'pkg:deb/debian/libssl3@3.0.11',
        supplier: { name: 'Debian' },
        name: 'libssl3',
        version: '3.0.11',
        hashes: [
          { alg: 'SHA-256', content: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' },
        ],
        licenses: [{ license: { id: 'Apache-2.0' } }],
        purl: 'pkg:deb/debian/libssl3@3.0.11',
        properties: [{ name: 'note', value: 'a "quoted" value' }],
      },
      {
        type: 'library',
        'bom-ref': 'mbedtls',
        name: 'mbedtls',
        version: '3.5.0',
        cpe: 'cpe:2.3:a:arm:mbed_tls:3.5.0:*:*:*:*:*:*:*',
      },
    ],
    dependencies: [{ ref: 'fw', dependsOn: ['mbedtls', 'pkg:deb/debian/libssl3@3.0.11'] }],
  });
});

test('a CBOM converts its crypto properties with arrays and numbers where JSON has them', () => {
  const json = convert(CBOM);
  const [alg, cert, key] = json.components as Record<string, Record<string, unknown>>[];
  assert.deepEqual(alg!.cryptoProperties, {
    assetType: 'algorithm',
    algorithmProperties: {
      primitive: 'signature',
      parameterSetIdentifier: '256',
      curve: 'secp256r1',
      executionEnvironment: 'software-plain-ram',
      implementationPlatform: 'x86_64',
      certificationLevel: ['none'],
      cryptoFunctions: ['sign', 'verify'],
      classicalSecurityLevel: 128,
      nistQuantumSecurityLevel: 0,
    },
    oid: '1.2.840.10045.4.3.2',
  });
  assert.equal(
    (cert!.cryptoProperties as { certificateProperties: { subjectPublicKeyRef: string } })
      .certificateProperties.subjectPublicKeyRef,
    'key-device',
  );
  assert.deepEqual(
    (key!.cryptoProperties as { relatedCryptoMaterialProperties: unknown }).relatedCryptoMaterialProperties,
    {
      type: 'public-key',
      id: 'device-key',
      state: 'active',
      algorithmRef: 'alg-ecdsa',
      size: 256,
      format: 'PEM',
      securedBy: { mechanism: 'None' },
    },
  );
  assert.deepEqual(json.dependencies, [{ ref: 'cert-device', provides: ['alg-ecdsa'] }]);
});

test('both converted documents satisfy the official CycloneDX 1.6 JSON schema', { skip: noSchemas }, () => {
  const validate = validator();
  assert.deepEqual(validate(convert(SBOM)), []);
  assert.deepEqual(validate(convert(CBOM)), []);
  // The check has teeth: a wrong shape is reported.
  const broken = convert(CBOM);
  (broken.components as Record<string, unknown>[])[0]!.type = 'crypto';
  assert.notDeepEqual(validate(broken), []);
});

test('a DTD is refused, so neither XXE nor entity expansion can happen', () => {
  const xxe = `<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>&x;</name></component></components></bom>`;
  const laughs = `<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><metadata><component type="library"><name>&b;</name></component></metadata></bom>`;
  for (const xml of [xxe, laughs]) {
    const r = cyclonedxXmlToJson(Buffer.from(xml));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /DTD/);
  }
});

test('an undeclared entity is left as written, not expanded', () => {
  const json = convert(
    '<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library"><name>a&amp;b &#0; &#xD800;</name></component></components></bom>',
  );
  assert.equal((json.components as { name: string }[])[0]!.name, 'a&b &#0; &#xD800;');
  assert.equal(json.specVersion, '1.4');
});

test('a truncated document is not well-formed, and says so', () => {
  const r = cyclonedxXmlToJson(Buffer.from(CBOM.slice(0, Math.floor(CBOM.length / 2))));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /not well-formed/);
});

test('nesting beyond the cap is refused with a reason', () => {
  const deep = `<bom xmlns="http://cyclonedx.org/schema/bom/1.6">${'<x>'.repeat(200)}${'</x>'.repeat(200)}</bom>`;
  const r = cyclonedxXmlToJson(Buffer.from(deep));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /nested/i);
});

test('character data is taken literally, comments are not text', () => {
  const json = convert(
    '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name><![CDATA[a &amp; <b>]]></name><version>1<!-- x -->.2</version></component></components></bom>',
  );
  assert.deepEqual(json.components, [{ type: 'library', name: 'a &amp; <b>', version: '1.2' }]);
});

test('an empty wrapper is an empty array, so a reader of the JSON model sees a list', () => {
  const json = convert(
    '<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components/><dependencies></dependencies></bom>',
  );
  assert.deepEqual(json, {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    components: [],
    dependencies: [],
  });
});

test('a prefixed root is read; extension elements and foreign attributes are dropped', () => {
  const json = convert(`<?xml version="1.0"?>
<cdx:bom xmlns:cdx="http://cyclonedx.org/schema/bom/1.6" xmlns:ext="urn:example:ext"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x y">
  <cdx:components>
    <cdx:component type="library" ext:note="n"><cdx:name>wolfssl</cdx:name><ext:build>42</ext:build></cdx:component>
  </cdx:components>
</cdx:bom>`);
  assert.deepEqual(json.components, [{ type: 'library', name: 'wolfssl' }]);
});

test('protocol properties: bare cryptoRefs become cryptoRefArray, IKEv2 transforms arrays, esn a boolean', () => {
  const json = convert(`<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>
  <component type="cryptographic-asset" bom-ref="ike"><name>IKEv2</name><cryptoProperties>
    <assetType>protocol</assetType>
    <protocolProperties><type>ikev2</type><version>2</version>
      <cipherSuites><cipherSuite><name>suite</name><algorithms><algorithm>a1</algorithm></algorithms>
        <identifiers><identifier>0x01</identifier><identifier>0x02</identifier></identifiers></cipherSuite></cipherSuites>
      <ikev2TransformTypes><encr>a1</encr><encr>a2</encr><prf>a3</prf><esn>false</esn></ikev2TransformTypes>
      <cryptoRef>cert-1</cryptoRef>
    </protocolProperties></cryptoProperties></component></components></bom>`);
  assert.deepEqual((json.components as Record<string, Record<string, unknown>>[])[0]!.cryptoProperties, {
    assetType: 'protocol',
    protocolProperties: {
      type: 'ikev2',
      version: '2',
      cipherSuites: [{ name: 'suite', algorithms: ['a1'], identifiers: ['0x01', '0x02'] }],
      ikev2TransformTypes: { encr: ['a1', 'a2'], prf: ['a3'], esn: false },
      cryptoRefArray: ['cert-1'],
    },
  });
});

test('license text, expressions with attributes, and ref lists follow the JSON model', () => {
  const json = convert(`<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>
  <component type="library" bom-ref="c1"><name>x</name><licenses>
    <license><name>Own</name><text content-type="text/plain">All rights</text></license>
  </licenses></component>
  <component type="library" bom-ref="c2"><name>y</name><licenses>
    <expression acknowledgement="declared">MIT OR Apache-2.0</expression></licenses></component>
  </components>
  <compositions><composition><aggregate>complete</aggregate><assemblies><assembly ref="c1"/></assemblies></composition></compositions>
</bom>`);
  const [c1, c2] = json.components as Record<string, unknown>[];
  assert.deepEqual(c1!.licenses, [
    { license: { name: 'Own', text: { contentType: 'text/plain', content: 'All rights' } } },
  ]);
  assert.deepEqual(c2!.licenses, [{ expression: 'MIT OR Apache-2.0', acknowledgement: 'declared' }]);
  assert.deepEqual(json.compositions, [{ aggregate: 'complete', assemblies: ['c1'] }]);
});

test('too many elements, a foreign root or namespace, and an oversized document are refused with a reason', () => {
  // bom, properties and 999,999 property elements: one over the cap, refused before parsing.
  const many = (n: number): string =>
    `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><properties>${'<property name="p">v</property>'.repeat(n)}</properties></bom>`;
  const reasons = [
    many(1_000_000 - 1),
    '<bom xmlns="http://cyclonedx.org/schema/bom/2.0"/>',
    '<sbom xmlns="http://cyclonedx.org/schema/bom/1.6"/>',
  ].map((x) => {
    const r = cyclonedxXmlToJson(Buffer.from(x));
    return r.ok ? 'accepted' : r.reason;
  });
  assert.match(reasons[0]!, /more than 1000000 elements/);
  assert.match(reasons[1]!, /namespace/);
  assert.match(reasons[2]!, /no bom root/);
  const big = Buffer.alloc(MAX_XML_BYTES + 1, 0x20);
  const r = cyclonedxXmlToJson(big);
  assert.match(r.ok ? '' : r.reason, /larger than/);
});
