// One refund: its fields, breakdown and full history as a timeline; for an operator, a
// pending or processing refund can be resolved by hand (DESIGN §14) after a confirmation.

import { getJson, getAll, postJson, session } from '../api.js';
import { h, table, badge, message, errorMessage } from '../dom.js';
import { formatAmount } from '../money.js';
import { timeElement, utcText } from '../time.js';

const EVENT_FIELDS = new Set(['object', 'id', 'kind', 'status', 'previous_status', 'source', 'detail', 'created_at']);

function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function humanize(word) {
  const spaced = String(word ?? '').replaceAll('_', ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function definitions(pairs, className = 'fields') {
  return h('dl', { class: className }, pairs.filter(Boolean).map(([term, value]) => [
    h('dt', {}, term), h('dd', {}, value instanceof Node ? value : text(value)),
  ]));
}

function fields(refund) {
  const when = (iso) => h('span', {}, timeElement(iso), h('small', { class: 'hint' }, ` ${utcText(iso)}`));
  return definitions([
    ['Status', badge(refund.status)],
    ['Amount', h('span', { class: 'amount' }, formatAmount(refund.amount, refund.currency),
      refund.amount_minor !== null && refund.amount_minor !== undefined ? h('small', { class: 'hint' }, ` (${refund.amount_minor} minor units)`) : null)],
    ['Merchant', refund.merchant_id],
    ['Provider', refund.provider],
    ['Payment', h('a', { href: `#/refunds?payment_id=${encodeURIComponent(refund.payment_id)}`, class: 'mono' }, refund.payment_id)],
    ['Provider refund id', h('span', { class: 'mono' }, text(refund.provider_refund_id))],
    ['Provider reference', h('span', { class: 'mono' }, text(refund.provider_reference))],
    ['Reference', refund.reference],
    ['Reason', refund.reason],
    refund.failure_code || refund.failure_message ? ['Failure', `${text(refund.failure_code)}: ${text(refund.failure_message)}`] : null,
    ['Requires attention', refund.requires_attention ? h('strong', { class: 'flag' }, 'yes') : 'no'],
    ['Created', when(refund.created_at)],
    ['Updated', when(refund.updated_at)],
  ]);
}

function breakdown(refund) {
  const parts = Array.isArray(refund.breakdown) ? refund.breakdown : [];
  if (!parts.length) return h('p', { class: 'empty' }, 'No breakdown reported.');
  const columns = [...new Set(parts.flatMap((part) => Object.keys(part ?? {})))];
  const rows = parts.map((part) => columns.map((column) => {
    if (column === 'amount') return formatAmount(part[column], part.currency ?? refund.currency);
    if (column === 'status') return badge(part[column]);
    return text(part[column]);
  }));
  return table(null, columns.map(humanize), rows, { numeric: [columns.indexOf('amount')].filter((i) => i >= 0) });
}

function metadata(refund) {
  const entries = Object.entries(refund.metadata ?? {});
  if (!entries.length) return h('p', { class: 'empty' }, 'No metadata.');
  return table(null, ['Key', 'Value'], entries.map(([k, v]) => [k, text(v)]));
}

/** The same observation again (a status poll that saw nothing new): all but id and time equal. */
function sameAs(a, b) {
  const strip = ({ id, created_at: at, ...rest }) => JSON.stringify(rest);
  return Boolean(a && b) && strip(a) === strip(b);
}

/** Consecutive repeats of one observation, as `[{event, repeats, last}]`, oldest first. */
export function groupRepeats(events) {
  const groups = [];
  for (const event of events) {
    const previous = groups[groups.length - 1];
    if (previous && sameAs(previous.event, event)) {
      previous.repeats += 1;
      previous.last = event;
    } else {
      groups.push({ event, repeats: 1, last: event });
    }
  }
  return groups;
}

/**
 * One history entry: when, what, the status move, who, and every other field it has; a
 * run of identical observations shows once with how often and until when.
 */
function timelineEntry({ event, repeats, last }) {
  const detail = event.detail && typeof event.detail === 'object' ? Object.entries(event.detail) : [];
  const extra = Object.entries(event).filter(([key, value]) => !EVENT_FIELDS.has(key) && value !== null && value !== undefined);
  const move = event.status
    ? h('span', { class: 'move' }, event.previous_status ? [badge(event.previous_status), ' → '] : null, badge(event.status))
    : null;
  return h('li', { class: `event kind-${event.kind}` },
    h('div', { class: 'event-head' },
      timeElement(event.created_at),
      h('strong', {}, humanize(event.kind)),
      move,
      event.source ? h('span', { class: 'source' }, `by ${event.source}`) : null,
      repeats > 1 ? h('span', { class: 'repeats' }, `${repeats} times, the last at `, timeElement(last.created_at)) : null),
    detail.length || extra.length
      ? definitions([...extra, ...detail].map(([key, value]) => [humanize(key), text(value)]), 'event-detail')
      : null);
}

function resolveDialog(refund, { notifyNext, rerender }) {
  const dialog = h('dialog', { id: 'resolve-dialog', 'aria-labelledby': 'resolve-title' });
  const feedback = h('div', { class: 'feedback' });
  const outcome = (value, label) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'status', value, id: `resolve-${value}`, required: true }), ` ${label}`);
  const reason = h('textarea', { id: 'resolve-reason', name: 'reason', rows: 3, maxlength: 255, required: true });
  const providerId = h('input', { type: 'text', id: 'resolve-provider-refund-id', name: 'provider_refund_id', autocomplete: 'off' });
  const form = h('form', { novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Final status'),
      outcome('succeeded', 'Succeeded: the provider refunded it'),
      outcome('failed', 'Failed: the provider did not refund it')),
    h('div', { class: 'field' }, h('label', { for: 'resolve-reason' }, 'Reason (kept in the history)'), reason),
    h('div', { class: 'field' }, h('label', { for: 'resolve-provider-refund-id' }, 'Provider refund id (optional)'), providerId),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Review…'),
      h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel')));
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  let chosen = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const status = form.elements.status.value;
    const why = reason.value.trim();
    if (!status || !why) {
      feedback.append(message('error', !status ? 'Choose the final status.' : 'Give a reason.'));
      (status ? reason : form.querySelector('input[name=status]')).focus();
      return;
    }
    chosen = { status, reason: why };
    if (providerId.value.trim()) chosen.provider_refund_id = providerId.value.trim();
    const confirmButton = h('button', { type: 'button', class: 'danger', id: 'resolve-confirm', onclick: submit }, `Resolve as ${status}`);
    confirmBox.replaceChildren(
      h('p', {}, 'Resolve refund ', h('span', { class: 'mono' }, refund.id), ` (${formatAmount(refund.amount, refund.currency)}, now ${refund.status}) as `,
        h('strong', {}, status), '?'),
      h('p', {}, `Reason: “${why}”.`),
      h('p', { class: 'warning' }, 'This is final: the refund will never move again; its ledger postings and the merchant’s webhook follow.'),
      h('div', { class: 'actions' }, confirmButton,
        h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')));
    form.hidden = true;
    confirmBox.hidden = false;
    confirmButton.focus();
  });

  function back() {
    confirmBox.hidden = true;
    form.hidden = false;
    reason.focus();
  }

  async function submit(event) {
    const button = event.currentTarget;
    button.disabled = true;
    feedback.replaceChildren();
    try {
      const resolved = await postJson(`/v1/refunds/${encodeURIComponent(refund.id)}/resolve`, chosen);
      dialog.close();
      notifyNext(`Refund ${resolved.id ?? refund.id} resolved as ${resolved.status ?? chosen.status}.`);
      rerender();
    } catch (error) {
      button.disabled = false;
      feedback.append(error.code === 'refund_final'
        ? message('error', 'This refund is already final; nothing was changed. Close and reload to see it.')
        : errorMessage(error));
    }
  }

  dialog.append(h('h2', { id: 'resolve-title' }, 'Resolve refund by hand'), form, confirmBox, feedback);
  dialog.addEventListener('close', () => dialog.remove());
  return dialog;
}

