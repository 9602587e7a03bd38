// The report of a `multiproc bench` run: its JSON shape, the terminal table, Markdown and --compare.
import { type Absent, formatValue, unitText, type Placement, type Result, WAY_LABEL } from './core.js';

export interface SuiteRun {
  name: string;
  title: string;
  seconds: number;
  results: Result[];
  absent: Absent[];
}

export interface Report {
  format: 'multiproc-bench/1';
  date: string;
  seconds: number;
  options: { quick: boolean; budgetMs: number; reps: number; only: string[]; python: boolean; suites: string[] };
  machine: {
    platform: string;
    arch: string;
    cpuModel: string;
    cpus: number;
    allowedCpus: number[];
    memoryBytes: number;
    /** /proc/loadavg (1, 5, 15 min) before and after the run: other load makes figures noisy. */
    loadavg: { before: number[]; after: number[] };
  };
  versions: { multiproc: string; node: string; v8: string; uv: string; python?: string };
  placements: Placement[];
  suites: SuiteRun[];
}

export function allResults(report: Report): Result[] {
  return report.suites.flatMap((s) => s.results);
}

/**
 * The native figure a result compares with: the native loop of its group (or of `ref`) in the same placement
 * from the same run; for a one-placement figure with no such native, the native figure of the same group in
 * any placement is not used (placements are not comparable).
 */
export function nativeFor(r: Result, all: Result[]): Result | undefined {
  const group = all.some((x) => x.group === r.group && x.way === 'native') ? r.group : r.ref;
  if (!group) return undefined;
  return all.find((x) => x.group === group && x.way === 'native' && x.placement === r.placement);
}

/** How many times the native loop's cost: >1 is slower than C (for rates: native rate / this rate). */
export function ratioToNative(r: Result, all: Result[]): number | undefined {
  const n = nativeFor(r, all);
  if (!n || n === r) return n === r ? 1 : undefined;
  return r.better === 'lower' ? r.median / n.median : n.median / r.median;
}

const WAY_ORDER = ['native', 'js', 'api', 'node', 'python'];
const PLACEMENT_ORDER = ['same CPU', 'different CPUs', 'unpinned', 'one process'];

/** Results in display order: by group (first appearance in the run), then placement, then way. */
export function ordered(report: Report): Result[] {
  const all = allResults(report);
  const groups = [...new Set(all.map((r) => r.group))];
  const out: Result[] = [];
  for (const g of groups) {
    const rs = all.filter((r) => r.group === g);
    rs.sort((x, y) => PLACEMENT_ORDER.indexOf(x.placement) - PLACEMENT_ORDER.indexOf(y.placement) || WAY_ORDER.indexOf(x.way) - WAY_ORDER.indexOf(y.way));
    out.push(...rs);
  }
  return out;
}

/**
 * The rows of a table by placement: one per mechanism and way (group, way, label), in the order of `rs`, each
 * with its result in a given placement (undefined where it did not run there).
 */
export function placementRows(rs: Result[]): { row: Result; at: (placement: string) => Result | undefined }[] {
  const rows = new Map<string, Result[]>();
  for (const r of rs) {
    const key = `${r.group}\u0000${r.way}\u0000${r.label}`;
    const same = rows.get(key);
    if (same) same.push(r);
    else rows.set(key, [r]);
  }
  return [...rows.values()].map((same) => ({ row: same[0]!, at: (placement: string) => same.find((x) => x.placement === placement) }));
}

function ratioText(r: Result, all: Result[]): string {
  const x = ratioToNative(r, all);
  if (x === undefined) return '';
  const n = nativeFor(r, all)!;
  const suffix = n.group !== r.group ? ` (${n.group})` : '';
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}×${suffix}`;
}

interface Row {
  cells: string[];
  group: string;
}

function rowsOf(report: Report): { head: string[]; rows: Row[] } {
  const all = allResults(report);
  const head = ['mechanism', 'placement', 'way', 'median', 'p99', 'min–max', 'unit', '× native', 'what ran'];
  const rows = ordered(report).map((r) => ({
    group: r.group,
    cells: [
      r.group,
      r.placement,
      r.way,
      formatValue(r.median, r.unit),
      r.p99 === undefined ? '' : formatValue(r.p99, r.unit),
      `${formatValue(r.min, r.unit)}–${formatValue(r.max, r.unit)}`,
      unitText(r),
      ratioText(r, all),
      r.label,
    ],
  }));
  return { head, rows };
}

function header(report: Report): string[] {
  const m = report.machine;
  const lines = [
    `multiproc bench ${report.versions.multiproc} · Node ${report.versions.node}${report.versions.python ? ` · Python ${report.versions.python}` : ''} · ${m.platform} ${m.arch}`,
    `${m.cpus} CPU(s) (${m.cpuModel}), allowed ${m.allowedCpus.join(',')} · load average ${m.loadavg.before.join(' ')} before, ${m.loadavg.after.join(' ')} after`,
    `${report.options.quick ? 'quick run, ' : ''}budget ${report.options.budgetMs} ms per figure, ${report.options.reps} repetitions in fresh processes; ` +
      `median, p99 and range over per-batch samples; × native = cost relative to the C loop in the same placement`,
  ];
  return lines;
}

export function textTable(report: Report, opts: { color?: boolean } = {}): string {
  const bold = (s: string) => (opts.color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[0m` : s);
  const { head, rows } = rowsOf(report);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const numeric = new Set([3, 4, 5, 7]);
  const fmt = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  const out = [...header(report).map(dim), '', bold(fmt(head))];
  let lastGroup = '';
  for (const r of rows) {
    const cells = [...r.cells];
    if (r.group === lastGroup) cells[0] = '';
    else if (lastGroup) out.push('');
    lastGroup = r.group;
    out.push(fmt(cells));
  }
  const absent = report.suites.flatMap((s) => s.absent);
  if (absent.length) {
    out.push('', bold('not available in this run:'));
    for (const a of absent) out.push(`  ${a.what}: ${a.reason}`);
  }
  return out.join('\n');
}

