// The lab pictures. renderSvg draws a lab's timeline: one lane per process over time, the process's state along
// its lane, arrows for fork, exit/wait, signals, messages, wait-for edges and re-parenting, and lines across
// all lanes for moments that concern everyone (a barrier's opening). Everything drawn comes from recorded
// events.
//
// Labels never overlap: each is measured (DejaVu Sans metrics, text-metrics.ts) and placed in a band of
// rows above its lane (a mark or a signal above the lane it concerns, a barrier's opening above all lanes);
// within a band the labels are packed first-fit by their left edge, so a label that would touch another
// goes one row up and the band grows. test/labs.test.ts checks the geometry of every lab's picture.
import { ASCENT, DESCENT, textWidth } from './text-metrics.js';
import type { TimelineEvent } from './timeline.js';

// ---------------------------------------------------------------------------------------------------------
// Text, measured

export interface TextSpec {
  x: number;
  /** The baseline. */
  y: number;
  text: string;
  size?: number;
  bold?: boolean;
  anchor?: 'start' | 'middle' | 'end';
  fill?: string;
  /** A white outline under the glyphs, so that a label stays readable over lines. */
  halo?: boolean;
  /** 'in-bar': text drawn inside a state bar on purpose. */
  cls?: string;
  /** A tooltip. */
  title?: string;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The box a text occupies: its advance width, from the ascender to the descender. */
export function textBox(t: Pick<TextSpec, 'x' | 'y' | 'text' | 'size' | 'bold' | 'anchor'>): Box {
  const size = t.size ?? 12;
  const w = textWidth(t.text, size, t.bold);
  const x0 = t.anchor === 'middle' ? t.x - w / 2 : t.anchor === 'end' ? t.x - w : t.x;
  return { x0, y0: t.y - ASCENT * size, x1: x0 + w, y1: t.y + DESCENT * size };
}

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const n1 = (v: number): string => (Math.round(v * 10) / 10).toString();

/** An SVG document being drawn: parts in drawing order; every text carries its size, weight and anchor. */
export class Canvas {
  readonly parts: string[] = [];
  constructor(readonly width: number) {}

  raw(s: string): void {
    this.parts.push(s);
  }

  text(t: TextSpec): Box {
    const size = t.size ?? 12;
    const attrs = [
      `x="${n1(t.x)}"`,
      `y="${n1(t.y)}"`,
      `font-size="${size}"`,
      `font-weight="${t.bold ? 'bold' : 'normal'}"`,
      `text-anchor="${t.anchor ?? 'start'}"`,
      `fill="${t.fill ?? '#212121'}"`,
    ];
    if (t.halo) attrs.push('stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"');
    if (t.cls) attrs.push(`class="${t.cls}"`);
    const title = t.title ? `<title>${esc(t.title)}</title>` : '';
    this.parts.push(`<text ${attrs.join(' ')}>${title}${esc(t.text)}</text>`);
    return textBox(t);
  }

  /** Lines of text from `y` (baseline of the first), `lineH` apart; returns the baseline after the last. */
  lines(lines: string[], x: number, y: number, lineH: number, spec: Omit<TextSpec, 'x' | 'y' | 'text'> = {}): number {
    for (const l of lines) {
      this.text({ ...spec, x, y, text: l });
      y += lineH;
    }
    return y;
  }

  render(height: number): string {
    const h = Math.ceil(height);
    return (
      [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${h}" viewBox="0 0 ${this.width} ${h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
        `<rect width="${this.width}" height="${h}" fill="#ffffff"/>`,
        ...this.parts,
        '</svg>',
      ].join('\n') + '\n'
    );
  }
}

/** Splits `text` into lines no wider than `maxWidth` (at word boundaries; a longer word stands alone). */
export function wrap(text: string, size: number, maxWidth: number, bold = false): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, size, bold) > maxWidth) {
      out.push(line);
      line = word;
    } else line = next;
  }
  if (line) out.push(line);
  return out;
}

/**
 * Rows for intervals [x0, x1] so that no two in one row are closer than `gap`: first fit in order of x0
 * (which uses the fewest rows an interval set allows). Returns each interval's row, in the input's order.
 */
export function packRows(items: { x0: number; x1: number }[], gap = 6): number[] {
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.x0 - items[b]!.x0 || a - b);
  const rowEnd: number[] = [];
  const rows = new Array<number>(items.length);
  for (const i of order) {
    const it = items[i]!;
    let r = rowEnd.findIndex((end) => end + gap <= it.x0);
    if (r < 0) r = rowEnd.push(-Infinity) - 1;
    rowEnd[r] = it.x1;
    rows[i] = r;
  }
  return rows;
}

