import { createHash, randomUUID } from 'node:crypto';
import { Migrator, type Kysely, type MigrationProvider } from 'kysely';
import { StoreError } from './error.ts';
import { assetId, type AssetInput, type Batch, type EdgeInput } from './inputs.ts';
import { migrations } from './migrations.ts';
import { openPostgres } from './postgres/open.ts';
import type { AssetKind, Database, EdgeKind, OccurrenceStatus } from './schema.ts';
import { openSqlite } from './sqlite/open.ts';

export const DEFAULT_SQLITE_FILE = '.keywarden/keywarden.db';

export interface OpenOptions {
  /** PostgreSQL only: run in this schema (created if missing). Tests use one per run. */
  readonly schema?: string;
}

export interface ScanRow {
  readonly id: string;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly roots: string[];
  readonly status: string;
  readonly summary?: unknown;
}

export interface OccurrenceRow {
  readonly path: string;
  readonly offset: number;
  readonly encoding: string;
  readonly format: string;
  readonly layer: string;
  readonly private: boolean;
  readonly encrypted?: boolean;
  readonly fileMode?: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The scan that last saw it. */
  readonly scanId: string;
}

/** A stored asset: what was ingested, plus its id and every occurrence. */
export interface AssetRow extends AssetInput {
  readonly id: string;
  readonly isCa: boolean;
  readonly selfSigned: boolean;
  readonly occurrences: OccurrenceRow[];
}

export interface ProblemRow {
  readonly path: string;
  readonly offset: number;
  readonly format: string;
  readonly status: OccurrenceStatus;
  readonly reason: string;
  readonly lastSeen: number;
}

export interface EdgeRow {
  readonly kind: EdgeKind;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export interface AssetQuery {
  readonly kind: AssetKind;
  /** Only these asset ids. */
  readonly ids?: readonly string[];
  /** Only assets with no key identity yet (a signature whose signer's key is still unknown). */
  readonly withoutKey?: boolean;
  /** Only assets whose notAfter is before this instant (epoch ms). */
  readonly expiringBefore?: number;
}

// Keep each statement well under SQLite's and PostgreSQL's bound-parameter limits.
const ROWS_PER_STATEMENT = 400;
const PAGE = 2000;

function chunks<T>(rows: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += n) out.push(rows.slice(i, i + n));
  return out;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const int = (b: boolean | undefined): number | null => (b === undefined ? null : b ? 1 : 0);

function edgeId(e: { kind: string; from: string; to: string }): string {
  return createHash('sha256').update(`${e.kind}\0${e.from}\0${e.to}`).digest('hex').slice(0, 32);
}

function occurrenceId(o: { assetId?: string; status: string; path: string; offset: number }): string {
  return createHash('sha256')
    .update(`${o.assetId ?? o.status}\0${o.path}\0${o.offset}`)
    .digest('hex')
    .slice(0, 32);
}

export class Store {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    readonly location: string,
  ) {}

