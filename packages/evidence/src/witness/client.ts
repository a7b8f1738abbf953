import { EvidenceError } from '../error.ts';
import { formatAddCheckpoint } from './request.ts';

/** Cosignature lines a witness may answer with; more than this is not a witness answer. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_LINES = 16;
const TIMEOUT_MS = 15_000;

export type CosignResult =
  | { status: 200; lines: string[] }
  /** The witness has cosigned a different size; retry from there with a proof. */
  | { status: 409; size: number }
  | { status: number; message: string };

const SIG_LINE = /^\u2014 [^\s+]+ (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;

async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new EvidenceError(
        'BAD_ARGUMENT',
        `the witness answered with more than ${MAX_RESPONSE_BYTES} bytes`,
      );
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new EvidenceError('BAD_ARGUMENT', 'the witness answer is not UTF-8');
  }
}

function endpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EvidenceError('BAD_ARGUMENT', `witness URL ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new EvidenceError('BAD_ARGUMENT', `witness URL ${url} is not http or https`);
  return `${url.replace(/\/+$/, '')}/add-checkpoint`;
}

/**
 * One tlog-witness add-checkpoint call. The lines returned are only shaped like signatures: whoever
 * keeps them must check them against the witness keys it trusts (verifyCosigned does).
 */
export async function witnessCosign(
  url: string,
  checkpoint: string,
  oldSize: number,
  proof: readonly Uint8Array[],
): Promise<CosignResult> {
  const body = formatAddCheckpoint(oldSize, proof, checkpoint);
  let res: Response;
  try {
    res = await fetch(endpoint(url), {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof EvidenceError) throw err;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: 0, message: `cannot reach ${url}: ${cause ?? (err as Error).message}` };
  }
  const text = await readBounded(res);
  if (res.status === 409 && (res.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')) {
    const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(text);
    if (!m || !Number.isSafeInteger(Number(m[1])))
      return { status: 409, message: 'the witness sent a 409 without a valid tree size' };
    return { status: 409, size: Number(m[1]) };
  }
  if (res.status !== 200) return { status: res.status, message: text.trim().slice(0, 500) || res.statusText };
  if (!text.endsWith('\n')) return { status: 502, message: 'the witness answer does not end in a newline' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > MAX_LINES)
    return { status: 502, message: `the witness sent more than ${MAX_LINES} lines` };
  if (!lines.every((l) => SIG_LINE.test(l)))
    return { status: 502, message: 'the witness answer is not note signature lines' };
  return { status: 200, lines: lines.map((l) => `${l}\n`) };
}
