/**
 * What the SBOM reader hands on: declared libraries for every CycloneDX (JSON or XML) and SPDX
 * document, and the whole document, in the JSON model, when it declares cryptographic assets.
 * Documents are written to the CycloneDX 1.6 XSD and JSON schema (no generator is packaged in Debian).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cyclonedxXmlToJson } from './cyclonedx-xml.ts';
import { detectSbom } from './sbom.ts';

const XML_CBOM = `<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <metadata><supplier><name>Acme Devices</name></supplier></metadata>
  <components>
    <component type="library" bom-ref="ossl"><name>libssl3</name><version>3.0.13</version>
      <components>
        <component type="cryptographic-asset" bom-ref="alg"><name>AES-128-GCM</name>
          <cryptoProperties><assetType>algorithm</assetType>
            <algorithmProperties><primitive>ae</primitive><mode>gcm</mode></algorithmProperties>
          </cryptoProperties>
        </component>
      </components>
    </component>
    <component type="cryptographic-asset" bom-ref="tls"><name>TLS</name>
      <cryptoProperties><assetType>protocol</assetType><protocolProperties><type>tls</type></protocolProperties></cryptoProperties>
    </component>
  </components>
</bom>`;

test('an XML CBOM yields its libraries and itself, in the JSON model, with its supplier', () => {
  const found = detectSbom(Buffer.from(XML_CBOM));
  assert.deepEqual(
    found
      .filter((o) => o.type === 'crypto-library')
      .map((o) => [o.library.library, o.library.version, o.encoding]),
    [['openssl', '3.0.13', 'text']],
  );
  const bom = found.find((o) => o.type === 'declared-bom');
  assert.ok(bom?.type === 'declared-bom');
  assert.equal(bom.bom.cryptoAssets, 2, 'the nested algorithm counts too');
  assert.equal(bom.bom.supplier, 'Acme Devices');
  const r = cyclonedxXmlToJson(Buffer.from(XML_CBOM));
  assert.ok(r.ok);
  assert.deepEqual(JSON.parse(bom.bom.json), r.json);
});

test('the same BOM as JSON gives the same observations, but for the encoding', () => {
  const r = cyclonedxXmlToJson(Buffer.from(XML_CBOM));
  assert.ok(r.ok);
  const fromJson = detectSbom(Buffer.from(JSON.stringify(r.json)));
  const fromXml = detectSbom(Buffer.from(XML_CBOM));
  assert.deepEqual(
    fromJson.map((o) => ({ ...o, encoding: 'x' })),
    fromXml.map((o) => ({ ...o, encoding: 'x' })),
  );
  assert.ok(fromJson.every((o) => o.encoding === 'json'));
});

test('an SBOM without crypto assets is not carried for import', () => {
  const sbom = XML_CBOM.replace(/<component type="cryptographic-asset"[\s\S]*?<\/component>\s*/g, '');
  const found = detectSbom(Buffer.from(sbom));
  assert.deepEqual(
    found.map((o) => o.type),
    ['crypto-library'],
  );
});

test('a malformed CycloneDX XML document is one unparseable observation naming why', () => {
  const found = detectSbom(Buffer.from(XML_CBOM.replace('</components>', '')));
  assert.equal(found.length, 1);
  const o = found[0]!;
  assert.ok(o.type === 'unparseable');
  assert.equal(o.format, 'sbom:cyclonedx-xml');
  assert.match(o.reason, /not well-formed/);
});

test('XML that is not CycloneDX is left alone', () => {
  const pom = '<project xmlns="http://maven.apache.org/POM/4.0.0"><artifactId>openssl</artifactId></project>';
  assert.deepEqual(detectSbom(Buffer.from(pom)), []);
});
