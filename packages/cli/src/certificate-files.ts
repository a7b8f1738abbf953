import { readFile } from 'node:fs/promises';
import { parseCertificate, pemBlocks } from '@keywarden/core';
import type { CertInput } from '@keywarden/analyze';
import { EngineError } from '@keywarden/engine';

/** Every certificate in a PEM bundle or a DER file; a file with none, or a bad one, is named in the error. */
export async function readCertificates(file: string): Promise<CertInput[]> {
  const buf = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new EngineError('INPUT_MISSING', `${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const out: CertInput[] = [];
  const blocks = [...pemBlocks(buf)].filter(
    (b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE',
  );
  const ders = blocks.length > 0 ? blocks.map((b) => b.der) : [buf];
  for (const [i, der] of ders.entries()) {
    try {
      const bytes = new Uint8Array(der);
      out.push({ der: bytes, cert: parseCertificate(bytes) });
    } catch (e) {
      throw new EngineError(
        'INPUT_INVALID',
        `${file}: ${blocks.length > 0 ? `certificate ${i + 1}` : 'not a PEM bundle, and not a DER certificate'}: ${(e as Error).message}`,
      );
    }
  }
  if (out.length === 0) throw new EngineError('INPUT_INVALID', `${file}: holds no certificate`);
  return out;
}