export function markdownTable(report: Report): string {
  const { head, rows } = rowsOf(report);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [...header(report).map((l) => `${l}  `), '', `| ${head.map(esc).join(' | ')} |`, `|${head.map((_, i) => ([3, 4, 5, 7].includes(i) ? ' ---: ' : ' --- ')).join('|')}|`];
  let lastGroup = '';
  for (const r of rows) {
    const cells = [...r.cells];
    if (r.group === lastGroup) cells[0] = '';
    else cells[0] = `**${cells[0]}**`;
    lastGroup = r.group;
    out.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  const absent = report.suites.flatMap((s) => s.absent);
  if (absent.length) {
    out.push('', 'Not available in this run:', '');
    for (const a of absent) out.push(`- ${a.what}: ${a.reason}`);
  }
  out.push('', `Ways: ${Object.entries(WAY_LABEL).map(([k, v]) => `${k} = ${v}`).join('; ')}.`);
  return out.join('\n') + '\n';
}

const keyOf = (r: Result) => `${r.group}\u0000${r.way}\u0000${r.label}\u0000${r.placement}`;

/** The change of every figure present in both runs (median against median). */
export function compareTable(old: Report, now: Report): string {
  const before = new Map(allResults(old).map((r) => [keyOf(r), r]));
  const head = ['mechanism', 'placement', 'way', 'old', 'new', 'unit', 'change'];
  const rows: string[][] = [];
  for (const r of ordered(now)) {
    const o = before.get(keyOf(r));
    if (!o) continue;
    const change = r.median / o.median - 1;
    const better = r.better === 'lower' ? change < 0 : change > 0;
    const pct = `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
    const verdict = Math.abs(change) < 0.05 ? '' : better ? ' better' : ' worse';
    rows.push([r.group, r.placement, r.way, formatValue(o.median, r.unit), formatValue(r.median, r.unit), unitText(r), pct + verdict]);
  }
  if (rows.length === 0) return `compare: no figure of this run is in the old run (${old.date})`;
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => ([3, 4].includes(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  const lines = [`change against the run of ${old.date} (load ${old.machine.loadavg.before.join(' ')}; now ${now.machine.loadavg.before.join(' ')}):`, fmt(head), ...rows.map(fmt)];
  const missing = allResults(old).filter((r) => !allResults(now).some((x) => keyOf(x) === keyOf(r))).length;
  if (missing) lines.push(`(${missing} figure(s) of the old run are not in this one)`);
  return lines.join('\n');
}

/**
 * The Markdown form docs/benchmarks.md shows: one row per mechanism and way, one column per placement, each
 * cell the median with its ratio to the C loop in that placement; the full table (p99, ranges, every sample)
 * is in the JSON and HTML.
 */
export function markdownSummary(report: Report): string {
  const all = allResults(report);
  const rs = ordered(report);
  const placements = PLACEMENT_ORDER.filter((p) => rs.some((r) => r.placement === p));
  const head = ['mechanism', 'way', 'unit', ...placements, 'what ran'];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [...header(report).map((l) => `${l}  `), '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 3 && i < 3 + placements.length ? ' ---: ' : ' --- ')).join('|')}|`];
  let lastGroup = '';
  for (const { row: r, at } of placementRows(rs)) {
    const cells = placements.map((p) => {
      const x = at(p);
      if (!x) return '';
      const ratio = x.way === 'native' ? undefined : ratioToNative(x, all);
      return `${formatValue(x.median, x.unit)}${ratio === undefined ? '' : ` (${ratio < 10 ? ratio.toFixed(2) : ratio.toFixed(1)}×)`}`;
    });
    const refGroup = placements.map(at).map((x) => (x ? nativeFor(x, all)?.group : undefined)).find((g) => g !== undefined && g !== r.group);
    const what = refGroup ? `${r.label} (× vs the ${refGroup} C loop)` : r.label;
    out.push(`| ${r.group === lastGroup ? '' : `**${esc(r.group)}**`} | ${r.way} | ${esc(unitText(r))} | ${cells.join(' | ')} | ${esc(what)} |`);
    lastGroup = r.group;
  }
  const absent = report.suites.flatMap((s) => s.absent);
  if (absent.length) {
    out.push('', 'Not available in this run:', '');
    for (const a of absent) out.push(`- ${a.what}: ${a.reason}`);
  }
  out.push('', `(×) = cost relative to the C loop in the addon, same placement, same run (for a group without its own C loop, the one named in its row). Ways: ${Object.entries(WAY_LABEL).map(([k, v]) => `${k} = ${v}`).join('; ')}.`);
  return out.join('\n') + '\n';
}

/** The --json text: indented, number arrays (the samples) on one line, samples to 6 significant digits. */
export function reportJson(report: Report): string {
  const text = JSON.stringify(report, (key, v) => (key === 'samples' && Array.isArray(v) ? v.map((x: number) => Number(x.toPrecision(6))) : v), 2);
  return text.replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, body: string) => `[${body.split(/,\s*/).join(', ')}]`) + '\n';
}
