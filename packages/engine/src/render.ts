import { RULES, SEVERITIES, type Finding } from './findings.ts';
import { keyLabel, signerLabel } from './inventory.ts';
import type { ExpiryItem, Report } from './report.ts';

const short = (h: string): string => h.slice(0, 16);

function countBySeverity(findings: readonly Finding[]): string {
  return SEVERITIES.slice()
    .reverse()
    .map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`)
    .join(', ');
}

function expiryLines(title: string, items: readonly ExpiryItem[]): string[] {
  const out = [`  ${title}: ${items.length}`];
  for (const i of items.slice(0, 20))
    out.push(
      `    ${i.notAfter.slice(0, 10)}  ${String(i.daysLeft).padStart(6)}d  ${i.subject ?? short(i.sha256)}  [${i.layers.join(',')}] ${i.paths[0] ?? ''}`,
    );
  if (items.length > 20) out.push(`    … ${items.length - 20} more (use --format json)`);
  return out;
}

export function renderText(r: Report): string {
  const t = r.totals;
  const lines = [
    `Keywarden report at ${r.at}  (store: ${r.store})`,
    `Inventory: ${t.certificates} certificates, ${t.keys} keys (${t.privateKeys} private), ${t.csrs} CSRs, ${t.crls} CRLs, ${t.sshCertificates} SSH certificates`,
    `Findings: ${countBySeverity(r.findings)}`,
    '',
    '1. Where are the keys?',
    `  by layer: ${
      Object.entries(r.keys.byLayer)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `  by algorithm: ${
      Object.entries(r.keys.byAlgorithm)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `  private keys: ${r.keys.privateKeys.length} (${r.keys.privateKeys.filter((k) => k.exposure === 'plaintext').length} in plain files)`,
  ];
  for (const k of r.keys.privateKeys)
    for (const o of k.occurrences.filter((x) => x.private))
      lines.push(
        `    ${o.encrypted ? 'encrypted' : 'PLAINTEXT'}  ${keyLabel(k.algorithm, k.keySize, k.curve)}  ${o.path}${o.fileMode ? ` (mode ${o.fileMode})` : ''}`,
      );
  lines.push(
    '',
    '2. Chains of trust',
    `  ${r.chains.items.length} leaves and signers: ${r.chains.valid} valid, ${r.chains.invalid} invalid, ${r.chains.noAnchor} with no path to an anchor; ${r.chains.uncontrolledAnchor} end at an anchor in no trust store`,
  );
  for (const a of r.chains.anchors)
    lines.push(
      `    anchor  ${a.subject}  (${a.paths} paths)  ${a.trustStores.length ? a.trustStores.join('; ') : 'in NO trust store'}`,
    );
  for (const i of r.chains.items.filter((x) => x.status !== 'valid'))
    lines.push(
      `    ${i.status === 'invalid' ? 'INVALID ' : 'NO PATH '} ${i.subject ?? short(i.sha256)}  ${[...new Set(i.errors.map((e) => e.rule))].join(', ')}`,
    );
  for (const q of r.pqc.rows)
    lines.push(
      `  post-quantum (${r.pqc.authority}): ${q.product} supported to ${q.supportEnd}: ${q.vulnerable} quantum-vulnerable assets; ` +
        (q.migrateBy
          ? `migrate by ${q.migrateBy}${q.late ? ' (LATE)' : ''}${q.retiresFirst ? ' (retires first)' : ''}`
          : 'no disallow date applies'),
    );
  lines.push('', `3. What expires (relative to ${r.at})`);
  lines.push(...expiryLines('expired', r.expiry.expired));
  lines.push(...expiryLines('within 90 days', r.expiry.within90Days));
  lines.push(...expiryLines('within 1 year', r.expiry.within1Year));
  if (r.expiry.before) lines.push(...expiryLines(`before ${r.expiry.before.date}`, r.expiry.before.items));
  const sg = r.signatures;
  lines.push(
    '',
    '4. Signatures on artifacts and supplier signing',
    `  ${sg.items.length} signatures: ${sg.valid} valid, ${sg.invalid} invalid, ${sg.unverified} unverified`,
  );
  for (const x of sg.items.slice(0, 50))
    lines.push(
      `    ${x.status.toUpperCase().padEnd(10)}  ${x.format}  ${x.signatureAlgorithm}  ${signerLabel(x.signer)}  ${x.occurrences[0]?.path ?? ''}${x.reason ? `  (${x.reason})` : ''}`,
    );
  if (sg.items.length > 50) lines.push(`    … ${sg.items.length - 50} more`);
  lines.push(`  ${r.supplierSigning.note}`);
  lines.push('', `Could not be parsed or read: ${r.problems.length}`);
  for (const p of r.problems.slice(0, 50))
    lines.push(`    ${p.status}  ${p.path}${p.offset ? '@' + p.offset : ''}: ${p.reason}`);
  if (r.problems.length > 50) lines.push(`    … ${r.problems.length - 50} more`);
  const serious = r.findings.filter((f) => f.severity !== 'info');
  if (serious.length) {
    lines.push('', 'Findings');
    for (const f of serious) lines.push(`  [${f.severity}] ${f.rule}  ${f.message}`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s: unknown): string =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const expiryTable = (items: readonly ExpiryItem[]): string =>
  table(
    ['not after', 'days', 'subject', 'layers', 'path'],
    items.map((i) => [
      i.notAfter,
      i.daysLeft,
      i.subject ?? i.sha256,
      i.layers.join(', '),
      i.paths.join(', '),
    ]),
  );

/** A single self-contained page (no scripts, no external assets) an auditor can archive. */
export function renderHtml(r: Report): string {
  const t = r.totals;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Keywarden report ${esc(r.at)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.critical,.high{color:#a00;font-weight:bold}.medium{color:#a60}.none{color:#777}</style></head><body>
<h1>Keywarden report</h1><p>At <b>${esc(r.at)}</b>, store <code>${esc(r.store)}</code>, generated ${esc(r.generatedAt)}.</p>
<p>${t.certificates} certificates, ${t.keys} keys (${t.privateKeys} private), ${t.csrs} CSRs, ${t.crls} CRLs, ${t.sshCertificates} SSH certificates.</p>
<h2>1. Where are the keys?</h2>
${table(['layer', 'keys'], Object.entries(r.keys.byLayer))}
${table(['algorithm', 'keys'], Object.entries(r.keys.byAlgorithm))}
<h3>Private keys</h3>
${table(
  ['exposure', 'algorithm', 'key id', 'path', 'mode'],
  r.keys.privateKeys.flatMap((k) =>
    k.occurrences
      .filter((o) => o.private)
      .map((o) => [
        o.encrypted ? 'encrypted' : 'PLAINTEXT',
        keyLabel(k.algorithm, k.keySize, k.curve),
        k.id,
        o.path,
        o.fileMode ?? '',
      ]),
  ),
)}
<h2>2. Chains of trust</h2>
<p>${r.chains.items.length} leaves and signers: ${r.chains.valid} valid, ${r.chains.invalid} invalid, ${r.chains.noAnchor} with no path to an anchor; ${r.chains.uncontrolledAnchor} end at an anchor in no trust store.</p>
<h3>Trust anchors</h3>${table(
    ['anchor', 'paths', 'trust stores'],
    r.chains.anchors.map((a) => [a.subject, a.paths, a.trustStores.join('; ') || 'none']),
  )}
<h3>Paths</h3>${table(
    ['certificate', 'role', 'status', 'path', 'failed rules'],
    r.chains.items.map((i) => [
      i.subject ?? i.sha256,
      i.role,
      i.status,
      i.pathSubjects.join(' → '),
      [...new Set(i.errors.map((e) => e.rule))].join(', '),
    ]),
  )}
<h3>Post-quantum readiness (${esc(r.pqc.authority)})</h3>${table(
    ['product', 'support end', 'quantum-vulnerable', 'disallowed from', 'migrate by', 'late'],
    r.pqc.rows.map((q) => [
      q.product,
      q.supportEnd,
      q.vulnerable,
      q.disallowFrom ?? '',
      q.migrateBy ?? '',
      q.late,
    ]),
  )}
<h2>3. What expires</h2>
<h3>Expired</h3>${expiryTable(r.expiry.expired)}
<h3>Within 90 days</h3>${expiryTable(r.expiry.within90Days)}
<h3>Within 1 year</h3>${expiryTable(r.expiry.within1Year)}
${r.expiry.before ? `<h3>Before ${esc(r.expiry.before.date)}</h3>${expiryTable(r.expiry.before.items)}` : ''}
<h2>4. Signatures on artifacts and supplier signing</h2>
<p>${r.signatures.valid} valid, ${r.signatures.invalid} invalid, ${r.signatures.unverified} unverified.</p>${table(
    ['status', 'format', 'algorithm', 'signer', 'where', 'reason'],
    r.signatures.items.map((x) => [
      x.status,
      x.format,
      x.signatureAlgorithm,
      signerLabel(x.signer),
      x.occurrences[0]?.path ?? '',
      x.reason ?? '',
    ]),
  )}
<p>${esc(r.supplierSigning.note)}</p>
<h2>Could not be parsed or read</h2>${table(
    ['status', 'path', 'offset', 'reason'],
    r.problems.map((p) => [p.status, p.path, p.offset, p.reason]),
  )}
<h2>Findings</h2>${table(
    ['severity', 'rule', 'message'],
    r.findings.filter((f) => f.severity !== 'info').map((f) => [f.severity, f.rule, f.message]),
  )}
<h3>Rules</h3>${table(['rule', 'meaning'], Object.entries(RULES))}
</body></html>
`;
}
