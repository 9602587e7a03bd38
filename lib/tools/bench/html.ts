// `--html FILE`: one self-contained page (inline CSS and SVG, no scripts, no network): a bar chart per
// mechanism comparing the ways (C loop, JS, high-level API, Node, Python) in each placement, then the table.
import { formatValue, type Result, unitText, WAY_LABEL, type Way } from './core.js';
import { allResults, ordered, placementRows, ratioToNative, type Report } from './report.js';

export const WAY_COLOR: Record<Way, string> = {
  native: '#4c72b0',
  js: '#55a868',
  api: '#dd8452',
  node: '#8172b2',
  python: '#c44e52',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Bar {
  value: number;
  min?: number;
  max?: number;
  color: string;
  text: string;
  title: string;
}
interface ChartRow {
  /** A section heading instead of a bar row. */
  heading?: string;
  label?: string;
  bars?: Bar[];
}

/**
 * A horizontal bar chart: rows of one or more bars (median) with a min–max whisker. Linear scales end at 1.15×
 * the largest median (a whisker beyond the edge is clipped and ends in an arrow); log scales (decades) show
 * figures that differ by orders of magnitude side by side.
 */
function barChart(title: string, subtitle: string, rows: ChartRow[], opts: { log?: boolean; legend?: Array<[string, string]> } = {}): string {
  const W = 900;
  const labelW = 330;
  const valueW = 170;
  const barH = 14;
  const gap = 5;
  const plotW = W - labelW - valueW;
  const values = rows.flatMap((r) => r.bars ?? []).map((b) => b.value).filter((v) => v > 0);
  const top = opts.legend ? 44 : 28;
  let scale: (v: number) => number;
  const ticks: Array<[number, string]> = [];
  if (opts.log) {
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values) * 1.05)));
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    scale = (v) => Math.max(0, Math.min(plotW, ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * plotW));
    for (let t = lo; t <= hi * 1.001; t *= 10) ticks.push([scale(t), t >= 1 ? String(t) : t.toPrecision(1)]);
  } else {
    const max = Math.max(...values) * 1.15 || 1;
    scale = (v) => Math.max(0, Math.min(plotW, (v / max) * plotW));
  }
  let y = top;
  const parts: string[] = [];
  for (const row of rows) {
    if (row.heading !== undefined) {
      y += 6;
      parts.push(`<text x="4" y="${y + 11}" class="h">${esc(row.heading)}</text>`);
      y += barH + 2;
      continue;
    }
    const bars = row.bars ?? [];
    const rowH = bars.length * barH + (bars.length - 1) * 2;
    parts.push(`<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(row.label ?? '')}</text>`);
    bars.forEach((b, i) => {
      const by = y + i * (barH + 2);
      const w = Math.max(1, scale(b.value));
      let g = `<g><title>${esc(b.title)}</title><rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"/>`;
      if (b.min !== undefined && b.max !== undefined) {
        const x1 = labelW + scale(b.min);
        const x2 = labelW + scale(b.max);
        const clipped = !opts.log && x2 >= labelW + plotW - 0.5;
        g += `<line x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${by + barH / 2}" y2="${by + barH / 2}" stroke="#222" stroke-width="1"/>`;
        if (clipped) g += `<path d="M${x2.toFixed(1)},${by + barH / 2} l-5,-3 v6 z" fill="#222"/>`;
      }
      g += `<text x="${labelW + plotW + 6}" y="${by + barH - 3}">${esc(b.text)}</text></g>`;
      parts.push(g);
    });
    y += rowH + gap;
  }
  const axis = ticks
    .map(([x, t]) => `<line x1="${labelW + x}" x2="${labelW + x}" y1="${top - 4}" y2="${y}" stroke="#ddd"/><text x="${labelW + x}" y="${y + 12}" text-anchor="middle" fill="#666">${t}</text>`)
    .join('');
  const legend = (opts.legend ?? []).map(([name, color], i) => `<rect x="${4 + i * 150}" y="26" width="10" height="10" fill="${color}"/><text x="${18 + i * 150}" y="35">${esc(name)}</text>`).join('');
  const h = y + (ticks.length ? 18 : 6);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="11">` +
    `<style>.h{font-weight:bold;font-size:12px;fill:#333}</style><rect width="${W}" height="${h}" fill="#fff"/>` +
    `<text x="4" y="16" font-weight="bold" font-size="14">${esc(title)}</text><text x="${W - 4}" y="16" text-anchor="end" fill="#666">${esc(subtitle)}</text>` +
    legend +
    axis +
    parts.join('') +
    `</svg>`
  );
}

const short = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

function tooltip(r: Result): string {
  return `${r.group} · ${r.placement} · ${WAY_LABEL[r.way]}: ${r.label}\nmedian ${formatValue(r.median, r.unit)} ${unitText(r)}, min ${formatValue(r.min, r.unit)}, max ${formatValue(r.max, r.unit)}${r.p99 !== undefined ? `, p99 ${formatValue(r.p99, r.unit)}` : ''}; ${r.samples.length} samples of ${r.opsPerSample} ops${r.note ? `; ${r.note}` : ''}`;
}

function valueText(r: Result, all: Result[]): string {
  const ratio = r.way === 'native' ? undefined : ratioToNative(r, all);
  return `${formatValue(r.median, r.unit)} ${r.unit}${ratio !== undefined ? ` · ${ratio.toFixed(ratio < 10 ? 2 : 1)}×` : ''}`;
}

