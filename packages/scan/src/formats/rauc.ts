import type { Detected } from '../detect.ts';
import { cmsFile } from '../signed.ts';

/**
 * RAUC bundles in the plain format: a SquashFS image, then a detached CMS SignedData over it, then
 * the signature's size as a 64-bit big-endian integer. The signer is checked against the image
 * bytes. (The verity format signs the manifest inside an attached CMS, which the general CMS
 * detection already verifies.)
 */
const SQUASHFS = Buffer.from('hsqs', 'latin1');

export function detectRauc(buf: Buffer): Detected[] {
  if (buf.length < 64 || !buf.subarray(0, 4).equals(SQUASHFS)) return [];
  const size = buf.readBigUInt64BE(buf.length - 8);
  if (size < 16n || size > BigInt(buf.length - 8 - 4)) return [];
  const sigStart = buf.length - 8 - Number(size);
  try {
    if (buf[sigStart] !== 0x30) throw new Error('no DER SEQUENCE where the signature should start');
    return cmsFile(buf, sigStart, buf.length - 8, buf.subarray(0, sigStart)).map((o) =>
      o.type === 'signature'
        ? {
            ...o,
            signature: { ...o.signature, artifact: { ...o.signature.artifact, format: 'rauc-bundle' } },
          }
        : o,
    );
  } catch (err) {
    return [
      {
        type: 'unparseable',
        offset: sigStart,
        encoding: 'der',
        format: 'rauc-bundle',
        reason: `RAUC bundle signature of ${size} bytes before the size trailer: ${(err as Error).message}`,
      },
    ];
  }
}
