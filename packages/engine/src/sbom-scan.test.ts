/**
 * SBOM intake through a scan: the crypto libraries a CycloneDX or SPDX JSON SBOM declares become
 * assets with the SBOM as their occurrence, one library@version however many SBOMs declare it.
 * The SBOMs are written here in the shapes the two specifications define (no SBOM generator is
 * packaged in Debian); field names follow CycloneDX 1.6 and SPDX 2.3.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openTestStore } from '../../store/src/dialects.test-helper.ts';
import { exportCbom } from './cbom-export.ts';
import { libraries, type LibraryItem } from './inventory.ts';
import { runScan } from './scan-job.ts';

const root = mkdtempSync(join(tmpdir(), 'kw-sbom-'));
after(() => rmSync(root, { recursive: true, force: true }));

const cyclonedx = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  version: 1,
  metadata: { component: { type: 'firmware', name: 'tcu-firmware', version: '4.2.0' } },
  components: [
    {
      type: 'library',
      name: 'openssl',
      version: '3.0.11',
      purl: 'pkg:generic/openssl@3.0.11',
      supplier: { name: 'OpenSSL Foundation' },
    },
    {
      type: 'library',
      name: 'telematics-core',
      version: '1.0',
      components: [
        { type: 'library', name: 'mbedtls', version: '2.28.8', cpe: 'cpe:2.3:a:arm:mbed_tls:2.28.8' },
      ],
    },
    { type: 'library', name: 'zlib', version: '1.3' },
  ],
};
const spdx = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'gateway-rootfs',
  packages: [
    {
      SPDXID: 'SPDXRef-libssl3',
      name: 'libssl3',
      versionInfo: '3.0.11-1~deb12u2',
      supplier: 'Organization: Debian',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2',
        },
      ],
    },
    { SPDXID: 'SPDXRef-gnutls', name: 'libgnutls30', versionInfo: '3.7.9-2' },
    { SPDXID: 'SPDXRef-bc', name: 'bcprov-jdk18on', versionInfo: '1.78' },
    { SPDXID: 'SPDXRef-busybox', name: 'busybox', versionInfo: '1.36' },
  ],
};

test('crypto libraries declared by CycloneDX and SPDX SBOMs become assets, declared by each SBOM', async () => {
  mkdirSync(join(root, 'firmware'), { recursive: true });
  mkdirSync(join(root, 'device'), { recursive: true });
  writeFileSync(join(root, 'firmware/tcu.cdx.json'), JSON.stringify(cyclonedx, null, 2));
  writeFileSync(join(root, 'firmware/tcu-copy.cdx.json'), JSON.stringify(cyclonedx));
  writeFileSync(join(root, 'device/rootfs.spdx.json'), JSON.stringify(spdx));
  writeFileSync(join(root, 'device/broken.spdx.json'), '{"spdxVersion": "SPDX-2.3", "packages": [');
  const ctx = await openTestStore('sqlite');
  try {
    const s = await runScan({ roots: [root], store: ctx.store, threads: 0 });
    const libs: LibraryItem[] = [];
    for await (const l of libraries(ctx.store)) libs.push(l);
    const names = libs.map((l) => `${l.library}@${l.version}`).sort();
    assert.deepEqual(names, [
      'bouncycastle@1.78',
      'gnutls@3.7.9-2',
      'mbedtls@2.28.8',
      'openssl@3.0.11',
      'openssl@3.0.11-1~deb12u2',
    ]);
    assert.equal(s.cryptoLibraries, 5);
    const ossl = libs.find((l) => l.version === '3.0.11')!;
    assert.equal(ossl.supplier, 'OpenSSL Foundation');
    assert.equal(ossl.declaredIn, 'cyclonedx');
    assert.deepEqual(ossl.declaredBy.map((d) => d.path.slice(root.length)).sort(), [
      '/firmware/tcu-copy.cdx.json',
      '/firmware/tcu.cdx.json',
    ]);
    const deb = libs.find((l) => l.name === 'libssl3')!;
    assert.equal(deb.purl, 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2');
    assert.equal(deb.supplier, 'Debian');
    assert.equal(libs.find((l) => l.library === 'mbedtls')?.cpe, 'cpe:2.3:a:arm:mbed_tls:2.28.8');
    const bom = await exportCbom(ctx.store);
    const lib = bom.components.find((c) => c.type === 'library' && c.purl === 'pkg:generic/openssl@3.0.11');
    assert.equal(lib?.version, '3.0.11', 'the CBOM carries the declared libraries as library components');
    const broken = (await ctx.store.problems()).find((p) => p.path.endsWith('broken.spdx.json'));
    assert.match(broken?.reason ?? '', /not valid JSON/);
  } finally {
    await ctx.dispose();
  }
});
