import type { AssetRow } from '@keywarden/store';

/**
 * Which trust stores a certificate or key sits in. A trust anchor counts as one the organisation
 * controls only when it is found in a trust store: a container a device or service actually
 * consults to decide what to trust. A root certificate lying in a plain file is an assumption, not a
 * configured anchor, and the gap findings say so.
 */

/** Occurrence formats that are trust stores by construction (what a verifier reads its anchors from). */
const STORE_FORMATS: readonly [RegExp, string][] = [
  [/^efi-signature-list/, 'UEFI signature list (db/KEK/PK)'],
  [/^uefi-/, 'UEFI variable'],
  [/^u-boot-dtb-key$/, 'U-Boot control DTB'],
  [/^mcuboot-pubkey$/, 'MCUboot key slot'],
  [/^tuf-root/, 'TUF/Uptane root'],
];

/** Paths where operating systems and services keep their CA bundles. */
const STORE_PATHS: readonly [RegExp, string][] = [
  [/(^|[/!])etc\/ssl\/certs\//, 'system CA bundle'],
  [/(^|[/!])etc\/pki\/(ca-trust|tls)\//, 'system CA bundle'],
  [/(^|[/!])usr\/share\/ca-certificates\//, 'system CA bundle'],
  [/ca-certificates\.crt$|ca-bundle\.(crt|pem)$|cacerts(\.pem)?$/i, 'CA bundle'],
  [/(^|[/!_-])(trust-?store|trust-?anchors?|truststore)([/._-]|$)/i, 'trust store'],
];

export interface TrustStoreOptions {
  /** Paths (or path prefixes) the organisation declares as its trust stores. */
  readonly trustStorePaths?: readonly string[];
}

/** The trust stores an asset occurs in, each named with why it counts. Empty: in none. */
export function trustStoresOf(row: AssetRow, opts: TrustStoreOptions = {}): string[] {
  const found = new Set<string>();
  for (const o of row.occurrences) {
    for (const [re, name] of STORE_FORMATS) if (re.test(o.format)) found.add(`${name} at ${o.path}`);
    for (const [re, name] of STORE_PATHS) if (re.test(o.path)) found.add(`${name} at ${o.path}`);
    for (const p of opts.trustStorePaths ?? [])
      if (o.path === p || o.path.startsWith(p.endsWith('/') ? p : `${p}/`))
        found.add(`declared trust store ${p}`);
  }
  return [...found].sort();
}
