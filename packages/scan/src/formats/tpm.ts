import {
  isSwtpmState,
  nvCertificateRange,
  parseCertificate,
  parseSwtpmState,
  tpmIdentity,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * TPM endorsement-key and platform certificates where TPM tooling leaves them: swtpm's persisted
 * state (`tpm2-00.permall`, certificates inside NV indices 0x01C0xxxx) and `tpm2_nvread` dumps of
 * one such index (the DER certificate, then the index's zero padding). The observations are plain
 * certificate observations; `tpmIdentity` in core says which TPM a certificate names.
 */

const SWTPM = 'swtpm-state';
const STATE_NAME = /(^|[/\\])tpm2?-00\.(permall|volatilestate|savestate)$/;

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function certificate(buf: Buffer, start: number, end: number, format: string): Detected {
  try {
    const cert = parseCertificate(buf, start, end);
    return { type: 'certificate', offset: start, encoding: 'der', cert, der: buf.subarray(start, end) };
  } catch (err) {
    return { type: 'unparseable', offset: start, encoding: 'der', format, reason: reason(err) };
  }
}

export function detectTpm(buf: Buffer, name?: string): Detected[] {
  // The header test is only ten bytes, so a file failing past it is ours only when named as swtpm
  // names its state files; then a truncated or lying one is reported rather than passed over.
  const named = name !== undefined && STATE_NAME.test(name);
  if (isSwtpmState(buf) || (named && buf.length >= 2)) {
    let state;
    try {
      state = parseSwtpmState(buf);
    } catch (err) {
      if (!named) return [];
      return [{ type: 'unparseable', offset: 0, encoding: 'binary', format: SWTPM, reason: reason(err) }];
    }
    if (state.encrypted) {
      const why = 'swtpm state is encrypted (--key/--pwdfile): its NV certificates cannot be read';
      return [{ type: 'unparseable', offset: 0, encoding: 'binary', format: SWTPM, reason: why }];
    }
    return state.certificates.map((c) =>
      certificate(buf, c.start, c.end, `${SWTPM}:nv-0x${c.handle.toString(16)}`),
    );
  }
  const r = nvCertificateRange(buf);
  if (!r) return [];
  const found = certificate(buf, r.start, r.end, 'tpm-nv');
  // Any other DER certificate is the generic reader's; only TCG certificates are claimed here.
  return found.type === 'certificate' && tpmIdentity(found.cert) ? [found] : [];
}
