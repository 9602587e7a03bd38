// `--html FILE`: one self-contained page (inline CSS and SVG, no scripts, no network): a bar chart per
// mechanism comparing the ways (C loop, JS, high-level API, Node, Python) in each placement, then the table.
import { formatValue, type Result, unitText, WAY_LABEL, type Way } from './core.js';
import { allResults, ordered, ratioToNative, type Report } from './report.js';

export const WAY_COLOR: Record<Way, string> = {
  native: '#4c72b0',
  js: '#55a868',
  api: '#dd8452',
  node: '#8172b2',
  python: '#c44e52',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A horizontal bar chart of one group: one bar per result, grouped by placement, the median with a min–max whisker. */
export function groupChart(group: string, rs: Result[], all: Result[]): string {
  const W = 760;
  const labelW = 250;
  const valueW = 150;
  const barH = 18;
  const gap = 4;
  const placementGap = 14;
  const top = 26;
  const plotW = W - labelW - valueW;
  const max = Math.max(...rs.map((r) => r.max), ...rs.map((r) => r.median)) || 1;
  const scale = (v: number) => (v / max) * plotW;
  let y = top;
  const parts: string[] = [];
  let lastPlacement = '';
  for (const r of rs) {
    if (r.placement !== lastPlacement) {
      if (lastPlacement) y += placementGap;
      parts.push(`<text x="4" y="${y + 12}" class="pl">${esc(r.placement)}</text>`);
      y += barH;
      lastPlacement = r.placement;
    }
    const x = labelW;
    const w = Math.max(1, scale(r.median));
    const ratio = ratioToNative(r, all);
    const value = `${formatValue(r.median, r.unit)} ${r.unit}${ratio !== undefined && r.way !== 'native' ? ` · ${ratio.toFixed(ratio < 10 ? 2 : 1)}×` : ''}`;
    parts.push(
      `<g><title>${esc(`${r.group} · ${r.placement} · ${WAY_LABEL[r.way]}: ${r.label}\nmedian ${formatValue(r.median, r.unit)} ${unitText(r)}, min ${formatValue(r.min, r.unit)}, max ${formatValue(r.max, r.unit)}${r.p99 !== undefined ? `, p99 ${formatValue(r.p99, r.unit)}` : ''}; ${r.samples.length} samples of ${r.opsPerSample} ops`)}</title>` +
        `<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(`${r.way}: ${r.label.length > 34 ? r.label.slice(0, 33) + '…' : r.label}`)}</text>` +
        `<rect x="${x}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${WAY_COLOR[r.way]}"/>` +
        `<line x1="${(x + scale(r.min)).toFixed(1)}" x2="${(x + scale(r.max)).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#222" stroke-width="1"/>` +
        `<text x="${(x + Math.max(w, scale(r.max)) + 6).toFixed(1)}" y="${y + 13}">${esc(value)}</text></g>`,
    );
    y += barH + gap;
  }
  const unit = rs[0] ? `${unitText(rs[0])} (${rs[0].better} is better)` : '';
  const h = y + 8;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">` +
    `<style>.pl{font-weight:bold;fill:#444}</style>` +
    `<text x="4" y="16" font-weight="bold" font-size="14">${esc(group)}</text><text x="${W - 4}" y="16" text-anchor="end" fill="#666">${esc(unit)}</text>` +
    parts.join('') +
    `</svg>`
  );
}

/** A chart per group, in report order. */
export function charts(report: Report): Array<{ group: string; svg: string }> {
  const all = allResults(report);
  const rs = ordered(report);
  const groups = [...new Set(rs.map((r) => r.group))];
  return groups.map((g) => ({ group: g, svg: groupChart(g, rs.filter((r) => r.group === g), all) }));
}

/** The placements × ways overview for the two-process latencies: the chart the README shows. */
export function overviewChart(report: Report): string {
  const all = allResults(report);
  const rs = ordered(report).filter((r) => r.unit === 'µs' && (r.per === 'round trip' || r.per === 'cycle') && r.placement !== 'unpinned');
  return groupChart('Two-process round trips: same CPU vs different CPUs (median µs, whisker: min–max)', rs, all);
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