/** The page of refund `id`. */
export async function refundView(id, _params, context) {
  const path = `/v1/refunds/${encodeURIComponent(id)}`;
  const [refund, history] = await Promise.all([getJson(path), getAll(`${path}/events`)]);
  const resolvable = session.isOperator() && ['pending', 'processing'].includes(refund.status);
  const resolveButton = resolvable ? h('button', {
    type: 'button', id: 'resolve', onclick: () => {
      const dialog = resolveDialog(refund, context);
      document.body.append(dialog);
      dialog.showModal();
    },
  }, 'Resolve…') : null;
  return h('div', {},
    h('p', { class: 'crumbs' }, h('a', { href: '#/refunds' }, '← Refunds')),
    h('div', { class: 'title-row' },
      h('h1', {}, 'Refund ', h('span', { class: 'mono' }, refund.id)),
      badge(refund.status), resolveButton),
    h('div', { class: 'grid-2' },
      h('section', { 'aria-labelledby': 'fields-h' }, h('h2', { id: 'fields-h' }, 'Fields'), fields(refund),
        h('h2', {}, 'Breakdown'), breakdown(refund),
        h('h2', {}, 'Metadata'), metadata(refund)),
      h('section', { 'aria-labelledby': 'history-h' },
        h('h2', { id: 'history-h' }, `History (${history.items.length} event${history.items.length === 1 ? '' : 's'})`),
        h('ol', { class: 'timeline', id: 'timeline' }, groupRepeats(history.items).map(timelineEntry)),
        history.truncated ? h('p', { class: 'hint' }, 'Only the first events are shown.') : null)));
}