/** A legend: swatches with labels, flowed into lines within [x, x + maxWidth]; returns the height used. */
export function drawLegend(c: Canvas, items: { swatch: (x: number, yMid: number) => string; swatchW: number; label: string }[], x: number, y: number, maxWidth: number): number {
  const lineH = 20;
  let cx = x;
  let cy = y;
  for (const it of items) {
    const w = it.swatchW + 6 + textWidth(it.label, 12) + 22;
    if (cx > x && cx + w > x + maxWidth) {
      cx = x;
      cy += lineH;
    }
    c.raw(it.swatch(cx, cy - 4));
    c.text({ x: cx + it.swatchW + 6, y: cy, text: it.label });
    cx += w;
  }
  return cy - y + lineH;
}

/** A step of 1, 2 or 5 × 10^k at least `raw`. */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function fmtMs(t: number): string {
  return t >= 1000 ? `${(t / 1000).toFixed(t >= 10_000 ? 0 : 2)} s` : `${t >= 100 ? t.toFixed(0) : t.toFixed(1)} ms`;
}

// ---------------------------------------------------------------------------------------------------------
// The timeline

const FILL: Record<string, string> = {
  running: '#43a047',
  sleeping: '#90caf9',
  blocked: '#ffb300',
  critical: '#7b1fa2',
  stopped: '#fdd835',
  zombie: '#e53935',
};
const STATE_LABEL: Record<string, string> = {
  running: 'running (R)',
  sleeping: 'sleeping (S)',
  blocked: 'waiting for a lock or barrier',
  critical: 'holds the lock',
  stopped: 'stopped (T)',
  zombie: 'zombie (Z)',
};
const ARROW: Record<string, string> = {
  fork: '#37474f',
  reap: '#6d4c41',
  signal: '#d32f2f',
  message: '#1565c0',
  waitfor: '#ef6c00',
  reparent: '#8e24aa',
};
const ARROW_LABEL: Record<string, string> = { fork: 'fork', reap: 'wait (reap)', signal: 'signal', message: 'message', waitfor: 'waits for', reparent: 'adopts' };
const SYNC_COLOR = '#6a1b9a';
const MARK_COLOR = '#263238';

interface Lane {
  pid: number;
  name: string;
  start: number;
  end: number;
  segments: { from: number; to: number; state: string }[];
}

/** A label waiting for a place: in the band of lane `pid` (0: the band above all lanes), at time `t`. */
interface Pending {
  pid: number;
  t: number;
  text: string;
  color: string;
}

const W = 1100;
const LABEL_SIZE = 11;
const ROW_H = 14;
const BAR_H = 16;
const RIGHT = 24;

