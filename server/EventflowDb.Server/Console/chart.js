// A small line chart in SVG: the last minutes of one series, y from 0 to a rounded maximum.
import { svg } from './dom.js';

const W = 600, H = 160, LEFT = 44, RIGHT = 8, TOP = 10, BOTTOM = 22;

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function label(value) {
  if (value >= 1000) return `${+(value / 1000).toFixed(1)}k`;
  return `${+value.toFixed(value < 10 ? 2 : 0)}`;
}

/** points: [{t: ms epoch, v: number|null}]; windowMs: the time the x axis spans, ending now. */
export function lineChart(points, windowMs, now = Date.now()) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
  const values = points.filter(p => p.v !== null && p.t >= now - windowMs);
  const max = niceMax(Math.max(0, ...values.map(p => p.v)));
  const x = t => LEFT + ((t - (now - windowMs)) / windowMs) * (W - LEFT - RIGHT);
  const y = v => TOP + (1 - v / max) * (H - TOP - BOTTOM);

  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', { class: 'chart-grid', x1: LEFT, x2: W - RIGHT, y1: y(max * f), y2: y(max * f) }));
    root.append(svg('text', { class: 'chart-label', x: LEFT - 6, y: y(max * f) + 4, 'text-anchor': 'end' }, label(max * f)));
  }
  const span = windowMs >= 90_000 ? `${Math.round(windowMs / 60000)} min ago` : `${Math.round(windowMs / 1000)} s ago`;
  root.append(svg('text', { class: 'chart-label', x: LEFT, y: H - 5 }, span));
  root.append(svg('text', { class: 'chart-label', x: W - RIGHT, y: H - 5, 'text-anchor': 'end' }, 'now'));

  if (values.length >= 2) {
    const line = values.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    const first = values[0], last = values[values.length - 1];
    const area = `${line} L${x(last.t).toFixed(1)},${y(0)} L${x(first.t).toFixed(1)},${y(0)} Z`;
    root.append(svg('path', { class: 'chart-area', d: area }));
    root.append(svg('path', { class: 'chart-line', d: line, 'vector-effect': 'non-scaling-stroke' }));
  }
  return root;
}
