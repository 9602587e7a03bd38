// The scaling lab's picture: speed-up against the number of workers (processes, threads, one async loop)
// beside Amdahl's law and the ideal line, a table of the measurements, and the static and dynamic load
// balancing runs as a Gantt chart (a row per worker, a bar per task). Text is laid out in fixed rows and
// columns measured with the same metrics as the timelines (svg.ts), so nothing overlaps.
import { Canvas, drawLegend, fmtMs, n1, niceStep, wrap } from './svg.js';
import { textWidth } from './text-metrics.js';

export interface ScalingRun {
  k: number;
  ms: number;
}

export interface TaskRun {
  i: number;
  units: number;
  pid: number;
  start: number;
  end: number;
}

export interface BalanceRun {
  mode: string;
  chunkSize: number;
  makespanMs: number;
  /** Task times relative to the map's start (ms); the makespan is the end of the last. */
  tasks: TaskRun[];
}

export interface ScalingPicture {
  title: string;
  subtitle: string;
  cpus: number;
  serialFraction: number;
  processes: ScalingRun[];
  threads: ScalingRun[];
  asyncMs: number;
  /** The one-worker time the speed-ups are relative to. */
  t1: number;
  /** How busy the machine was (load average), said under the table. */
  load: string;
  balance: BalanceRun[];
}

const W = 1100;
const COLORS = { processes: '#2e7d32', threads: '#ef6c00', async: '#c62828', amdahl: '#1565c0', ideal: '#9e9e9e', cpus: '#6a1b9a' };

export const amdahl = (f: number, k: number): number => 1 / (f + (1 - f) / k);

