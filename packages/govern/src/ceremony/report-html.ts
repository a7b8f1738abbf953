import type { CeremonyReport, ReportEntry } from './report.ts';

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.warn{color:#9a6700;font-weight:600}
.banner{padding:.6rem 1rem;border-radius:6px;margin:1rem 0}.banner.ok{background:#dafbe1}.banner.bad{background:#ffebe9}
details pre{white-space:pre-wrap;font-size:11px;background:#f6f8fa;padding:.5rem}
@media print{details{display:none}}`;

function signatures(e: ReportEntry): string {
  if (e.signatures.length === 0) return '<span class="warn">not checked</span>';
  return e.signatures
    .map(
      (s) =>
        `${esc(s.person)} (${esc(s.as)}${s.role ? `, ${esc(s.role)}` : ''}): ${
          s.ok ? '<span class="ok">valid</span>' : `<span class="bad">${esc(s.problem ?? 'invalid')}</span>`
        }`,
    )
    .join('<br>');
}

function artefacts(a: Record<string, string>): string {
  const rows = Object.entries(a);
  return rows.length ? rows.map(([n, d]) => `${esc(n)}<br><code>${esc(d)}</code>`).join('<br>') : '';
}

function flagText(f: Record<string, boolean | undefined> | undefined): string {
  if (!f) return '';
  return Object.entries(f)
    .map(([k, v]) => `${esc(k)}=${v ? 'true' : 'false'}`)
    .join(', ');
}

/** A self-contained page (inline style, no scripts, no external assets) an auditor can archive. */
export function renderCeremonyHtml(r: CeremonyReport): string {
  const out: string[] = [];
  out.push(
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    `<title>Ceremony ${esc(r.id)}</title><style>${STYLE}</style></head><body>`,
    `<h1>Key ceremony ${esc(r.id)}</h1>`,
    `<p>${esc(r.script.purpose)}</p>`,
    '<table>',
    `<tr><th>Script</th><td>${esc(r.script.name)} version ${esc(r.script.version)} <code>${esc(r.script.digest)}</code></td></tr>`,
    ...(r.script.keyId ? [`<tr><th>Key</th><td>${esc(r.script.keyId)}</td></tr>`] : []),
    `<tr><th>Started</th><td>${esc(r.startedAt)} by ${esc(r.startedBy)}</td></tr>`,
    `<tr><th>Status</th><td>${esc(r.status)}</td></tr>`,
    `<tr><th>Evidence log</th><td>${esc(r.log.origin)}, size ${esc(r.log.size)}</td></tr>`,
    '</table>',
    r.verification.ok
      ? '<div class="banner ok">Verified from the evidence log: every signature, role and step order checks.</div>'
      : `<div class="banner bad">Verification found ${r.verification.problems.length} problem(s):<ul>${r.verification.problems
          .map((p) => `<li>${esc(p)}</li>`)
          .join('')}</ul></div>`,
  );
  out.push('<h2>Participants</h2><table><tr><th>Person</th><th>Name</th><th>Role</th></tr>');
  for (const p of r.participants)
    out.push(`<tr><td>${esc(p.person)}</td><td>${esc(p.name ?? '')}</td><td>${esc(p.role)}</td></tr>`);
  out.push('</table>');

  out.push(
    '<h2>Steps</h2><table><tr><th>#</th><th>Step</th><th>Status</th><th>Log index</th><th>Time (UTC)</th><th>Performer</th><th>Witnesses</th><th>Signatures</th><th>Artefact hashes</th></tr>',
  );
  for (const s of r.steps) {
    const head = `<td>${esc(s.n)}</td><td><b>${esc(s.title)}</b><br><span class="mono">${esc(s.id)} · ${esc(s.action)} · by ${esc(s.role)}</span>${
      s.instructions ? `<br>${esc(s.instructions)}` : ''
    }</td><td>${esc(s.status)}</td>`;
    if (s.entries.length === 0) {
      out.push(`<tr>${head}<td colspan="6"></td></tr>`);
      continue;
    }
    s.entries.forEach((e, i) => {
      const what =
        e.phase === 'exception'
          ? `<br><span class="warn">exception</span>: ${esc(e.deviation ?? '')} — ${esc(e.reason ?? '')}`
          : e.phase === 'intent'
            ? '<br><span class="mono">intent (before the HSM operation)</span>'
            : '';
      out.push(
        `<tr>${i === 0 ? head : '<td colspan="3"></td>'}<td>${esc(e.index)}</td><td>${esc(e.at)}${what}</td><td>${esc(e.performer)}</td><td>${esc(
          e.witnesses.join(', '),
        )}</td><td>${signatures(e)}</td><td>${artefacts(e.artefacts)}${
          e.requestDigest ? `<br>approval request<br><code>${esc(e.requestDigest)}</code>` : ''
        }</td></tr>`,
      );
    });
  }
  out.push('</table>');

  out.push(
    '<h2>Keys generated on the HSM</h2><table><tr><th>Step</th><th>Key identity (SHA-256 of SPKI)</th><th>Algorithm</th><th>Token</th><th>Label / CKA_ID</th><th>Flags (inventory)</th></tr>',
  );
  for (const k of r.keys)
    out.push(
      `<tr><td>${esc(k.step)}</td><td><code>${esc(k.keyId ?? '')}</code></td><td>${esc(k.algorithm ?? '')}</td><td>${esc(k.token)} (serial ${esc(
        k.serial,
      )})</td><td>${esc(k.label)} / <code>${esc(k.ckaId)}</code>${k.recovered ? '<br>(found on resume)' : ''}</td><td>${flagText(
        k.flags as Record<string, boolean | undefined> | undefined,
      )}</td></tr>`,
    );
  if (r.keys.length === 0) out.push('<tr><td colspan="6">none</td></tr>');
  out.push('</table>');

  if (r.signatures.length) {
    out.push(
      '<h2>Signatures made on the HSM</h2><table><tr><th>Step</th><th>Mechanism</th><th>Signature (base64)</th></tr>',
    );
    for (const s of r.signatures)
      out.push(
        `<tr><td>${esc(s.step)}</td><td>${esc(s.mechanism ?? '')}</td><td><code>${esc(s.signature)}</code></td></tr>`,
      );
    out.push('</table>');
  }

  out.push('<h2>Exceptions</h2>');
  if (r.exceptions.length === 0) out.push('<p>None recorded.</p>');
  else {
    out.push(
      '<table><tr><th>Step</th><th>Log index</th><th>When</th><th>Who</th><th>What</th><th>Why</th><th>Ceremony continued</th></tr>',
    );
    for (const x of r.exceptions)
      out.push(
        `<tr><td>${esc(x.step)}</td><td>${esc(x.index)}</td><td>${esc(x.at)}</td><td>${esc(x.by)}</td><td>${esc(x.deviation)}</td><td>${esc(
          x.reason,
        )}</td><td>${x.continued ? 'yes (the script allows it)' : '<span class="bad">no: halted</span>'}</td></tr>`,
      );
    out.push('</table>');
  }

  out.push(
    '<h2>Proofs</h2><p>Each entry below is a keywarden-evidence-bundle/v1 with its inclusion proof to the signed checkpoint. Check them offline with <code>keywarden evidence verify BUNDLE --key VKEY</code> after saving the JSON report’s <code>bundles</code>.</p>',
    `<details><summary>Checkpoint</summary><pre>${esc(r.log.checkpoint)}</pre></details>`,
  );
  for (const b of r.bundles)
    out.push(
      `<details><summary>Entry ${esc(b.index)}</summary><pre>${esc(JSON.stringify(b, null, 1))}</pre></details>`,
    );
  out.push('</body></html>\n');
  return out.join('\n');
}
