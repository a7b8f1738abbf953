import type { AssetKind, AssetRow, Store } from '@keywarden/store';
import type { TrustAnalysis } from './chains.ts';
import { EngineError } from './error.ts';

/**
 * The chain-of-trust graph: the edges discovery stored (covers, signed-by, embeds, delegates,
 * trusts) joined with the ones path validation proves (issued-by, certifies, supersedes). Every
 * edge carries the reason it holds, every node the layer it was placed in and why.
 */

export interface GraphNode {
  readonly id: string;
  readonly kind: AssetKind | 'key';
  readonly label: string;
  readonly layer: string;
  readonly layerReason: string;
}

export interface GraphEdge {
  readonly kind: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface TrustGraph {
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
}

const NODE_KINDS: readonly AssetKind[] = ['certificate', 'key', 'signature', 'artifact', 'role'];

export async function trustGraph(
  store: Store,
  analysis: TrustAnalysis,
  opts: { around?: string; depth?: number } = {},
): Promise<TrustGraph> {
  const nodes = new Map<string, GraphNode>();
  for (const kind of NODE_KINDS) for await (const a of store.assets({ kind })) nodes.set(a.id, node(a));

  const edges = new Map<string, GraphEdge>();
  const add = (e: GraphEdge): void => {
    edges.set(`${e.kind}\0${e.from}\0${e.to}`, e);
  };
  for (const e of await store.edges()) add({ kind: e.kind, from: e.from, to: e.to, reason: e.reason });

  for (const c of analysis.certs) {
    const cert = c.input.cert;
    add({
      kind: 'certifies',
      from: c.row.id,
      to: `key:${cert.publicKey.keyId}`,
      reason: 'the certificate binds this subject public key',
    });
  }
  for (const item of analysis.items) {
    const badSignature = new Set(
      item.errors.filter((e) => e.rule.startsWith('signature.')).map((e) => e.index),
    );
    for (let i = 0; i + 1 < item.path.length; i++) {
      if (badSignature.has(i)) continue;
      const child = analysis.byFingerprint.get(item.path[i]!);
      const issuer = analysis.byFingerprint.get(item.path[i + 1]!);
      if (!child || !issuer) continue;
      const byKey = child.input.cert.aki !== undefined && child.input.cert.aki === issuer.input.cert.ski;
      add({
        kind: 'issued-by',
        from: child.row.id,
        to: issuer.row.id,
        reason: `${byKey ? 'AKI keyIdentifier = issuer SKI' : 'issuer name = issuer subject'}; signature verified`,
      });
    }
  }
  for (const e of supersedes(analysis)) add(e);

  // Keys known only through a certificate or a signer still appear, as bare key nodes.
  for (const e of edges.values())
    for (const id of [e.from, e.to])
      if (!nodes.has(id) && id.startsWith('key:'))
        nodes.set(id, {
          id,
          kind: 'key',
          label: `key ${id.slice(4, 20)}`,
          layer: 'unknown',
          layerReason: 'known only through what it signed or certifies',
        });

  let graph: TrustGraph = { nodes: [...nodes.values()], edges: [...edges.values()] };
  if (opts.around !== undefined) graph = around(graph, resolve(graph, opts.around), opts.depth ?? 2);
  graph.nodes.sort((a, b) => a.id.localeCompare(b.id));
  graph.edges.sort(
    (a, b) => a.from.localeCompare(b.from) || a.kind.localeCompare(b.kind) || a.to.localeCompare(b.to),
  );
  return graph;
}

/**
 * A successor root cross-signed by its predecessor: a CA certificate for the new root's key and
 * subject whose issuer is another self-signed root of the same name, with a verified path.
 */
function supersedes(analysis: TrustAnalysis): GraphEdge[] {
  const rootsByKey = new Map<string, (typeof analysis.certs)[number][]>();
  for (const c of analysis.certs)
    if (c.input.cert.selfSigned) {
      const k = c.input.cert.publicKey.keyId;
      rootsByKey.set(k, [...(rootsByKey.get(k) ?? []), c]);
    }
  const out: GraphEdge[] = [];
  for (const c of analysis.certs) {
    const cert = c.input.cert;
    if (cert.selfSigned || !cert.basicConstraints?.ca) continue;
    for (const successor of rootsByKey.get(cert.publicKey.keyId) ?? []) {
      for (const predecessor of analysis.certs) {
        const p = predecessor.input.cert;
        if (!p.selfSigned || p.publicKey.keyId === cert.publicKey.keyId) continue;
        if (p.subject.text !== cert.issuer.text || (cert.aki && p.ski && cert.aki !== p.ski)) continue;
        out.push({
          kind: 'supersedes',
          from: successor.row.id,
          to: predecessor.row.id,
          reason: `cross-certificate ${cert.sha256.slice(0, 16)} binds the successor's key under the predecessor`,
        });
      }
    }
  }
  return out;
}

function node(a: AssetRow): GraphNode {
  const counts = new Map<string, number>();
  for (const o of a.occurrences) counts.set(o.layer, (counts.get(o.layer) ?? 0) + 1);
  let layer = 'unknown';
  let best = 0;
  for (const [l, n] of counts) if (n > best || (n === best && l < layer)) [layer, best] = [l, n];
  const where = a.occurrences.find((o) => o.layer === layer);
  return {
    id: a.id,
    kind: a.kind,
    label:
      a.kind === 'role'
        ? `${a.issuer === 'tuf' ? 'TUF' : `Uptane ${a.issuer}`} ${a.subject} v${a.serial}`
        : (a.subject ?? `${a.kind} ${a.identity.slice(0, 16)}`),
    layer,
    layerReason: where
      ? `${best} of ${a.occurrences.length} occurrences placed there, e.g. ${where.path}`
      : 'no occurrence names a layer',
  };
}

/** An asset id, a fingerprint or key identity, or a unique prefix of one. */
function resolve(g: TrustGraph, ref: string): string {
  const r = ref.toLowerCase();
  const exact = g.nodes.find((n) => n.id === ref || n.id.endsWith(`:${r}`));
  if (exact) return exact.id;
  const hits = g.nodes.filter((n) => n.id.slice(n.id.indexOf(':') + 1).startsWith(r));
  if (hits.length === 1) return hits[0]!.id;
  throw new EngineError(
    'BAD_ARGUMENT',
    hits.length === 0 ? `no asset matches ${ref}` : `${ref} matches ${hits.length} assets; give more of it`,
  );
}

function around(g: TrustGraph, start: string, depth: number): TrustGraph {
  const adj = new Map<string, string[]>();
  for (const e of g.edges) {
    adj.set(e.from, [...(adj.get(e.from) ?? []), e.to]);
    adj.set(e.to, [...(adj.get(e.to) ?? []), e.from]);
  }
  const seen = new Set([start]);
  let frontier = [start];
  for (let d = 0; d < depth && frontier.length > 0; d++) {
    const next: string[] = [];
    for (const id of frontier)
      for (const n of adj.get(id) ?? [])
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
    frontier = next;
  }
  return {
    nodes: g.nodes.filter((n) => seen.has(n.id)),
    edges: g.edges.filter((e) => seen.has(e.from) && seen.has(e.to)),
  };
}

/** Graphviz: one node per asset grouped by layer, edges labelled with their kind. */
export function toDot(g: TrustGraph): string {
  const q = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const lines = ['digraph trust {', '  rankdir=LR;', '  node [shape=box, fontsize=10];'];
  const layers = new Map<string, GraphNode[]>();
  for (const n of g.nodes) layers.set(n.layer, [...(layers.get(n.layer) ?? []), n]);
  for (const [layer, ns] of [...layers].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  subgraph ${q(`cluster_${layer}`)} {`, `    label=${q(layer)};`);
    for (const n of ns)
      lines.push(`    ${q(n.id)} [label=${q(n.kind).slice(0, -1)}\\n${q(n.label).slice(1)}];`);
    lines.push('  }');
  }
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.kind)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
