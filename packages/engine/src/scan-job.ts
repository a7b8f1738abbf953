import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DetectorPool, guessLayer, walk, type FileResult, type WalkEntry } from '@keywarden/scan';
import type { Store } from '@keywarden/store';
import { declaredSource, importCbom } from './cbom-import.ts';
import { EngineError } from './error.ts';
import { BatchBuilder } from './normalise.ts';
import { resolveRoles } from './resolve-roles.ts';
import { resolveSigners } from './resolve-signers.ts';

export interface ScanOptions {
  readonly roots: readonly string[];
  readonly store: Store;
  /** Detector worker threads; 0 runs detection on this thread. Default: available cores. */
  readonly threads?: number;
  readonly maxFileBytes?: number;
  /** Files above this many bytes, archives excepted, are swept in one streaming pass (default 64 MiB). */
  readonly streamAboveBytes?: number;
  /** The scan's instant (epoch ms), recorded as first/last seen. Default: now. */
  readonly at?: number;
  /** Files per transaction. */
  readonly batchFiles?: number;
  readonly onProgress?: (p: ScanProgress) => void;
}

export interface ScanProgress {
  readonly files: number;
  readonly bytes: number;
  readonly found: number;
  readonly current: string;
}

export interface ScanSummary {
  readonly scanId: string;
  readonly files: number;
  readonly bytes: number;
  readonly certificates: number;
  readonly keys: number;
  readonly privateKeys: number;
  readonly csrs: number;
  readonly crls: number;
  readonly sshCertificates: number;
  /** Distinct signatures found on artifacts, and how many of them verified. */
  readonly signatures: number;
  readonly invalidSignatures: number;
  /** Distinct crypto libraries declared by SBOMs. */
  readonly cryptoLibraries: number;
  readonly unparseable: number;
  readonly unreadable: number;
  readonly refused: number;
  readonly seconds: number;
}

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/** BOMs with crypto assets wait for the end of the scan; this caps what they hold meanwhile. */
const MAX_HELD_BOM_CHARS = 128 * 1024 * 1024;

