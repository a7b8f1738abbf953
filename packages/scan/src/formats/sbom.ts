import type { CryptoLibrary, Encoding } from '@keywarden/core';
import type { Detected } from '../detect.ts';
import { cyclonedxXmlToJson, looksLikeCyclonedxXml } from './cyclonedx-xml.ts';

/**
 * Software bills of materials (CycloneDX JSON or XML, SPDX 2.x JSON): the crypto libraries they
 * declare become assets, so "which products ship OpenSSL 1.1.1" is a query. What an SBOM declares
 * is recorded as declared; a CycloneDX document with cryptographic-asset components is also handed
 * on whole (XML in its JSON model) for the CBOM importer (engine) once the scan's rows are stored.
 */

/** Canonical library names and the package names SBOMs use for them (lowercase). */
const LIBRARIES: readonly [string, RegExp][] = [
  ['openssl', /^(openssl|libssl\d*(\.\d+)*(-dev)?|libcrypto\d*|openssl-libs|libopenssl.*)$/],
  ['boringssl', /^boringssl$/],
  ['libressl', /^libressl$/],
  ['mbedtls', /^(mbedtls|mbed-tls|libmbedtls\d*|libmbedcrypto\d*|polarssl)$/],
  ['wolfssl', /^(wolfssl|wolfcrypt|libwolfssl\d*)$/],
  ['libgcrypt', /^(libgcrypt\d*|gcrypt)$/],
  ['gnutls', /^(gnutls|libgnutls\d*(-dev)?|gnutls\d+)$/],
  ['nettle', /^(nettle|libnettle\d*)$/],
  ['nss', /^(nss|libnss3)$/],
  ['libsodium', /^(libsodium\d*|sodium)$/],
  ['bouncycastle', /^(bcprov|bcprov-jdk\w*|bcpkix\w*|bouncycastle|bc-fips)$/],
  ['botan', /^(botan|libbotan.*)$/],
  ['tinycrypt', /^tinycrypt$/],
  ['pycryptodome', /^(pycryptodome|pycryptodomex)$/],
  ['cryptography', /^cryptography$/],
  ['ring', /^ring$/],
  ['rustls', /^rustls$/],
  ['aws-lc', /^(aws-lc|aws-lc-rs|aws-lc-sys)$/],
];

/** The name as given, or the last path segment of a Maven/npm-style group name. */
function canonical(name: string): string | undefined {
  const n = name.toLowerCase().trim();
  for (const [lib, re] of LIBRARIES) if (re.test(n)) return lib;
  return undefined;
}

const MAX_COMPONENTS = 200_000;

type Json = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function library(
  name: string,
  version: string | undefined,
  extra: Omit<CryptoLibrary, 'library' | 'name' | 'version'>,
): CryptoLibrary | undefined {
  const lib = canonical(name) ?? (extra.purl ? canonical(purlName(extra.purl)) : undefined);
  if (!lib) return undefined;
  return { library: lib, name, ...(version && { version }), ...extra };
}

/** pkg:deb/debian/libssl3@3.0.11 -> libssl3 */
function purlName(purl: string): string {
  const path = purl.split('?')[0]!.split('#')[0]!.split('@')[0]!;
  return path.slice(path.lastIndexOf('/') + 1);
}

/** CycloneDX components, nested ones too, walked without recursion so depth cannot blow the stack. */
function cyclonedx(doc: Json): CryptoLibrary[] {
  const out: CryptoLibrary[] = [];
  const stack: unknown[] = [doc.components];
  const meta = (doc.metadata as Json | undefined)?.component;
  if (meta) stack.push([meta]);
  let seen = 0;
  while (stack.length) {
    const list = stack.pop();
    if (!Array.isArray(list)) continue;
    for (const c of list as Json[]) {
      if (++seen > MAX_COMPONENTS) return out;
      if (typeof c !== 'object' || c === null) continue;
      stack.push(c.components);
      const name = str(c.name);
      if (!name) continue;
      const supplier = str((c.supplier as Json | undefined)?.name) ?? str(c.publisher);
      const lib = library(name, str(c.version), {
        declaredIn: 'cyclonedx',
        ...(str(c.purl) && { purl: str(c.purl) }),
        ...(str(c.cpe) && { cpe: str(c.cpe) }),
        ...(supplier && { supplier }),
      });
      if (lib) out.push(lib);
    }
  }
  return out;
}

