import { open, readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { walkArchive } from './archive/walk.ts';
import { sniffArchive } from './archive/sniff.ts';
import { detect, type Detected } from './detect.ts';
import { cmsFile } from './signed.ts';
import { DEFAULT_STREAM_ABOVE, scanLarge } from './scan-large.ts';

export type FileResult =
  | { readonly status: 'ok'; readonly observations: Detected[] }
  | { readonly status: 'unreadable' | 'refused'; readonly reason: string };

// Names that promise crypto material: when such a file holds none, the user should hear about it.
const CRYPTO_EXTENSIONS = new Set([
  '.pem',
  '.crt',
  '.cer',
  '.der',
  '.key',
  '.pub',
  '.p7b',
  '.csr',
  '.crl',
  '.jwk',
]);

/** Read one file (at most maxBytes, even if it grew since it was listed) and detect what it holds. */
export async function scanFile(
  path: string,
  maxBytes: number,
  opts: { streamAbove?: number } = {},
): Promise<FileResult> {
  let buf: Buffer;
  try {
    const st = await stat(path);
    const fh = await open(path, 'r');
    try {
      // A large image is swept in a stream with flat memory; a large archive is still walked entry by
      // entry, because what it holds is compressed and only the walker (with its limits) can see it.
      if (st.isFile() && st.size > (opts.streamAbove ?? DEFAULT_STREAM_ABOVE)) {
        const head = Buffer.alloc(512);
        const { bytesRead } = await fh.read(head, 0, head.length, 0);
        if (!sniffArchive(head.subarray(0, bytesRead)))
          return { status: 'ok', observations: scanLarge(path) };
      }
      const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1, 1 << 20));
      const parts: Buffer[] = [];
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > maxBytes)
          return {
            status: 'refused',
            reason: `grew past the size limit (${maxBytes} bytes) while being read`,
          };
        parts.push(Buffer.from(chunk.subarray(0, bytesRead)));
      }
      buf = Buffer.concat(parts, total);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'unreadable', reason: 'vanished before it could be read' };
    return { status: 'unreadable', reason: `cannot read: ${code ?? (err as Error).message}` };
  }
  let observations = sniffArchive(buf) ? archiveObservations(buf, path) : detect(buf, path);
  if (observations.some(isDetachedCms))
    observations = (await withContent(buf, path, maxBytes)) ?? observations;
  if (observations.length === 0 && CRYPTO_EXTENSIONS.has(extname(path).toLowerCase()))
    observations.push({
      type: 'unparseable',
      offset: 0,
      encoding: 'binary',
      format: extname(path).toLowerCase().slice(1),
      reason:
        buf.length === 0
          ? 'empty file named like crypto material'
          : 'named like crypto material but holds no PEM block, DER object, SSH key or JWK',
    });
  return { status: 'ok', observations };
}

/**
 * Every entry of an archive (recursively, bounded by the archive limits) through the detectors, each
 * observation at its nested location; what the walker refuses or cannot read is recorded with why.
 */
function archiveObservations(buf: Buffer, path: string): Detected[] {
  const out: Detected[] = [];
  for (const item of walkArchive(buf, path)) {
    if (item.kind === 'problem') {
      out.push({
        type: 'unparseable',
        offset: 0,
        encoding: 'binary',
        format: 'archive',
        reason: `${item.status}: ${item.reason}`,
        path: item.path,
      });
      continue;
    }
    for (const o of detect(item.data, item.path))
      out.push({ ...o, path: item.path, ...(item.mode !== undefined && { mode: item.mode }) });
  }
  return out;
}

const DETACHED_SUFFIX = /\.(p7s|sig|cms|p7)$/i;

function isDetachedCms(o: Detected): boolean {
  return o.type === 'signature' && o.signature.artifact.format === 'cms-detached';
}

/**
 * A detached signature file (`update.bin.p7s`) is read with the file it signs (`update.bin`) when
 * that sits beside it, so the signature is checked and covers that file. Undefined when there is
 * no such file, it is too large, or the signature is not one whole-file SignedData.
 */
async function withContent(buf: Buffer, path: string, maxBytes: number): Promise<Detected[] | undefined> {
  if (!DETACHED_SUFFIX.test(path)) return undefined;
  const sibling = path.replace(DETACHED_SUFFIX, '');
  try {
    const st = await stat(sibling);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    return cmsFile(buf, 0, buf.length, await readFile(sibling));
  } catch {
    return undefined;
  }
}