/** The main job: walk, detect in workers, normalise, and write in transactional batches. */
export async function runScan(opts: ScanOptions): Promise<ScanSummary> {
  const roots = opts.roots.map((r) => resolve(r));
  for (const r of roots)
    await access(r).catch(() => {
      throw new EngineError('INPUT_MISSING', `${r}: no such file or directory`);
    });
  const started = performance.now();
  const at = opts.at ?? Date.now();
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const threads = opts.threads ?? availableParallelism();
  const { store } = opts;
  const scanId = await store.beginScan(roots, at);
  const pool = new DetectorPool(threads, maxFileBytes, opts.streamAboveBytes);
  const batchFiles = opts.batchFiles ?? 256;
  const builder = new BatchBuilder();
  const seen = {
    certificate: new Set<string>(),
    key: new Set<string>(),
    private: new Set<string>(),
    csr: new Set<string>(),
    crl: new Set<string>(),
    ssh: new Set<string>(),
    signature: new Set<string>(),
    invalid: new Set<string>(),
    library: new Set<string>(),
  };
  const counts = { files: 0, bytes: 0, unparseable: 0, unreadable: 0, refused: 0 };
  const declared: { path: string; layer: string; encoding: string; json: string; supplier?: string }[] = [];
  let heldChars = 0;
  let filesInBatch = 0;
  let writes = Promise.resolve();

  const flush = (): void => {
    const batch = builder.take();
    filesInBatch = 0;
    // Writes are chained so batches land in order while detection carries on.
    writes = writes.then(() => store.ingest(scanId, at, batch));
  };

  const absorb = (entry: WalkEntry & { kind: 'file' }, r: FileResult): void => {
    const layer = guessLayer(entry.path);
    counts.files++;
    counts.bytes += entry.size;
    if (r.status !== 'ok') {
      counts[r.status]++;
      builder.problem(entry.path, r.status, r.reason, layer);
    } else {
      for (const o of r.observations) {
        const path = o.path ?? entry.path;
        if (o.type === 'declared-bom') {
          const { json, supplier } = o.bom;
          const where = o.layer ?? (o.path ? guessLayer(o.path) : layer);
          // Held until the scan's own rows are in (so measured facts win); bounded, so memory is too.
          if ((heldChars += json.length) > MAX_HELD_BOM_CHARS) {
            builder.add(
              {
                type: 'unparseable',
                offset: 0,
                encoding: o.encoding,
                format: 'cbom',
                reason: `crypto assets not imported: this scan holds more than ${MAX_HELD_BOM_CHARS} characters of BOMs to import`,
              },
              { path, layer: where, mode: o.mode ?? entry.mode },
            );
            counts.unparseable++;
          } else
            declared.push({ path, layer: where, encoding: o.encoding, json, ...(supplier && { supplier }) });
          continue;
        }
        const id = builder.add(o, {
          path,
          layer: o.layer ?? (o.path ? guessLayer(o.path) : layer),
          mode: o.mode ?? entry.mode,
        });
        if (!id) {
          counts.unparseable++;
          continue;
        }
        if (o.type === 'certificate') seen.certificate.add(id);
        else if (o.type === 'csr') seen.csr.add(id);
        else if (o.type === 'crl') seen.crl.add(id);
        else if (o.type === 'ssh-certificate') seen.ssh.add(id);
        else if (o.type === 'crypto-library') seen.library.add(id);
        else if (o.type === 'signature') {
          seen.signature.add(id);
          if (o.signature.status === 'invalid') seen.invalid.add(id);
        } else {
          seen.key.add(id);
          if (o.type === 'private-key') seen.private.add(id);
        }
      }
    }
    if (++filesInBatch >= batchFiles || builder.size >= 20_000) flush();
    opts.onProgress?.({
      files: counts.files,
      bytes: counts.bytes,
      found: seen.certificate.size + seen.key.size,
      current: entry.path,
    });
  };

  const window = new Set<Promise<void>>();
  const limit = Math.max(4, threads * 8);
  let status: 'complete' | 'failed' = 'failed';
  try {
    for await (const entry of walk(roots, { maxFileBytes })) {
      if (entry.kind !== 'file') {
        counts[entry.kind]++;
        builder.problem(entry.path, entry.kind, entry.reason, guessLayer(entry.path));
        continue;
      }
      const p: Promise<void> = pool.scan(entry.path).then((r) => absorb(entry, r));
      const tracked = p.finally(() => window.delete(tracked));
      window.add(tracked);
      if (window.size >= limit) await Promise.race(window);
    }
    await Promise.all(window);
    flush();
    await writes;
    // Signers named only by issuer and serial are checked once their certificate is in the store.
    for (const id of (await resolveSigners(store, at)).invalid) seen.invalid.add(id);
    // TUF/Uptane roles signed by keys another file lists are checked once every file is stored.
    await resolveRoles(store, at);
    await importDeclared();
    status = 'complete';
  } finally {
    await pool.close();
    await writes.catch(() => undefined);
    await store.finishScan(scanId, Date.now(), status, summary()).catch(() => undefined);
  }
  return summary();

  /**
   * CBOMs found in the tree, imported as declared by their supplier at their path. A bad one is an
   * unparseable occurrence of this scan, never a failed scan.
   */
  async function importDeclared(): Promise<void> {
    for (const d of declared.splice(0)) {
      try {
        await importCbom(d.json, store, { source: declaredSource(d.supplier, d.path), at });
      } catch (err) {
        counts.unparseable++;
        await store.ingest(scanId, at, {
          assets: [],
          keys: [],
          edges: [],
          occurrences: [
            {
              path: d.path,
              offset: 0,
              encoding: d.encoding,
              format: 'cbom',
              layer: d.layer,
              status: 'unparseable',
              reason: `crypto assets not imported: ${(err as Error).message}`,
            },
          ],
        });
      }
    }
  }

  function summary(): ScanSummary {
    return {
      scanId,
      ...counts,
      certificates: seen.certificate.size,
      keys: seen.key.size,
      privateKeys: seen.private.size,
      csrs: seen.csr.size,
      crls: seen.crl.size,
      sshCertificates: seen.ssh.size,
      signatures: seen.signature.size,
      invalidSignatures: seen.invalid.size,
      cryptoLibraries: seen.library.size,
      seconds: Math.round(performance.now() - started) / 1000,
    };
  }
}
