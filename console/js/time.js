// Times from the API (RFC 3339, UTC) shown in the browser's zone, with UTC on hover.

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** "2026-11-23 10:00:00 UTC" from an RFC 3339 time. */
export function utcText(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The time in the browser's zone. */
export function localText(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : local.format(date);
}

/** A `<time>` element: local time as text, UTC in its title. */
export function timeElement(iso) {
  const el = document.createElement('time');
  if (!iso) {
    el.textContent = '—';
    return el;
  }
  el.dateTime = iso;
  el.title = utcText(iso);
  el.textContent = localText(iso);
  return el;
}

/** The browser's offset from UTC now, e.g. "UTC+01:00". */
export function zoneLabel() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `UTC${sign}${hh}:${mm}`;
}