  /**
   * Open (and migrate) a store. A postgres:// URL selects PostgreSQL; anything else is a SQLite file.
   * Without a target: KEYWARDEN_DATABASE_URL, then KEYWARDEN_DB, then .keywarden/keywarden.db.
   */
  static async open(target?: string, options: OpenOptions = {}): Promise<Store> {
    const where =
      target ?? process.env.KEYWARDEN_DATABASE_URL ?? process.env.KEYWARDEN_DB ?? DEFAULT_SQLITE_FILE;
    const isPg = /^postgres(ql)?:\/\//.test(where);
    let db: Kysely<Database> | undefined;
    try {
      if (isPg && options.schema) {
        const admin = openPostgres(where);
        try {
          await admin.schema.createSchema(options.schema).ifNotExists().execute();
        } finally {
          await admin.destroy();
        }
      }
      db = isPg ? openPostgres(where, options.schema) : openSqlite(where);
      const store = new Store(db, isPg ? 'postgres' : 'sqlite', isPg ? redact(where) : where);
      await store.migrate(isPg ? (options.schema ?? 'public') : undefined);
      return store;
    } catch (err) {
      await db?.destroy().catch(() => undefined);
      const shown = isPg ? redact(where) : where;
      throw new StoreError('STORE_OPEN', `cannot open store ${shown}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** On PostgreSQL the schema is named, or Kysely would mistake another schema's migration tables for ours. */
  private async migrate(schema: string | undefined): Promise<void> {
    const provider: MigrationProvider = { getMigrations: async () => migrations };
    const { error } = await new Migrator({
      db: this.db,
      provider,
      ...(schema && { migrationTableSchema: schema }),
    }).migrateToLatest();
    if (error) throw error;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async beginScan(roots: readonly string[], startedAt: number): Promise<string> {
    const id = randomUUID();
    await this.db
      .insertInto('scans')
      .values({
        id,
        started_at: startedAt,
        finished_at: null,
        roots: JSON.stringify(roots),
        status: 'running',
        summary: null,
      })
      .execute();
    return id;
  }

  async finishScan(
    id: string,
    finishedAt: number,
    status: 'complete' | 'failed',
    summary: unknown,
  ): Promise<void> {
    await this.db
      .updateTable('scans')
      .set({ finished_at: finishedAt, status, summary: JSON.stringify(summary) })
      .where('id', '=', id)
      .execute();
  }

  /** Write one batch in one transaction: either all of it lands or none, so a crash never half-writes. */
  async ingest(scanId: string, seenAt: number, batch: Batch): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const part of chunks(
          dedupe(batch.keys, (k) => k.keyId),
          ROWS_PER_STATEMENT,
        ))
          await tx
            .insertInto('keys')
            .values(
              part.map((k) => ({
                key_id: k.keyId,
                algorithm: k.algorithm,
                size: k.size ?? null,
                curve: k.curve ?? null,
                first_seen: seenAt,
                last_seen: seenAt,
              })),
            )
            .onConflict((oc) => oc.column('key_id').doUpdateSet({ last_seen: seenAt }))
            .execute();
        const assets = dedupe(batch.assets, (a) => assetId(a.kind, a.identity));
        for (const part of chunks(assets, ROWS_PER_STATEMENT))
          await tx
            .insertInto('assets')
            .values(
              part.map((a) => ({
                id: assetId(a.kind, a.identity),
                kind: a.kind,
                identity: a.identity,
                key_id: a.keyId ?? null,
                subject: a.subject ?? null,
                issuer: a.issuer ?? null,
                serial: a.serial ?? null,
                not_before: a.notBefore ?? null,
                not_after: a.notAfter ?? null,
                algorithm: a.algorithm ?? null,
                size: a.size ?? null,
                curve: a.curve ?? null,
                signature_algorithm: a.signatureAlgorithm ?? null,
                ski: a.ski ?? null,
                aki: a.aki ?? null,
                is_ca: a.isCa ? 1 : 0,
                self_signed: a.selfSigned ? 1 : 0,
                record: JSON.stringify(a.record),
                first_seen: seenAt,
                last_seen: seenAt,
              })),
            )
            .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen: seenAt }))
            .execute();
        const occ = dedupe(
          batch.occurrences.map((o) => ({ ...o, id: occurrenceId(o) })),
          (o) => o.id,
        );
        for (const part of chunks(occ, ROWS_PER_STATEMENT))
          await tx
            .insertInto('occurrences')
            .values(
              part.map((o) => ({
                id: o.id,
                asset_id: o.assetId ?? null,
                first_scan_id: scanId,
                scan_id: scanId,
                path: o.path,
                offset: o.offset,
                encoding: o.encoding,
                format: o.format,
                layer: o.layer,
                status: o.status,
                reason: o.reason ?? null,
                private: o.private ? 1 : 0,
                encrypted: int(o.encrypted),
                file_mode: o.fileMode ?? null,
                first_seen: seenAt,
                last_seen: seenAt,
              })),
            )
            .onConflict((oc) =>
              oc.column('id').doUpdateSet((eb) => ({
                scan_id: eb.ref('excluded.scan_id'),
                last_seen: eb.ref('excluded.last_seen'),
                reason: eb.ref('excluded.reason'),
                encrypted: eb.ref('excluded.encrypted'),
                file_mode: eb.ref('excluded.file_mode'),
                layer: eb.ref('excluded.layer'),
              })),
            )
            .execute();
        const edges = dedupe(
          (batch.edges ?? []).map((e) => ({ ...e, id: edgeId(e) })),
          (e) => e.id,
        );
        for (const part of chunks(edges, ROWS_PER_STATEMENT))
          await tx
            .insertInto('edges')
            .values(
              part.map((e) => ({
                id: e.id,
                kind: e.kind,
                from_id: e.from,
                to_id: e.to,
                reason: e.reason,
                first_seen: seenAt,
                last_seen: seenAt,
              })),
            )
            .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen: seenAt }))
            .execute();
      });
    } catch (err) {
      throw new StoreError('STORE_WRITE', `batch for scan ${scanId} not written: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async scans(): Promise<ScanRow[]> {
    const rows = await this.db.selectFrom('scans').selectAll().orderBy('started_at', 'desc').execute();
    return rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      ...(r.finished_at !== null && { finishedAt: r.finished_at }),
      roots: JSON.parse(r.roots) as string[],
      status: r.status,
      ...(r.summary !== null && { summary: JSON.parse(r.summary) as unknown }),
    }));
  }