function spdx(doc: Json): CryptoLibrary[] {
  const out: CryptoLibrary[] = [];
  const packages = Array.isArray(doc.packages) ? (doc.packages as Json[]).slice(0, MAX_COMPONENTS) : [];
  for (const p of packages) {
    if (typeof p !== 'object' || p === null) continue;
    const name = str(p.name);
    if (!name) continue;
    const refs = Array.isArray(p.externalRefs) ? (p.externalRefs as Json[]) : [];
    const ref = (type: RegExp): string | undefined =>
      refs
        .map((r) => (type.test(String(r?.referenceType)) ? str(r?.referenceLocator) : undefined))
        .find(Boolean);
    const purl = ref(/^purl$/);
    const cpe = ref(/^cpe2[23]Type$/);
    const supplier = str(p.supplier)?.replace(/^(Organization|Person):\s*/, '');
    const lib = library(name, str(p.versionInfo), {
      declaredIn: 'spdx',
      ...(purl && { purl }),
      ...(cpe && { cpe }),
      ...(supplier && supplier !== 'NOASSERTION' && { supplier }),
    });
    if (lib) out.push(lib);
  }
  return out;
}

/** Above this the document is not carried for import; its libraries are still read. */
const MAX_DECLARED_JSON = 16 * 1024 * 1024;

/** Count of cryptographic-asset components, nested ones too (iterative, bounded like `cyclonedx`). */
function cryptoAssetCount(doc: Json): number {
  let n = 0;
  let seen = 0;
  const stack: unknown[] = [doc.components];
  while (stack.length && seen < MAX_COMPONENTS) {
    const list = stack.pop();
    if (!Array.isArray(list)) continue;
    for (const c of list as Json[]) {
      if (++seen > MAX_COMPONENTS) break;
      if (typeof c !== 'object' || c === null) continue;
      if (c.type === 'cryptographic-asset') n++;
      stack.push(c.components);
    }
  }
  return n;
}

function bomSupplier(doc: Json): string | undefined {
  const meta = doc.metadata as Json | undefined;
  const name = (v: unknown): string | undefined => str((v as Json | undefined)?.name);
  return (
    name(meta?.supplier) ?? name(meta?.manufacturer) ?? name((meta?.component as Json | undefined)?.supplier)
  );
}

/** The observations one parsed SBOM (JSON, or CycloneDX XML in its JSON model) yields. */
function fromDocument(d: Json, encoding: Encoding): Detected[] {
  const isCdx = d.bomFormat === 'CycloneDX';
  const libs = isCdx ? cyclonedx(d) : typeof d.spdxVersion === 'string' ? spdx(d) : [];
  // A declaration has no byte offset worth keeping: it is found again by its name in the document.
  const out: Detected[] = libs.map((library) => ({ type: 'crypto-library', offset: 0, encoding, library }));
  const cryptoAssets = isCdx ? cryptoAssetCount(d) : 0;
  if (cryptoAssets > 0) {
    const json = JSON.stringify(d);
    const supplier = bomSupplier(d);
    out.push(
      json.length > MAX_DECLARED_JSON
        ? {
            type: 'unparseable',
            offset: 0,
            encoding,
            format: 'cbom',
            reason: `CycloneDX document with crypto assets larger than ${MAX_DECLARED_JSON} characters not imported`,
          }
        : {
            type: 'declared-bom',
            offset: 0,
            encoding,
            bom: { format: 'cyclonedx', json, cryptoAssets, ...(supplier && { supplier }) },
          },
    );
  }
  return out;
}

/**
 * Crypto libraries declared by a CycloneDX (JSON or XML) or SPDX JSON document, plus the document
 * itself when it declares cryptographic assets; [] for anything else. Never throws.
 */
export function detectSbom(buf: Buffer): Detected[] {
  if (looksLikeCyclonedxXml(buf)) {
    const r = cyclonedxXmlToJson(buf);
    return r.ok
      ? fromDocument(r.json, 'text')
      : [
          {
            type: 'unparseable',
            offset: 0,
            encoding: 'text',
            format: 'sbom:cyclonedx-xml',
            reason: r.reason,
          },
        ];
  }
  // Cheap gate before parsing: both formats name themselves near the top of the document.
  const head = buf.toString('latin1', 0, Math.min(buf.length, 4096));
  if (!/"bomFormat"\s*:\s*"CycloneDX"|"spdxVersion"\s*:/.test(head)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    return [
      {
        type: 'unparseable',
        offset: 0,
        encoding: 'json',
        format: 'sbom',
        reason: `SBOM is not valid JSON: ${(err as Error).message}`,
      },
    ];
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [];
  return fromDocument(doc as Json, 'json');
}
