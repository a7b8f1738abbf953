import { readAr } from './ar.ts';
import { readCpio } from './cpio.ts';
import { decompress } from './decode.ts';
import { Budget, resolveLimits, type ArchiveLimits } from './limits.ts';
import { normaliseName, type Member, type ReadContext } from './member.ts';
import { isCompression, sniffArchive, type ArchiveFormat, type CompressionFormat } from './sniff.ts';
import { readTar } from './tar.ts';
import { readZip } from './zip.ts';

/**
 * What a walk yields. `path` is the nested location: one `!/` per archive level, e.g.
 * `image.tar.gz!/boot/initrd.cpio.gz!/etc/ssl/ca.pem`. A compression layer adds no level of its own
 * when it holds an archive (`fw.tar.gz!/usr/lib/fw.bin`); when it holds anything else its content is
 * one entry named by a bare `!` (`notes.txt.gz!`): the gzip header's original name is not used, so
 * that gzip, xz, bzip2 and zstd streams are all named alike.
 */
export type ArchiveItem =
  | { kind: 'entry'; path: string; data: Buffer; mode?: number }
  | { kind: 'problem'; path: string; status: 'refused' | 'unparseable'; reason: string };

type Container = Exclude<ArchiveFormat, CompressionFormat>;

const READERS: Record<Container, (buf: Buffer, ctx: ReadContext) => Generator<Member>> = {
  tar: readTar,
  zip: readZip,
  ar: readAr,
  deb: readAr,
  cpio: readCpio,
};

/**
 * Walk `buf` (the bytes of the file at `outerPath`) and every archive inside it, in memory, yielding
 * each regular member with its bytes and each problem with its reason; nothing untrusted makes it
 * throw. A buffer that is no archive yields itself as one entry at `outerPath`. Entry data is often a
 * view into a larger buffer: copy it to keep it past the next item. Memory stays within the input
 * plus the decompressed layers on the current path, each bounded by the limits.
 */
export function* walkArchive(
  buf: Buffer,
  outerPath: string,
  limits?: Partial<ArchiveLimits>,
): Generator<ArchiveItem> {
  const resolved = resolveLimits(limits);
  const ctx: ReadContext = { limits: resolved, budget: new Budget(resolved) };
  const format = sniffArchive(buf);
  if (format === undefined) return yield { kind: 'entry', path: outerPath, data: buf };
  yield* layer(buf, outerPath, format, 1, ctx);
}

function* layer(
  buf: Buffer,
  path: string,
  format: ArchiveFormat,
  depth: number,
  ctx: ReadContext,
): Generator<ArchiveItem> {
  const { maxDepth } = ctx.limits;
  if (depth > maxDepth)
    return yield {
      kind: 'problem',
      path,
      status: 'refused',
      reason: `nesting depth ${depth} exceeds maxDepth ${maxDepth}`,
    };
  try {
    if (isCompression(format)) yield* stream(buf, path, format, depth, ctx);
    else yield* members(buf, path, format, depth, ctx);
  } catch (err) {
    // Readers report what they find as problems; reaching here means a bug, still not a crashed scan.
    yield {
      kind: 'problem',
      path,
      status: 'unparseable',
      reason: `${format} reader failed: ${(err as Error).message}`,
    };
  }
}

function* stream(
  buf: Buffer,
  path: string,
  format: CompressionFormat,
  depth: number,
  ctx: ReadContext,
): Generator<ArchiveItem> {
  const cap = ctx.budget.cap(buf.length, false);
  const d = decompress(format, buf, cap.bytes);
  if (d.over) {
    ctx.budget.refused(cap);
    return yield { kind: 'problem', path, status: 'refused', reason: `${format} stream: ${cap.reason}` };
  }
  ctx.budget.take(d.data.length);
  const inner = d.data.length > 0 ? sniffArchive(d.data) : undefined;
  if (inner !== undefined) {
    // Compression on compression is one more level, so a stream that decompresses to itself ends.
    yield* layer(d.data, path, inner, isCompression(inner) ? depth + 1 : depth, ctx);
  } else if (d.data.length > ctx.limits.maxEntryBytes) {
    yield {
      kind: 'problem',
      path: `${path}!`,
      status: 'refused',
      reason: `decompressed entry of ${d.data.length} bytes exceeds maxEntryBytes ${ctx.limits.maxEntryBytes}`,
    };
  } else if (d.data.length > 0 || d.error === undefined) {
    yield { kind: 'entry', path: `${path}!`, data: d.data };
  }
  if (d.error !== undefined)
    yield { kind: 'problem', path, status: 'unparseable', reason: `${format} stream: ${d.error}` };
}

function* members(
  buf: Buffer,
  path: string,
  format: Container,
  depth: number,
  ctx: ReadContext,
): Generator<ArchiveItem> {
  for (const m of READERS[format](buf, ctx)) {
    if (m.kind === 'problem') {
      const at = m.name === undefined ? path : `${path}!/${normaliseName(m.name)}`;
      yield { kind: 'problem', path: at, status: m.status, reason: m.reason };
    } else {
      const name = normaliseName(m.name);
      if (name === '') {
        yield { kind: 'problem', path, status: 'unparseable', reason: 'member without a name' };
        continue;
      }
      const at = `${path}!/${name}`;
      const inner = sniffArchive(m.data);
      if (inner !== undefined) yield* layer(m.data, at, inner, depth + 1, ctx);
      else
        yield m.mode === undefined
          ? { kind: 'entry', path: at, data: m.data }
          : { kind: 'entry', path: at, data: m.data, mode: m.mode };
    }
    // Once the total is spent every further member would be refused the same way: stop here.
    if (ctx.budget.exhausted) return;
  }
}
