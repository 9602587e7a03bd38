// Reads a lab picture's geometry back from the SVG text: every <text> (position, size, weight, anchor,
// content) as the box its glyphs occupy (DejaVu Sans metrics, lib/tools/labs/text-metrics.ts), and every state bar.
// problems() lists what a reader would see as broken: two texts that overlap, a text outside the canvas,
// a text over a state bar (other than the labels drawn inside a bar on purpose, which must stay inside it).
import { type Box, textBox } from '../../lib/tools/labs/svg.js';

export interface SvgText extends Box {
  text: string;
  cls: string | null;
}

const attr = (tag: string, name: string): string | null => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? null;
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

export function readSvg(svg: string): { width: number; height: number; texts: SvgText[]; bars: Box[] } {
  const root = /<svg [^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(attr(root, 'width'));
  const height = Number(attr(root, 'height'));
  const rootSize = Number(attr(root, 'font-size') ?? 12);
  const texts: SvgText[] = [];
  for (const m of svg.matchAll(/<text\b([^>]*)>(?:<title>[^<]*<\/title>)?([^<]*)<\/text>/g)) {
    const tag = m[1]!;
    const spec = {
      x: Number(attr(tag, 'x')),
      y: Number(attr(tag, 'y')),
      text: unescape(m[2]!),
      size: Number(attr(tag, 'font-size') ?? rootSize),
      bold: attr(tag, 'font-weight') === 'bold',
      anchor: (attr(tag, 'text-anchor') ?? 'start') as 'start' | 'middle' | 'end',
    };
    texts.push({ ...textBox(spec), text: spec.text, cls: attr(tag, 'class') });
  }
  const bars: Box[] = [];
  for (const m of svg.matchAll(/<rect\b([^>]*class="bar"[^>]*)>/g)) {
    const x0 = Number(attr(m[1]!, 'x'));
    const y0 = Number(attr(m[1]!, 'y'));
    bars.push({ x0, y0, x1: x0 + Number(attr(m[1]!, 'width')), y1: y0 + Number(attr(m[1]!, 'height')) });
  }
  return { width, height, texts, bars };
}

/** Boxes that share an area (touching edges, within 0.05 px, do not count). */
export function intersect(a: Box, b: Box): boolean {
  const e = 0.05;
  return a.x0 < b.x1 - e && b.x0 < a.x1 - e && a.y0 < b.y1 - e && b.y0 < a.y1 - e;
}

const inside = (a: Box, b: Box) => a.x0 >= b.x0 - 0.05 && a.x1 <= b.x1 + 0.05 && a.y0 >= b.y0 - 0.05 && a.y1 <= b.y1 + 0.05;

export function problems(svg: string): string[] {
  const { width, height, texts, bars } = readSvg(svg);
  const out: string[] = [];
  const show = (t: SvgText) => `"${t.text}" [${t.x0.toFixed(1)},${t.y0.toFixed(1)} – ${t.x1.toFixed(1)},${t.y1.toFixed(1)}]`;
  if (!(width > 0 && height > 0)) out.push(`no canvas size (${width}×${height})`);
  if (texts.length === 0) out.push('no text at all');
  for (let i = 0; i < texts.length; i++) {
    const a = texts[i]!;
    if (!inside(a, { x0: 0, y0: 0, x1: width, y1: height })) out.push(`outside the ${width}×${height} canvas: ${show(a)}`);
    for (let j = i + 1; j < texts.length; j++) if (intersect(a, texts[j]!)) out.push(`overlap: ${show(a)} and ${show(texts[j]!)}`);
    if (a.cls === 'in-bar') {
      if (!bars.some((b) => inside(a, b))) out.push(`an in-bar label not inside a bar: ${show(a)}`);
    } else {
      for (const b of bars) if (intersect(a, b)) out.push(`text over a state bar: ${show(a)}`);
    }
  }
  return out;
}
