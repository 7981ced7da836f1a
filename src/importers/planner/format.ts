import type { Draft, ImportPlan } from './types.js';

export const FORMATS = ['table', 'json', 'plain'] as const;
export type Format = (typeof FORMATS)[number];

/** Render a plan: `json` for tools (the whole plan), `table` for people, `plain` for grep. */
export function formatPlan(plan: ImportPlan, format: Format): string {
  if (format === 'json') return `${JSON.stringify(plan, null, 2)}\n`;
  if (format === 'plain') return plainLines(plan).join('\n') + '\n';
  return table(plan);
}

function counts(plan: ImportPlan): Record<string, number> {
  const c: Record<string, number> = { ready: 0, needs_review: 0, blocked: 0 };
  for (const d of plan.drafts) c[d.trust_card.activation_review.verdict]!++;
  return c;
}

function plainLines(plan: ImportPlan): string[] {
  const lines = [
    `source\t${plan.source.kind}\t${plan.source.name}\t${plan.source_digest_sha256}`,
    `plan\t${plan.plan_digest_sha256}\t${plan.drafts.length} drafts`,
  ];
  for (const d of plan.drafts) {
    const r = d.trust_card.activation_review;
    lines.push(`draft\t${d.name}\t${r.verdict}\t${r.highest_risk_level}\t${d.route.method} ${d.route.endpoint}\t${d.risks.map((x) => `${x.kind}:${x.level}`).join(',') || '-'}`);
  }
  for (const g of plan.review_gates) lines.push(`gate\t${g.id}\t${g.resolution}\t${g.level}\t${g.reason}`);
  for (const w of plan.warnings) lines.push(`warning\t${w}`);
  return lines;
}

function table(plan: ImportPlan): string {
  const c = counts(plan);
  const head = [
    `Source:  ${plan.source.name} (${plan.source.kind})${plan.source.license ? `, license ${plan.source.license}` : ', no license'}${plan.source.provenance ? `, provenance ${plan.source.provenance}` : ', no provenance'}`,
    `Digests: source ${plan.source_digest_sha256.slice(0, 16)}…  plan ${plan.plan_digest_sha256.slice(0, 16)}…`,
    `Drafts:  ${plan.drafts.length} (all disabled): ${c.ready} ready, ${c.needs_review} need review, ${c.blocked} blocked`,
    '',
  ];
  const rows = plan.drafts.map((d: Draft) => {
    const r = d.trust_card.activation_review;
    return [
      d.name,
      r.verdict,
      r.highest_risk_level,
      `${r.manual_review_gate_count}/${r.auto_resolvable_gate_count}`,
      `${d.route.method} ${d.route.endpoint}`,
      d.risks.map((x) => x.kind).join(', ') || '-',
    ];
  });
  const header = ['NAME', 'VERDICT', 'RISK', 'GATES M/A', 'ROUTE', 'RISKS'];
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const fit = (cell: string, w: number) => (cell.length > w ? `${cell.slice(0, w - 1)}…` : cell.padEnd(w));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : fit(cell, widths[i]!))).join('  ').trimEnd();
  const body = [line(header), ...rows.map(line)];
  const tail = [
    '',
    ...plan.review_gates.map((g) => `Plan gate (${g.resolution}): ${g.reason}`),
    ...plan.warnings.map((w) => `Warning: ${w}`),
    'Nothing was written. Write disabled drafts with: mcpgateway import apply --kind ' + plan.source.kind + ' FILE',
  ];
  return [...head, ...body, ...tail].join('\n') + '\n';
}
