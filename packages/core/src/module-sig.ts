import { readOne, Tag } from './der.ts';
import { malformed } from './error.ts';

/**
 * The signature Linux's scripts/sign-file appends to a kernel module:
 *
 *   module bytes | [signer name] [key id] signature | struct module_signature (12) | magic (28)
 *
 * struct module_signature is { u8 algo, hash, id_type, signer_len, key_id_len; u8 pad[3];
 * __be32 sig_len } (include/linux/module_signature.h). Since Linux 4.3 only id_type PKEY_ID_PKCS7
 * is produced: a detached CMS SignedData over the module bytes, with the other length fields zero.
 * A compressed module (.ko.xz, .ko.zst) carries its trailer inside the compressed stream.
 */

export interface ModuleSignature {
  /** Bytes of the module that are signed: the content of the detached signature is buf[0, signedLength). */
  signedLength: number;
  idType: number;
  idTypeName: 'pkcs7' | 'x509' | 'pgp' | string;
  /** The signature range: DER SignedData for PKCS#7, the raw signature for the pre-4.3 id types. */
  pkcs7: { start: number; end: number };
}

const MAGIC = '~Module signature appended~\n';
const MAGIC_LEN = MAGIC.length;
const STRUCT_LEN = 12;

const ID_TYPES: Record<number, string> = { 0: 'pgp', 1: 'x509', 2: 'pkcs7' };
const PKEY_ID_PKCS7 = 2;

/** undefined when no trailer; CoreError when the trailer lies */
export function findModuleSignature(buf: Uint8Array): ModuleSignature | undefined {
  const tail = buf.length - MAGIC_LEN;
  if (tail < 0) return undefined;
  for (let i = 0; i < MAGIC_LEN; i++) if (buf[tail + i] !== MAGIC.charCodeAt(i)) return undefined;
  const ms = tail - STRUCT_LEN;
  if (ms < 0)
    malformed(`module signature magic at offset ${tail} without the 12-byte module_signature before it`);
  const algo = buf[ms]!;
  const hash = buf[ms + 1]!;
  const idType = buf[ms + 2]!;
  const signerLen = buf[ms + 3]!;
  const keyIdLen = buf[ms + 4]!;
  const sigLen = ((buf[ms + 8]! << 24) | (buf[ms + 9]! << 16) | (buf[ms + 10]! << 8) | buf[ms + 11]!) >>> 0;
  if (sigLen === 0) malformed(`module_signature at offset ${ms} declares an empty signature`);
  const sigStart = ms - sigLen;
  const signedLength = sigStart - signerLen - keyIdLen;
  if (signedLength < 0)
    malformed(
      `module_signature at offset ${ms} declares ${sigLen + signerLen + keyIdLen} signature bytes, only ${ms} precede it`,
    );
  const idTypeName = ID_TYPES[idType] ?? `unknown(${idType})`;
  if (idType === PKEY_ID_PKCS7) {
    // The kernel's mod_check_sig refuses a PKCS#7 trailer whose other fields are set (-EBADMSG),
    // so such a module would never load; saying so beats guessing which length to believe.
    if (algo || hash || signerLen || keyIdLen || buf[ms + 5] || buf[ms + 6] || buf[ms + 7])
      malformed(`module_signature at offset ${ms} is PKCS#7 but has non-zero algo/hash/length/pad fields`);
    // The declared length must frame exactly one DER SEQUENCE, or sig_len is not telling the truth.
    const t = readOne(buf, sigStart, ms);
    if (t.tag !== Tag.SEQUENCE)
      malformed(`module signature at offset ${sigStart} is not a DER SEQUENCE (tag 0x${t.tag.toString(16)})`);
  }
  return { signedLength, idType, idTypeName, pkcs7: { start: sigStart, end: ms } };
}