/** Renders the events as a standalone SVG document (up to the first 'end' event, if there is one). */
export function renderSvg(title: string, subtitle: string, allEvents: TimelineEvent[]): string {
  const cut = allEvents.find((e) => e.kind === 'end');
  const events = cut ? allEvents.filter((e) => e.t <= cut.t && e.kind !== 'end') : allEvents;
  const lanes = new Map<number, Lane>();
  const tEnd = Math.max(1, cut?.t ?? 0, ...events.map((e) => e.t));
  const lane = (pid: number): Lane => {
    let l = lanes.get(pid);
    if (!l) {
      l = { pid, name: `pid ${pid}`, start: Infinity, end: -1, segments: [] };
      lanes.set(pid, l);
    }
    return l;
  };
  const current = new Map<number, { state: string; since: number }>();
  const setState = (pid: number, state: string, t: number) => {
    const l = lane(pid);
    l.start = Math.min(l.start, t);
    const cur = current.get(pid);
    if (cur) {
      if (cur.state === state) return;
      if (t > cur.since) l.segments.push({ from: cur.since, to: t, state: cur.state });
    }
    current.set(pid, { state, since: t });
  };
  const endLane = (pid: number, t: number) => {
    const l = lane(pid);
    const cur = current.get(pid);
    if (cur && t > cur.since) l.segments.push({ from: cur.since, to: t, state: cur.state });
    current.delete(pid);
    l.end = Math.max(l.end, t);
  };

  for (const e of events) {
    switch (e.kind) {
      case 'lane':
        lane(e.pid).name = e.label;
        lane(e.pid).start = Math.min(lane(e.pid).start, e.t);
        break;
      case 'fork':
        lane(e.peer).start = Math.min(lane(e.peer).start, e.t);
        if (!current.has(e.peer)) setState(e.peer, 'running', e.t);
        break;
      case 'state':
        setState(e.pid, e.label, e.t);
        break;
      case 'exit':
        setState(e.pid, 'zombie', e.t);
        break;
      case 'reap':
        endLane(e.peer, e.t);
        break;
      case 'signal':
        if (e.label === 'SIGKILL') setState(e.peer, 'zombie', e.t); // cannot be caught: the target dies on delivery
        break;
      case 'mark': // a process named late (a pool's worker) was there when it marked something
        lane(e.pid).start = Math.min(lane(e.pid).start, e.t);
        break;
      default:
        lane(e.pid);
    }
  }
  for (const [pid] of current) endLane(pid, tEnd);

  const order = [...lanes.values()].filter((l) => l.start !== Infinity || l.segments.length > 0);
  order.sort((a, b) => a.start - b.start);
  const index = new Map(order.map((l, i) => [l.pid, i]));

  // The left column fits the longest lane name.
  const left = Math.ceil(Math.max(120, ...order.map((l) => Math.max(textWidth(l.name, 12, true), textWidth(`pid ${l.pid}`, 12)))) + 24);
  const plotW = W - left - RIGHT;
  const x = (t: number) => left + (Math.max(0, t) / tEnd) * plotW;

  // ---- the labels, by band ----
  const labels: Pending[] = [];
  const sends = new Map<string, TimelineEvent>();
  for (const e of events) if (e.kind === 'send') sends.set(`${e.pid}>${e.peer}#${e.value}`, e);
  const onLane = (pid: number) => index.has(pid);
  for (const e of events) {
    switch (e.kind) {
      case 'mark':
        if (onLane(e.pid)) labels.push({ pid: e.pid, t: e.t, text: e.label, color: MARK_COLOR });
        break;
      case 'reap':
        if (onLane(e.peer) && e.label) labels.push({ pid: e.peer, t: e.t, text: `wait: ${e.label}`, color: ARROW.reap! });
        break;
      case 'signal':
        if (onLane(e.peer) && onLane(e.pid)) labels.push({ pid: e.peer, t: e.t, text: e.label, color: ARROW.signal! });
        break;
      case 'recv':
        if (onLane(e.pid) && onLane(e.peer) && sends.has(`${e.peer}>${e.pid}#${e.value}`)) labels.push({ pid: e.pid, t: e.t, text: e.label, color: ARROW.message! });
        break;
      case 'send':
        if (onLane(e.pid) && onLane(e.peer) && !events.some((r) => r.kind === 'recv' && r.pid === e.peer && r.peer === e.pid && r.value === e.value)) {
          labels.push({ pid: e.peer, t: e.t, text: e.label, color: ARROW.message! });
        }
        break;
      case 'waitfor':
        if (onLane(e.pid) && onLane(e.peer)) labels.push({ pid: e.pid, t: e.t, text: `waits for ${e.label}`, color: ARROW.waitfor! });
        break;
      case 'reparent':
        if (onLane(e.pid) && onLane(e.peer)) labels.push({ pid: e.pid, t: e.t, text: 'adopted', color: ARROW.reparent! });
        break;
      case 'sync':
        labels.push({ pid: 0, t: e.t, text: e.label, color: SYNC_COLOR });
        break;
    }
  }
  // Each label starts just right of its moment, or where there is no room for that, ends just left of it;
  // rows from the packing.
  const placed = labels.map((p) => {
    const w = textWidth(p.text, LABEL_SIZE);
    const x0 = Math.max(left, x(p.t) + 5 + w <= W - RIGHT ? x(p.t) + 5 : x(p.t) - 5 - w);
    return { ...p, x0, x1: x0 + w, row: 0 };
  });
  const bandRows = new Map<number, number>();
  for (const pid of [0, ...order.map((l) => l.pid)]) {
    const mine = placed.filter((p) => p.pid === pid);
    const rows = packRows(mine);
    mine.forEach((p, i) => (p.row = rows[i]!));
    bandRows.set(pid, mine.length ? Math.max(...rows) + 1 : 0);
  }

  // ---- vertical layout ----
  const c = new Canvas(W);
  const titleLines = wrap(title, 18, W - 40, true);
  let y = c.lines(titleLines, 20, 30, 24, { size: 18, bold: true });
  y = c.lines(wrap(subtitle, 12, W - 40), 20, y - 4, 16, { fill: '#555555' });
  const syncRows = bandRows.get(0)!;
  const syncTop = y + 2;
  const lanesTop = syncTop + syncRows * ROW_H + 8;
  const barTop = new Map<number, number>();
  let ly = lanesTop;
  for (const l of order) {
    const rows = bandRows.get(l.pid)!;
    const bt = ly + rows * ROW_H + 14;
    barTop.set(l.pid, bt);
    ly = bt + BAR_H + 12;
  }
  const axisY = ly + 4;
  const yMid = (pid: number) => barTop.get(pid)! + BAR_H / 2;
  /** Baseline of label row `row` of a band whose bottom is `bottom`. */
  const rowBaseline = (bottom: number, row: number) => bottom - row * ROW_H - DESCENT * LABEL_SIZE - 1;

  c.raw('<defs>');
  for (const [k, col] of Object.entries(ARROW)) {
    c.raw(`<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${col}"/></marker>`);
  }
  c.raw('</defs>');

  // ---- time axis: ticks far enough apart for their labels ----
  // (1.5 widths apart: the last label may be pushed left by half its width to stay inside)
  const ticks = (s: number) => Array.from({ length: Math.floor(tEnd / s + 1e-9) + 1 }, (_, i) => i * s);
  let step = niceStep(tEnd / 10);
  while ((step / tEnd) * plotW < 1.5 * Math.max(...ticks(step).map((t) => textWidth(fmtMs(t), 12))) + 12) step = niceStep(step * 1.01);
  c.raw(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#999999"/>`);
  for (const t of ticks(step)) {
    c.raw(`<line x1="${n1(x(t))}" y1="${lanesTop - 4}" x2="${n1(x(t))}" y2="${axisY + 4}" stroke="#eeeeee"/>`);
    const label = fmtMs(t);
    const w = textWidth(label, 12);
    const cx = Math.min(Math.max(x(t), w / 2 + 2), W - RIGHT - w / 2); // the last tick's label stays inside
    c.text({ x: cx, y: axisY + 18, text: label, anchor: 'middle', fill: '#666666' });
  }
  c.text({ x: W - RIGHT, y: axisY + 36, text: 'time (ms since the lab started; each event timed by the process that recorded it)', anchor: 'end', fill: '#666666' });
  const legendY = axisY + (cut ? 80 : 62);
  if (cut) c.text({ x: W - RIGHT, y: axisY + 54, text: `The picture ends here: ${cut.label}`, anchor: 'end', fill: '#666666' });

  // ---- lanes and their states ----
  const used = new Set<string>();
  for (const l of order) {
    const yc = yMid(l.pid);
    c.text({ x: left - 10, y: yc - 2, text: l.name, anchor: 'end', bold: true });
    c.text({ x: left - 10, y: yc + 12, text: `pid ${l.pid}`, anchor: 'end', fill: '#777777' });
    c.raw(`<line x1="${n1(x(Math.max(0, l.start)))}" y1="${yc}" x2="${n1(x(l.end < 0 ? tEnd : l.end))}" y2="${yc}" stroke="#cccccc" stroke-dasharray="2,3"/>`);
    for (const seg of l.segments) {
      const w = Math.max(1, x(seg.to) - x(seg.from));
      used.add(seg.state);
      c.raw(
        `<rect class="bar" x="${n1(x(seg.from))}" y="${yc - BAR_H / 2}" width="${n1(w)}" height="${BAR_H}" rx="3" fill="${FILL[seg.state] ?? '#bdbdbd'}"><title>${esc(`${l.name}: ${seg.state} ${fmtMs(seg.from)}–${fmtMs(seg.to)}`)}</title></rect>`,
      );
      if (seg.state === 'zombie' && textWidth('zombie', 11, true) + 8 <= w) {
        c.text({ x: x(seg.from) + w / 2, y: yc + 4, text: 'zombie', anchor: 'middle', fill: '#ffffff', bold: true, size: 11, cls: 'in-bar' });
      }
    }
  }

  // ---- arrows (unlabelled: the label sits in the band of the lane it concerns) ----
  const kinds = new Set<string>();
  const arrow = (kind: string, t1: number, p1: number, t2: number, p2: number, dashed = false, curve = 0) => {
    if (!index.has(p1) || !index.has(p2)) return;
    kinds.add(kind);
    const x1 = x(t1);
    const y1 = yMid(p1);
    const x2 = x(t2);
    const y2 = yMid(p2) + (y1 < yMid(p2) ? -BAR_H / 2 : y1 > yMid(p2) ? BAR_H / 2 : 0);
    const d = curve ? `M${n1(x1)},${n1(y1)} Q${n1((x1 + x2) / 2 + curve)},${n1((y1 + y2) / 2)} ${n1(x2)},${n1(y2)}` : `M${n1(x1)},${n1(y1)} L${n1(x2)},${n1(y2)}`;
    c.raw(`<path d="${d}" fill="none" stroke="${ARROW[kind]}" stroke-width="1.6"${dashed ? ' stroke-dasharray="5,3"' : ''} marker-end="url(#arrow-${kind})"/>`);
  };
  let cycleCurve = 40;
  for (const e of events) {
    switch (e.kind) {
      case 'fork':
        arrow('fork', e.t, e.pid, e.t, e.peer);
        break;
      case 'reap':
        arrow('reap', e.t, e.peer, e.t, e.pid, true);
        break;
      case 'signal':
        arrow('signal', e.t, e.pid, e.t, e.peer);
        break;
      case 'recv': {
        const snd = sends.get(`${e.peer}>${e.pid}#${e.value}`);
        if (snd) arrow('message', snd.t, snd.pid, e.t, e.pid);
        break;
      }
      case 'send':
        if (!events.some((r) => r.kind === 'recv' && r.pid === e.peer && r.peer === e.pid && r.value === e.value)) arrow('message', e.t, e.pid, e.t, e.peer, true);
        break;
      case 'waitfor':
        arrow('waitfor', e.t, e.pid, e.t, e.peer, false, cycleCurve);
        cycleCurve = -cycleCurve;
        break;
      case 'reparent':
        arrow('reparent', e.t, e.peer, e.t, e.pid, true);
        break;
      case 'mark': {
        if (!index.has(e.pid)) break;
        const top = barTop.get(e.pid)!;
        c.raw(`<path d="M${n1(x(e.t))},${top - 10} l4,5 l-4,5 l-4,-5 z" fill="${MARK_COLOR}"><title>${esc(`${fmtMs(e.t)} ${e.label}`)}</title></path>`);
        break;
      }
      case 'sync':
        c.raw(`<line class="sync" x1="${n1(x(e.t))}" y1="${syncTop}" x2="${n1(x(e.t))}" y2="${axisY}" stroke="${SYNC_COLOR}" stroke-dasharray="6,3" stroke-width="1.5"><title>${esc(`${fmtMs(e.t)} ${e.label}`)}</title></line>`);
        break;
    }
  }

  // ---- the labels, in their rows; a thin leader from the moment up to a label above the first row ----
  for (const p of placed) {
    const bottom = p.pid === 0 ? lanesTop - 6 : barTop.get(p.pid)! - 11;
    const base = rowBaseline(bottom, p.row);
    if (p.pid !== 0 && p.row > 0) {
      c.raw(`<line x1="${n1(x(p.t))}" y1="${n1(bottom)}" x2="${n1(x(p.t))}" y2="${n1(base - ASCENT * LABEL_SIZE * 0.5)}" stroke="${p.color}" stroke-opacity="0.45" stroke-width="0.8"/>`);
    }
    c.text({ x: p.x0, y: base, text: p.text, size: LABEL_SIZE, fill: p.color, halo: true, title: `${fmtMs(p.t)} ${p.text}` });
  }

  // ---- legend: the states and arrows this picture uses ----
  const items: { swatch: (x: number, y: number) => string; swatchW: number; label: string }[] = [];
  for (const [state, col] of Object.entries(FILL)) {
    if (used.has(state)) items.push({ swatchW: 14, label: STATE_LABEL[state]!, swatch: (lx, yy) => `<rect x="${lx}" y="${yy - 6}" width="14" height="12" rx="2" fill="${col}"/>` });
  }
  for (const [k, col] of Object.entries(ARROW)) {
    if (kinds.has(k)) items.push({ swatchW: 24, label: ARROW_LABEL[k]!, swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${col}" stroke-width="1.6" marker-end="url(#arrow-${k})"/>` });
  }
  if (events.some((e) => e.kind === 'mark' && index.has(e.pid))) {
    items.push({ swatchW: 10, label: 'event', swatch: (lx, yy) => `<path d="M${lx + 5},${yy - 5} l4,5 l-4,5 l-4,-5 z" fill="${MARK_COLOR}"/>` });
  }
  if (placed.some((p) => p.pid === 0)) {
    items.push({ swatchW: 24, label: 'a moment for all', swatch: (lx, yy) => `<line x1="${lx}" y1="${yy}" x2="${lx + 22}" y2="${yy}" stroke="${SYNC_COLOR}" stroke-dasharray="6,3" stroke-width="1.5"/>` });
  }
  const legendH = drawLegend(c, items, 20, legendY, W - 40);
  return c.render(legendY + legendH);
}