/** The chart of one group: a section per placement, a bar per way (colour: the way). */
export function groupChart(group: string, rs: Result[], all: Result[]): string {
  const rows: ChartRow[] = [];
  let last = '';
  for (const r of rs) {
    if (r.placement !== last) rows.push({ heading: r.placement });
    last = r.placement;
    rows.push({ label: `${r.way}: ${short(r.label, 48)}`, bars: [{ value: r.median, min: r.min, max: r.max, color: WAY_COLOR[r.way], text: valueText(r, all), title: tooltip(r) }] });
  }
  const first = rs[0];
  const subtitle = first ? `${unitText(first)}, ${first.better} is better · bar: median, whisker: min–max` : '';
  return barChart(group, subtitle, rows);
}

/** A chart per group, in report order. */
export function charts(report: Report): Array<{ group: string; svg: string }> {
  const all = allResults(report);
  const rs = ordered(report);
  const groups = [...new Set(rs.map((r) => r.group))];
  return groups.map((g) => ({ group: g, svg: groupChart(g, rs.filter((r) => r.group === g), all) }));
}

export const PLACEMENT_COLOR: Record<string, string> = { 'same CPU': '#4c72b0', 'different CPUs': '#dd8452', unpinned: '#8c8c8c' };

/**
 * The overview docs/benchmarks.md shows: every two-process round trip (each mechanism, each way), one bar per
 * placement, on a log scale — placement against primitive at a glance.
 */
export function overviewChart(report: Report): string {
  const all = allResults(report);
  const rs = ordered(report).filter((r) => r.unit === 'µs' && (r.per === 'round trip' || r.per === 'cycle'));
  const placements = ['same CPU', 'different CPUs', 'unpinned'].filter((p) => rs.some((r) => r.placement === p));
  const rows: ChartRow[] = [];
  let lastGroup = '';
  for (const { row: r, at } of placementRows(rs)) {
    if (r.group !== lastGroup) rows.push({ heading: `${r.group} (µs per ${r.per})` });
    lastGroup = r.group;
    const bars = placements
      .map(at)
      .filter((x): x is Result => x !== undefined)
      .map((x) => ({ value: x.median, color: PLACEMENT_COLOR[x.placement]!, text: valueText(x, all), title: tooltip(x) }));
    rows.push({ label: `${r.way}: ${short(r.label, 46)}`, bars });
  }
  return barChart('Two-process round trips by placement', 'median µs, log scale, lower is better · × = vs the C loop', rows, {
    log: true,
    legend: placements.map((p) => [p, PLACEMENT_COLOR[p]!] as [string, string]),
  });
}

export function renderHtml(report: Report): string {
  const all = allResults(report);
  const m = report.machine;
  const legend = (Object.keys(WAY_COLOR) as Way[])
    .map((w) => `<span class="key"><span class="sw" style="background:${WAY_COLOR[w]}"></span>${esc(w)}: ${esc(WAY_LABEL[w])}</span>`)
    .join(' ');
  const rows = ordered(report)
    .map((r) => {
      const x = ratioToNative(r, all);
      return `<tr><td>${esc(r.group)}</td><td>${esc(r.placement)}</td><td>${esc(r.way)}</td><td class="n">${formatValue(r.median, r.unit)}</td><td class="n">${r.p99 === undefined ? '' : formatValue(r.p99, r.unit)}</td><td class="n">${formatValue(r.min, r.unit)}–${formatValue(r.max, r.unit)}</td><td>${esc(unitText(r))}</td><td class="n">${x === undefined ? '' : `${x.toFixed(2)}×`}</td><td>${esc(r.label)}</td></tr>`;
    })
    .join('\n');
  const absent = report.suites.flatMap((s) => s.absent);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>multiproc bench — ${esc(report.date)}</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.key{margin-right:1.2em;white-space:nowrap}.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg{display:block;margin:1.2em 0}
</style></head><body>
<h1>multiproc bench</h1>
<p>${esc(report.date)} · multiproc ${esc(report.versions.multiproc)} · Node ${esc(report.versions.node)}${report.versions.python ? ` · Python ${esc(report.versions.python)}` : ''} · ${esc(m.platform)} ${esc(m.arch)}<br>
${m.cpus} CPU(s): ${esc(m.cpuModel)} (allowed: ${m.allowedCpus.join(', ')}) · load average ${m.loadavg.before.join(' ')} before, ${m.loadavg.after.join(' ')} after<br>
${report.options.quick ? '<b>quick run</b> · ' : ''}budget ${report.options.budgetMs} ms per figure · ${report.options.reps} repetitions, each in fresh processes · bars: median, whiskers: min–max of the samples · × = cost relative to the C loop in the addon in the same placement</p>
<p>${legend}</p>
${overviewChart(report)}
${charts(report).map((c) => c.svg).join('\n')}
<h2>Table</h2>
<table><tr><th>mechanism</th><th>placement</th><th>way</th><th>median</th><th>p99</th><th>min–max</th><th>unit</th><th>× native</th><th>what ran</th></tr>
${rows}
</table>
${absent.length ? `<h2>Not available in this run</h2><ul>${absent.map((a) => `<li>${esc(a.what)}: ${esc(a.reason)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
