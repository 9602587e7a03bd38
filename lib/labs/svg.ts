// The timeline as a picture: one lane per process over time, the process's state along its lane, arrows for
// fork, exit/wait, signals, messages, wait-for edges and re-parenting, and lines across all lanes for moments
// that concern everyone (a barrier's release). Everything drawn comes from recorded events.
import type { TimelineEvent } from './timeline.js';

const FILL: Record<string, string> = {
  running: '#43a047',
  sleeping: '#90caf9',
  blocked: '#ffb300',
  stopped: '#fdd835',
  zombie: '#e53935',
};
const ARROW: Record<string, string> = {
  fork: '#37474f',
  reap: '#6d4c41',
  signal: '#d32f2f',
  message: '#1565c0',
  waitfor: '#ef6c00',
  reparent: '#8e24aa',
};

const ARROW_LABEL: Record<string, string> = { reap: 'wait (reap)', waitfor: 'waits for' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Lane {
  pid: number;
  name: string;
  start: number;
  end: number;
  segments: { from: number; to: number; state: string }[];
}

/** Renders the events as a standalone SVG document. */
export function renderSvg(title: string, subtitle: string, events: TimelineEvent[]): string {
  const lanes = new Map<number, Lane>();
  const tEnd = Math.max(1, ...events.map((e) => e.t));
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
      default:
        lane(e.pid);
    }
  }
  for (const [pid] of current) endLane(pid, tEnd);

  const order = [...lanes.values()].filter((l) => l.start !== Infinity || l.segments.length > 0);
  order.sort((a, b) => a.start - b.start);
  const index = new Map(order.map((l, i) => [l.pid, i]));

  const W = 1100;
  const left = 190;
  const right = 110;
  const top = 70;
  const laneH = 44;
  const barH = 16;
  const plotW = W - left - right;
  const H = top + order.length * laneH + 110;
  const x = (t: number) => left + (t / tEnd) * plotW;
  const yMid = (pid: number) => top + (index.get(pid) ?? 0) * laneH + laneH / 2;

  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  s.push('<defs>');
  for (const [k, c] of Object.entries(ARROW)) {
    s.push(`<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`);
  }
  s.push('</defs>');
  s.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  s.push(`<text x="20" y="28" font-size="18" font-weight="bold">${esc(title)}</text>`);
  s.push(`<text x="20" y="48" fill="#555">${esc(subtitle)}</text>`);

  // time axis
  const axisY = top + order.length * laneH + 8;
  const step = niceStep(tEnd / 10);
  s.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#999"/>`);
  for (let t = 0; t <= tEnd + 1e-9; t += step) {
    s.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${axisY + 4}" stroke="#eee"/>`);
    s.push(`<text x="${x(t)}" y="${axisY + 18}" text-anchor="middle" fill="#666">${fmtMs(t)}</text>`);
  }
  s.push(`<text x="${left + plotW}" y="${axisY + 34}" text-anchor="end" fill="#666">time (ms since the lab started; each event timed by the process that recorded it)</text>`);

  // lanes
  for (const l of order) {
    const y = yMid(l.pid);
    s.push(`<text x="${left - 10}" y="${y - 2}" text-anchor="end" font-weight="bold">${esc(l.name)}</text>`);
    s.push(`<text x="${left - 10}" y="${y + 12}" text-anchor="end" fill="#777">pid ${l.pid}</text>`);
    s.push(`<line x1="${x(Math.max(0, l.start))}" y1="${y}" x2="${x(l.end < 0 ? tEnd : l.end)}" y2="${y}" stroke="#ccc" stroke-dasharray="2,3"/>`);
    for (const seg of l.segments) {
      const w = Math.max(1, x(seg.to) - x(seg.from));
      s.push(
        `<rect x="${x(seg.from).toFixed(1)}" y="${y - barH / 2}" width="${w.toFixed(1)}" height="${barH}" rx="3" fill="${FILL[seg.state] ?? '#bdbdbd'}"><title>${esc(`${l.name}: ${seg.state} ${fmtMs(seg.from)}–${fmtMs(seg.to)}`)}</title></rect>`,
      );
      if (seg.state === 'zombie' && w > 50) {
        s.push(`<text x="${(x(seg.from) + w / 2).toFixed(1)}" y="${y + 4}" text-anchor="middle" fill="#fff" font-weight="bold">zombie</text>`);
      }
    }
  }

  // arrows
  const arrow = (kind: string, t1: number, p1: number, t2: number, p2: number, label?: string, dashed = false, curve = 0) => {
    if (!index.has(p1) || !index.has(p2)) return;
    const x1 = x(t1);
    const y1 = yMid(p1);
    const x2 = x(t2);
    const y2 = yMid(p2) + (y1 < yMid(p2) ? -barH / 2 : y1 > yMid(p2) ? barH / 2 : 0);
    const c = ARROW[kind]!;
    const d = curve ? `M${x1},${y1} Q${(x1 + x2) / 2 + curve},${(y1 + y2) / 2} ${x2},${y2}` : `M${x1},${y1} L${x2},${y2}`;
    s.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.6"${dashed ? ' stroke-dasharray="5,3"' : ''} marker-end="url(#arrow-${kind})"/>`);
    if (label) {
      s.push(`<text x="${((x1 + x2) / 2 + curve / 2 + 4).toFixed(1)}" y="${((y1 + y2) / 2 - 3).toFixed(1)}" fill="${c}" font-size="11">${esc(label)}</text>`);
    }
  };
  const sends = new Map<string, TimelineEvent>();
  for (const e of events) {
    if (e.kind === 'send') sends.set(`${e.pid}>${e.peer}#${e.value}`, e);
  }
  let cycleCurve = 40;
  for (const e of events) {
    switch (e.kind) {
      case 'fork':
        arrow('fork', e.t, e.pid, e.t, e.peer, 'fork');
        break;
      case 'reap':
        arrow('reap', e.t, e.peer, e.t, e.pid, `wait${e.label ? `: ${e.label}` : ''}`, true);
        break;
      case 'signal':
        arrow('signal', e.t, e.pid, e.t, e.peer, e.label);
        break;
      case 'recv': {
        const snd = sends.get(`${e.peer}>${e.pid}#${e.value}`);
        if (snd) arrow('message', snd.t, snd.pid, e.t, e.pid, e.label);
        break;
      }
      case 'send':
        // a message whose receipt was not recorded (a server's): drawn at the moment it was sent
        if (!events.some((r) => r.kind === 'recv' && r.pid === e.peer && r.peer === e.pid && r.value === e.value)) {
          arrow('message', e.t, e.pid, e.t, e.peer, e.label, true);
        }
        break;
      case 'waitfor':
        arrow('waitfor', e.t, e.pid, e.t, e.peer, `waits for ${e.label}`, false, cycleCurve);
        cycleCurve = -cycleCurve;
        break;
      case 'reparent':
        arrow('reparent', e.t, e.peer, e.t, e.pid, 'adopts', true);
        break;
      case 'mark': {
        if (!index.has(e.pid)) break;
        const y = yMid(e.pid);
        s.push(`<path d="M${x(e.t)},${y - barH / 2 - 9} l4,5 l-4,5 l-4,-5 z" fill="#263238"><title>${esc(`${fmtMs(e.t)} ${e.label}`)}</title></path>`);
        s.push(`<text x="${x(e.t) + 5}" y="${y - barH / 2 - 3}" font-size="10" fill="#263238">${esc(e.label)}</text>`);
        break;
      }
      case 'sync':
        s.push(`<line x1="${x(e.t)}" y1="${top - 4}" x2="${x(e.t)}" y2="${axisY}" stroke="#6a1b9a" stroke-dasharray="6,3" stroke-width="1.5"/>`);
        s.push(`<text x="${x(e.t) + 3}" y="${top - 8}" fill="#6a1b9a" font-size="11">${esc(e.label)}</text>`);
        break;
    }
  }

  // legend
  let lx = 20;
  const ly = H - 30;
  for (const [state, c] of Object.entries(FILL)) {
    s.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="12" rx="2" fill="${c}"/><text x="${lx + 18}" y="${ly}">${state}</text>`);
    lx += 30 + state.length * 7;
  }
  for (const [k, c] of Object.entries(ARROW)) {
    s.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${c}" stroke-width="1.6" marker-end="url(#arrow-${k})"/><text x="${lx + 26}" y="${ly}">${ARROW_LABEL[k] ?? k}</text>`);
    lx += 44 + (ARROW_LABEL[k] ?? k).length * 7;
  }
  s.push('</svg>');
  return s.join('\n') + '\n';
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmtMs(t: number): string {
  return t >= 1000 ? `${(t / 1000).toFixed(t >= 10_000 ? 0 : 2)} s` : `${t >= 100 ? t.toFixed(0) : t.toFixed(1)} ms`;
}
