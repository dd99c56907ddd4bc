// The ageing of open refunds (pending and processing, by age bucket) as an SVG bar chart,
// with a title and description for screen readers and a title on every bar.

import { s } from './dom.js';

export const BUCKETS = [
  ['under_15m', 'under 15 min'],
  ['under_24h', '15 min – 24 h'],
  ['under_7d', '1 – 7 days'],
  ['older', 'over 7 days'],
];
export const SERIES = ['pending', 'processing'];

/** A tick step that gives at most about five integer ticks up to `max`. */
function tickStep(max) {
  const raw = Math.max(1, Math.ceil(max / 5));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw);
}

/** The chart for `ageing` (`{pending: {under_15m, …}, processing: {…}}`). */
export function ageingChart(ageing, id = 'ageing') {
  const width = 640;
  const height = 260;
  const margin = { top: 24, right: 16, bottom: 48, left: 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const count = (series, bucket) => Number(ageing?.[series]?.[bucket] ?? 0);
  const max = Math.max(1, ...SERIES.flatMap((series) => BUCKETS.map(([b]) => count(series, b))));
  const step = tickStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (value) => margin.top + plotH - (value / top) * plotH;
  const groupW = plotW / BUCKETS.length;
  const barW = Math.min(48, (groupW - 24) / SERIES.length);
  const total = SERIES.reduce((sum, series) => sum + BUCKETS.reduce((t, [b]) => t + count(series, b), 0), 0);
  const description = SERIES.map((series) => `${series}: ${BUCKETS.map(([b, label]) => `${count(series, b)} ${label}`).join(', ')}`).join('; ');

  const ticks = [];
  for (let value = 0; value <= top; value += step) {
    ticks.push(
      s('line', { x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value), class: 'grid' }),
      s('text', { x: margin.left - 8, y: y(value) + 4, class: 'tick', 'text-anchor': 'end' }, String(value)),
    );
  }
  const groups = BUCKETS.map(([bucket, label], i) => {
    const x0 = margin.left + i * groupW + (groupW - barW * SERIES.length) / 2;
    const bars = SERIES.map((series, j) => {
      const value = count(series, bucket);
      const x = x0 + j * barW;
      return s('g', { class: `bar bar-${series}`, dataset: { series, bucket, count: String(value) } },
        s('rect', { x: x + 2, y: y(value), width: barW - 4, height: Math.max(0, y(0) - y(value)) },
          s('title', {}, `${series}, ${label}: ${value}`)),
        s('text', { x: x + barW / 2, y: y(value) - 6, 'text-anchor': 'middle', class: 'value' }, String(value)));
    });
    return s('g', {}, bars,
      s('text', { x: margin.left + i * groupW + groupW / 2, y: height - margin.bottom + 18, 'text-anchor': 'middle', class: 'label' }, label));
  });
  const legend = SERIES.map((series, j) => s('g', { class: `bar-${series}` },
    s('rect', { x: margin.left + j * 120, y: height - 18, width: 12, height: 12 }),
    s('text', { x: margin.left + j * 120 + 18, y: height - 8, class: 'label' }, series)));

  return s('svg', {
    id, class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`, preserveAspectRatio: 'xMinYMin meet',
  },
  s('title', { id: `${id}-title` }, `Open refunds by age: ${total} in all`),
  s('desc', { id: `${id}-desc` }, description),
  ticks,
  s('line', { x1: margin.left, x2: width - margin.right, y1: y(0), y2: y(0), class: 'axis' }),
  groups,
  legend);
}
