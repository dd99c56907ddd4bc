// A period chosen as calendar days in the browser's zone (from, to inclusive), turned into
// the API's `[from, to)` RFC 3339 instants.

import { h, field } from './dom.js';
import { zoneLabel } from './time.js';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The start of a local calendar day "YYYY-MM-DD" (plus `days`) as an RFC 3339 UTC instant. */
export function dayStart(day, days = 0) {
  const parts = DAY.exec(day ?? '');
  if (!parts) return undefined;
  const [, y, m, d] = parts.map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** `{from, to}` days → API parameters named `fromName`/`toName`; `to` is inclusive. */
export function periodParams({ from, to }, fromName = 'from', toName = 'to') {
  return { [fromName]: dayStart(from), [toName]: dayStart(to, 1) };
}

/** A human description of a period. */
export function describePeriod({ from, to }) {
  if (from && to) return `${from} to ${to} (${zoneLabel()})`;
  if (from) return `from ${from} (${zoneLabel()})`;
  if (to) return `until ${to} (${zoneLabel()})`;
  return 'all time';
}

/**
 * Two date fields, "From" and "To (inclusive)", with ids `${prefix}-from`/`${prefix}-to`,
 * and a note (shown at the end of the form) on the zone the days are in.
 */
export function periodFields(prefix, { from = '', to = '' } = {}) {
  const note = h('p', { class: 'note hint', id: `${prefix}-zone` }, `Days are in your time zone, ${zoneLabel()}; the period includes both days.`);
  const fromInput = h('input', { type: 'date', id: `${prefix}-from`, name: 'from', value: from, 'aria-describedby': note.id });
  const toInput = h('input', { type: 'date', id: `${prefix}-to`, name: 'to', value: to, 'aria-describedby': note.id });
  return [field('From', fromInput), field('To (inclusive)', toInput), note];
}

/** Reads the period fields of a form (empty strings when not set). */
export function readPeriod(form) {
  return { from: form.elements.from?.value ?? '', to: form.elements.to?.value ?? '' };
}