  /** Every asset id (`kind:identity`) in id order, in pages: what the inventory holds, for a digest. */
  async *assetIds(): AsyncGenerator<string> {
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('assets')
        .select('id')
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE * 5)
        .execute();
      if (rows.length === 0) return;
      for (const r of rows) yield r.id;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Assets of one kind with their occurrences, in pages so memory stays flat on large inventories. */
  async *assets(q: AssetQuery): AsyncGenerator<AssetRow> {
    let after = '';
    for (;;) {
      let query = this.db.selectFrom('assets').selectAll().where('kind', '=', q.kind).where('id', '>', after);
      if (q.expiringBefore !== undefined) query = query.where('not_after', '<', q.expiringBefore);
      if (q.ids) query = query.where('id', 'in', q.ids.length ? q.ids : ['']);
      if (q.withoutKey) query = query.where('key_id', 'is', null);
      const rows = await query.orderBy('id').limit(PAGE).execute();
      if (rows.length === 0) return;
      const occ = await this.db
        .selectFrom('occurrences')
        .selectAll()
        .where(
          'asset_id',
          'in',
          rows.map((r) => r.id),
        )
        .orderBy('path')
        .orderBy('offset')
        .execute();
      const byAsset = new Map<string, OccurrenceRow[]>();
      for (const o of occ) {
        const list = byAsset.get(o.asset_id!) ?? [];
        list.push({
          path: o.path,
          offset: o.offset,
          encoding: o.encoding,
          format: o.format,
          layer: o.layer,
          private: o.private === 1,
          ...(o.encrypted !== null && { encrypted: o.encrypted === 1 }),
          ...(o.file_mode !== null && { fileMode: o.file_mode }),
          firstSeen: o.first_seen,
          lastSeen: o.last_seen,
          scanId: o.scan_id,
        });
        byAsset.set(o.asset_id!, list);
      }
      for (const r of rows)
        yield {
          id: r.id,
          kind: r.kind,
          identity: r.identity,
          keyId: opt(r.key_id),
          subject: opt(r.subject),
          issuer: opt(r.issuer),
          serial: opt(r.serial),
          notBefore: opt(r.not_before),
          notAfter: opt(r.not_after),
          algorithm: opt(r.algorithm),
          size: opt(r.size),
          curve: opt(r.curve),
          signatureAlgorithm: opt(r.signature_algorithm),
          ski: opt(r.ski),
          aki: opt(r.aki),
          isCa: r.is_ca === 1,
          selfSigned: r.self_signed === 1,
          record: JSON.parse(r.record) as unknown,
          occurrences: byAsset.get(r.id) ?? [],
        } as AssetRow;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Certificates named the way a CMS signer names its own: by issuer and serial, or by SKI. */
  async certificatesNamed(q: { issuer: string; serial: string } | { ski: string }): Promise<AssetRow[]> {
    let query = this.db.selectFrom('assets').select('id').where('kind', '=', 'certificate');
    query =
      'ski' in q
        ? query.where('ski', '=', q.ski)
        : query.where('issuer', '=', q.issuer).where('serial', '=', q.serial);
    const ids = (await query.orderBy('id').limit(16).execute()).map((r) => r.id);
    const out: AssetRow[] = [];
    for (const id of ids) {
      const row = await this.asset(id);
      if (row) out.push(row);
    }
    return out;
  }

  /** One asset by id, with its occurrences. */
  async asset(id: string): Promise<AssetRow | undefined> {
    const kind = id.slice(0, id.indexOf(':')) as AssetKind;
    for await (const r of this.assets({ kind, ids: [id] })) return r;
    return undefined;
  }

  /**
   * Revise what is known of an asset after a later check (a signature verified once its signer's
   * certificate turned up): the identity stays, the descriptive columns and the record change.
   */
  async amendAsset(
    id: string,
    patch: Pick<AssetInput, 'record'> &
      Partial<Pick<AssetInput, 'keyId' | 'subject' | 'algorithm' | 'size' | 'curve'>>,
    edges: readonly EdgeInput[] = [],
    at = Date.now(),
  ): Promise<void> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx
          .updateTable('assets')
          .set({
            record: JSON.stringify(patch.record),
            ...(patch.keyId !== undefined && { key_id: patch.keyId }),
            ...(patch.subject !== undefined && { subject: patch.subject }),
            ...(patch.algorithm !== undefined && { algorithm: patch.algorithm }),
            ...(patch.size !== undefined && { size: patch.size }),
            ...(patch.curve !== undefined && { curve: patch.curve }),
          })
          .where('id', '=', id)
          .execute();
        for (const e of edges)
          await tx
            .insertInto('edges')
            .values({
              id: edgeId(e),
              kind: e.kind,
              from_id: e.from,
              to_id: e.to,
              reason: e.reason,
              first_seen: at,
              last_seen: at,
            })
            .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen: at, reason: e.reason }))
            .execute();
      });
    } catch (err) {
      throw new StoreError('STORE_WRITE', `asset ${id} not amended: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Edges, optionally of one kind, leaving the `from` ids or else entering the `to` ids. */
  async edges(
    q: { kind?: EdgeKind; from?: readonly string[]; to?: readonly string[] } = {},
  ): Promise<EdgeRow[]> {
    const column = q.from ? 'from_id' : 'to_id';
    const ids = q.from ?? q.to;
    const out: EdgeRow[] = [];
    for (const part of ids ? chunks(ids, ROWS_PER_STATEMENT) : [undefined]) {
      let query = this.db.selectFrom('edges').selectAll();
      if (q.kind) query = query.where('kind', '=', q.kind);
      if (part) query = query.where(column, 'in', part);
      for (const r of await query.orderBy('from_id').orderBy('kind').orderBy('to_id').execute())
        out.push({
          kind: r.kind,
          from: r.from_id,
          to: r.to_id,
          reason: r.reason,
          firstSeen: r.first_seen,
          lastSeen: r.last_seen,
        });
    }
    return out;
  }

  /** Everything that could not be parsed, read, or was refused by the walker. */
  async problems(): Promise<ProblemRow[]> {
    const rows = await this.db
      .selectFrom('occurrences')
      .select(['path', 'offset', 'format', 'status', 'reason', 'last_seen'])
      .where('status', '!=', 'ok')
      .orderBy('path')
      .orderBy('offset')
      .execute();
    return rows.map((r) => ({
      path: r.path,
      offset: r.offset,
      format: r.format,
      status: r.status,
      reason: r.reason ?? '',
      lastSeen: r.last_seen,
    }));
  }

  async counts(): Promise<Record<AssetKind, number>> {
    const rows = await this.db
      .selectFrom('assets')
      .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('kind')
      .execute();
    const out: Record<AssetKind, number> = {
      certificate: 0,
      key: 0,
      csr: 0,
      crl: 0,
      'ssh-certificate': 0,
      signature: 0,
      artifact: 0,
      'crypto-library': 0,
      role: 0,
    };
    for (const r of rows) out[r.kind] = Number(r.n);
    return out;
  }
}

function dedupe<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const r of rows) seen.set(key(r), r);
  return [...seen.values()];
}

/** Never show a password from a connection URL. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