export function renderScalingSvg(d: ScalingPicture): string {
  const c = new Canvas(W);
  let y = c.lines(wrap(d.title, 18, W - 40, true), 20, 30, 24, { size: 18, bold: true });
  y = c.lines(wrap(d.subtitle, 12, W - 40), 20, y - 4, 16, { fill: '#555555' });

  // ---- panel A: speed-up against workers ----
  const kMax = Math.max(16, ...d.processes.map((r) => r.k), ...d.threads.map((r) => r.k));
  const speed = (r: ScalingRun) => d.t1 / r.ms;
  const sMax = Math.max(4, Math.ceil(Math.max(amdahl(d.serialFraction, kMax), ...d.processes.map(speed), ...d.threads.map(speed), d.cpus) + 0.5));
  const ax0 = 70;
  const ax1 = 490;
  const ayTop = y + 26;
  const ay1 = ayTop + 260;
  const px = (k: number) => ax0 + ((k - 1) / (kMax - 1)) * (ax1 - ax0);
  const py = (s: number) => ay1 - (s / sMax) * (ay1 - ayTop);
  c.text({ x: ax0 - 8, y: ayTop - 12, text: 'speed-up  T1 / Tk', bold: true });
  c.raw(`<line x1="${ax0}" y1="${ay1}" x2="${ax1}" y2="${ay1}" stroke="#999999"/><line x1="${ax0}" y1="${ayTop}" x2="${ax0}" y2="${ay1}" stroke="#999999"/>`);
  const sStep = niceStep(sMax / 8);
  for (let s = 0; s <= sMax + 1e-9; s += sStep) {
    c.raw(`<line x1="${ax0}" y1="${n1(py(s))}" x2="${ax1}" y2="${n1(py(s))}" stroke="#eeeeee"/>`);
    c.text({ x: ax0 - 6, y: py(s) + 4, text: `${s}×`, anchor: 'end', fill: '#666666' });
  }
  const kStep = kMax > 16 ? 2 : 1;
  for (let k = 1; k <= kMax; k += kStep) {
    c.raw(`<line x1="${n1(px(k))}" y1="${ay1}" x2="${n1(px(k))}" y2="${ay1 + 4}" stroke="#999999"/>`);
    c.text({ x: px(k), y: ay1 + 17, text: String(k), anchor: 'middle', fill: '#666666' });
  }
  c.text({ x: (ax0 + ax1) / 2, y: ay1 + 35, text: 'workers k (processes or threads)', anchor: 'middle' });
  // the CPUs this process may use
  c.raw(`<line x1="${n1(px(d.cpus))}" y1="${ayTop}" x2="${n1(px(d.cpus))}" y2="${ay1}" stroke="${COLORS.cpus}" stroke-dasharray="4,3"/>`);
  c.text({ x: px(d.cpus) + 4, y: ayTop + 12, text: `${d.cpus} CPU${d.cpus === 1 ? '' : 's'} here`, fill: COLORS.cpus, size: 11, halo: true });
  // ideal and Amdahl
  c.raw(`<path d="M${n1(px(1))},${n1(py(1))} L${n1(px(Math.min(kMax, sMax)))},${n1(py(Math.min(kMax, sMax)))}" stroke="${COLORS.ideal}" stroke-dasharray="6,4" fill="none"/>`);
  const curve = Array.from({ length: 61 }, (_, i) => 1 + ((kMax - 1) * i) / 60).map((k) => `${n1(px(k))},${n1(py(amdahl(d.serialFraction, k)))}`);
  c.raw(`<path d="M${curve.join(' L')}" stroke="${COLORS.amdahl}" stroke-width="1.6" fill="none"/>`);
  const series = (runs: ScalingRun[], color: string) => {
    if (runs.length === 0) return;
    c.raw(`<path d="M${runs.map((r) => `${n1(px(r.k))},${n1(py(speed(r)))}`).join(' L')}" stroke="${color}" stroke-width="2" fill="none"/>`);
    for (const r of runs) c.raw(`<circle cx="${n1(px(r.k))}" cy="${n1(py(speed(r)))}" r="4" fill="${color}"><title>k=${r.k}: ${fmtMs(r.ms)}, ${speed(r).toFixed(2)}×</title></circle>`);
  };
  series(d.threads, COLORS.threads);
  series(d.processes, COLORS.processes);
  const asyncS = d.t1 / d.asyncMs;
  c.raw(`<rect x="${n1(px(1) - 5)}" y="${n1(py(asyncS) - 5)}" width="10" height="10" fill="${COLORS.async}"><title>one async loop: ${fmtMs(d.asyncMs)}, ${asyncS.toFixed(2)}×</title></rect>`);
  const legendA = drawLegend(
    c,
    [
      { swatchW: 24, label: 'processes (Pool)', swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${COLORS.processes}" stroke-width="2"/><circle cx="${lx + 11}" cy="${yy}" r="4" fill="${COLORS.processes}"/>` },
      { swatchW: 24, label: 'worker threads', swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${COLORS.threads}" stroke-width="2"/><circle cx="${lx + 11}" cy="${yy}" r="4" fill="${COLORS.threads}"/>` },
      { swatchW: 12, label: 'one async loop', swatch: (lx, yy) => `<rect x="${lx + 1}" y="${yy - 5}" width="10" height="10" fill="${COLORS.async}"/>` },
      { swatchW: 24, label: `Amdahl, serial part ${(d.serialFraction * 100).toFixed(1)} %`, swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${COLORS.amdahl}" stroke-width="1.6"/>` },
      { swatchW: 24, label: 'ideal: k×', swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${COLORS.ideal}" stroke-dasharray="6,4"/>` },
    ],
    ax0 - 50,
    ay1 + 60,
    ax1 - ax0 + 50,
  );

  // ---- the table, right of the plot ----
  const tx = 545;
  const header = ['k', 'processes', 'speed-up', 'efficiency', 'threads', 'speed-up', 'Amdahl'];
  const rows: string[][] = [];
  const ks = [...new Set([...d.processes.map((r) => r.k), ...d.threads.map((r) => r.k)])].sort((a, b) => a - b);
  for (const k of ks) {
    const p = d.processes.find((r) => r.k === k);
    const t = d.threads.find((r) => r.k === k);
    rows.push([
      String(k),
      p ? fmtMs(p.ms) : '',
      p ? `${speed(p).toFixed(2)}×` : '',
      p ? `${((speed(p) / k) * 100).toFixed(0)} %` : '',
      t ? fmtMs(t.ms) : '',
      t ? `${speed(t).toFixed(2)}×` : '',
      `${amdahl(d.serialFraction, k).toFixed(2)}×`,
    ]);
  }
  rows.push(['1 loop', fmtMs(d.asyncMs), `${asyncS.toFixed(2)}×`, '', '', '', '']);
  const colW = header.map((h, i) => Math.max(textWidth(h, 12, true), ...rows.map((r) => textWidth(r[i]!, 12))) + 14);
  let cx = tx;
  const colX = colW.map((w) => {
    const x0 = cx;
    cx += w;
    return x0 + w - 14; // right-aligned columns
  });
  c.text({ x: tx, y: ayTop - 12, text: `Tk: wall time with k workers (T1 = ${fmtMs(d.t1)})`, bold: true });
  header.forEach((h, i) => c.text({ x: colX[i]!, y: ayTop + 12, text: h, anchor: 'end', bold: true }));
  c.raw(`<line x1="${tx}" y1="${ayTop + 18}" x2="${cx - 14}" y2="${ayTop + 18}" stroke="#bbbbbb"/>`);
  rows.forEach((r, j) => r.forEach((cell, i) => cell && c.text({ x: colX[i]!, y: ayTop + 34 + j * 18, text: cell, anchor: 'end' })));
  const notes = wrap(
    `Amdahl's law: with a serial part f, k workers give at most 1 / (f + (1 − f) / k), never more than 1 / f = ${(1 / Math.max(d.serialFraction, 1e-9)).toFixed(1)}×. ` +
      `Beyond ${d.cpus} workers there are no more CPUs to run them: the speed-up stops growing. One async loop runs the tasks one after another on one thread. ` +
      `Measured with load average ${d.load}: other programs shared the CPUs.`,
    12,
    W - 20 - tx,
  );
  const notesY = ayTop + 34 + rows.length * 18 + 12;
  const tableBottom = c.lines(notes, tx, notesY, 16, { fill: '#555555' });

  // ---- panel B: static vs dynamic load balancing ----
  let gy = Math.max(ay1 + 60 + legendA, tableBottom) + 24;
  c.text({ x: 20, y: gy, text: 'Load balancing: the same uneven tasks (task i costs i units), static chunks vs one task at a time', bold: true });
  gy += 12;
  const labelOf = (mode: string, j: number, pid: number) => `${mode} · worker ${j + 1} (pid ${pid})`;
  const groups = d.balance.map((b) => {
    const pids = [...new Set(b.tasks.slice().sort((x, y2) => x.start - y2.start).map((t) => t.pid))];
    return { b, pids };
  });
  const gLeft = Math.ceil(Math.max(160, ...groups.flatMap((g) => g.pids.map((pid, j) => textWidth(labelOf(`${g.b.mode} (chunk ${g.b.chunkSize})`, j, pid), 12)))) + 30);
  const gRight = W - 24;
  const tMax = Math.max(1, ...d.balance.flatMap((b) => [b.makespanMs, ...b.tasks.map((t) => t.end)]));
  const gx = (t: number) => gLeft + (Math.max(0, t) / tMax) * (gRight - gLeft);
  const rowH = 22;
  for (const g of groups) {
    gy += 26;
    const mode = `${g.b.mode} (chunk ${g.b.chunkSize})`;
    const header2 = `${mode}: makespan ${fmtMs(g.b.makespanMs)}`;
    c.text({ x: gLeft, y: gy - 8, text: header2, size: 11, fill: '#37474f', bold: true });
    const top = gy;
    g.pids.forEach((pid, j) => {
      const yy = top + j * rowH;
      c.text({ x: gLeft - 10, y: yy + 15, text: labelOf(mode, j, pid), anchor: 'end' });
      const tasks = g.b.tasks.filter((t) => t.pid === pid).sort((a, b2) => a.start - b2.start);
      tasks.forEach((t, n) => {
        const w = Math.max(1, gx(t.end) - gx(t.start));
        const fill = n % 2 ? '#81c784' : '#388e3c';
        c.raw(`<rect class="bar" x="${n1(gx(t.start))}" y="${yy + 3}" width="${n1(w)}" height="16" fill="${fill}"><title>task ${t.i} (${t.units} units): ${fmtMs(t.start)}–${fmtMs(t.end)}</title></rect>`);
        const label = String(t.i);
        if (textWidth(label, 10) + 4 <= w) c.text({ x: gx(t.start) + w / 2, y: yy + 15, text: label, anchor: 'middle', size: 10, fill: '#ffffff', cls: 'in-bar' });
      });
    });
    const bottom = top + g.pids.length * rowH;
    c.raw(`<line x1="${n1(gx(g.b.makespanMs))}" y1="${top}" x2="${n1(gx(g.b.makespanMs))}" y2="${bottom + 2}" stroke="#c62828" stroke-width="1.5"/>`);
    gy = bottom;
  }
  // time axis of the Gantt chart
  gy += 10;
  c.raw(`<line x1="${gLeft}" y1="${gy}" x2="${gRight}" y2="${gy}" stroke="#999999"/>`);
  let step = niceStep(tMax / 8);
  const tickTexts = (s: number) => Array.from({ length: Math.floor(tMax / s + 1e-9) + 1 }, (_, i) => fmtMs(i * s));
  while ((step / tMax) * (gRight - gLeft) < 1.5 * Math.max(...tickTexts(step).map((t) => textWidth(t, 12))) + 12) step = niceStep(step * 1.01);
  for (let t = 0; t <= tMax + 1e-9; t += step) {
    const w = textWidth(fmtMs(t), 12);
    c.raw(`<line x1="${n1(gx(t))}" y1="${gy}" x2="${n1(gx(t))}" y2="${gy + 4}" stroke="#999999"/>`);
    c.text({ x: Math.min(gx(t), gRight - w / 2), y: gy + 18, text: fmtMs(t), anchor: 'middle', fill: '#666666' });
  }
  c.text({ x: gRight, y: gy + 36, text: 'time since map() was called (each task timed by the worker that ran it); red line: the makespan, when the last task ends', anchor: 'end', fill: '#666666' });
  return c.render(gy + 52);
}
