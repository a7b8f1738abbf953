import type { Detected } from '../detect.ts';
import { detectCosign } from './cosign.ts';
import { detectFit } from './fit.ts';
import { detectKeystore } from './keystore.ts';
import { detectMcuboot } from './mcuboot.ts';
import { detectOpenpgp } from './openpgp.ts';
import { detectRauc } from './rauc.ts';
import { detectSbom } from './sbom.ts';
import { detectSigstore } from './sigstore.ts';
import { detectTpm } from './tpm.ts';
import { detectTuf } from './tuf.ts';
import { detectUefi } from './uefi.ts';

/**
 * Format readers that recognise their container by its own magic and return [] otherwise. Each
 * never throws: a container that lies is one unparseable observation with the reason.
 *
 * A whole-file format (a keystore, an MCUboot image, an OpenPGP keyring) claims the file: nothing else reads it. UEFI
 * signature lists and variable stores also sit inside larger firmware images, which the embedded
 * sweep must still read.
 */
const READERS: readonly { claims: boolean; read: (buf: Buffer, name?: string) => Detected[] }[] = [
  { claims: true, read: (b) => detectMcuboot(b) },
  // RAUC plain bundles: SquashFS + detached CMS over it + size trailer; the signer is checked here.
  { claims: true, read: (b) => detectRauc(b) },
  { claims: true, read: (b) => detectKeystore(b) },
  // Keyrings, armored keys, Release.gpg and InRelease: the file is OpenPGP through and through.
  { claims: true, read: (b) => detectOpenpgp(b) },
  // CycloneDX (JSON, XML) and SPDX JSON SBOMs: the crypto libraries they declare, and CBOMs whole.
  { claims: true, read: (b) => detectSbom(b) },
  { claims: true, read: (b, name) => detectCosign(b, name) },
  // Sigstore bundles (v0.1-v0.3) and DSSE envelopes: whole JSON documents.
  { claims: true, read: (b) => detectSigstore(b) },
  // TUF and Uptane metadata (root, targets, snapshot, timestamp, delegated targets).
  { claims: true, read: (b, name) => detectTuf(b, name) },
  // swtpm state and TPM NV dumps: the EK and platform certificates, the silicon layer's identity.
  {
    claims: true,
    read: (b, name) => detectTpm(b, name).map((o) => ({ ...o, layer: 'silicon' as const })),
  },
  { claims: false, read: (b, name) => detectUefi(b, name) },
  // FIT images and U-Boot control DTBs, at any offset (a DTB is often appended to U-Boot itself).
  { claims: false, read: (b) => detectFit(b) },
];

export function formatObservations(buf: Buffer, name?: string): { claimed: boolean; found: Detected[] } {
  const found: Detected[] = [];
  let claimed = false;
  for (const r of READERS) {
    const got = r.read(buf, name);
    if (got.length > 0 && r.claims) claimed = true;
    found.push(...got);
  }
  return { claimed, found };
}
