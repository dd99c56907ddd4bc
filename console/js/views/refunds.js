// Refunds: filters (provider, status, currency, period, payment, reference) kept in the URL,
// cursor paging newest first (`starting_after`), each refund linked to its page.

import { getJson, session } from '../api.js';
import { h, field, table, badge, errorMessage } from '../dom.js';
import { formatAmount } from '../money.js';
import { timeElement } from '../time.js';
import { periodFields, periodParams, readPeriod } from '../period.js';

const PAGE = 25;
const STATUSES = ['pending', 'processing', 'succeeded', 'failed', 'canceled'];
const FILTERS = ['provider', 'status', 'currency', 'from', 'to', 'payment_id', 'reference'];

function filterForm(params, go) {
  const text = (name, label, attrs = {}) => field(label, h('input', {
    type: 'text', id: `f-${name}`, name, value: params[name] ?? '', autocomplete: 'off', ...attrs,
  }));
  const status = h('select', { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'Any'),
    STATUSES.map((s) => h('option', { value: s, selected: params.status === s }, s)));
  const form = h('form', { class: 'filters', 'aria-label': 'Filters' },
    text('provider', 'Provider', { placeholder: 'efundpay' }),
    field('Status', status),
    text('currency', 'Currency', { maxlength: 3, placeholder: 'EUR', class: 'short' }),
    periodFields('f', params),
    text('payment_id', 'Payment'),
    text('reference', 'Reference'),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Filter'),
      h('button', { type: 'button', class: 'secondary', onclick: () => go('/refunds') }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = { ...readPeriod(form) };
    for (const name of ['provider', 'status', 'currency', 'payment_id', 'reference']) {
      values[name] = form.elements[name].value.trim();
    }
    values.currency = values.currency.toUpperCase();
    go('/refunds', values);
  });
  return form;
}

/** The first page's place in the trail of cursors. */
const FIRST = '-';

/**
 * The list for the filters and cursor in `params`: `after` is the cursor of this page,
 * `trail` the cursors of the pages before it (`-` for the first), so "Newer" works after a
 * reload too.
 */
export async function refundListView(params, { go }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params[name] ?? '']));
  const { from, to, ...rest } = filters;
  let page;
  try {
    page = await getJson('/v1/refunds', {
      ...rest, ...periodParams({ from, to }, 'created_gte', 'created_lt'), limit: PAGE, starting_after: params.after,
    });
  } catch (error) {
    // A filter the API refuses (an unknown currency, say): keep the form to correct it.
    if (!error.status || error.status >= 500 || error.status === 401) throw error;
    return h('div', {}, h('h1', {}, 'Refunds'), filterForm(filters, go), errorMessage(error));
  }
  const operator = session.isOperator();
  const trail = (params.trail ?? '').split(',').filter(Boolean);
  const refunds = page.data ?? [];
  const rows = refunds.map((r) => [
    timeElement(r.created_at),
    h('a', { href: `#/refunds/${encodeURIComponent(r.id)}`, class: 'mono' }, r.id),
    operator ? r.merchant_id : null,
    r.provider,
    h('span', { class: 'mono' }, r.payment_id),
    formatAmount(r.amount, r.currency),
    h('span', {}, badge(r.status), r.requires_attention ? h('span', { class: 'flag', title: 'requires attention' }, ' ⚑ attention') : null),
    r.reference ?? '',
  ].filter((cell) => cell !== null));
  const headers = ['Created', 'Refund', operator ? 'Merchant' : null, 'Provider', 'Payment', 'Amount', 'Status', 'Reference']
    .filter(Boolean);
  const older = () => go('/refunds', {
    ...filters, after: refunds[refunds.length - 1].id, trail: [...trail, params.after || FIRST].join(','),
  });
  const newer = () => {
    const before = trail[trail.length - 1];
    go('/refunds', {
      ...filters, after: before === FIRST ? undefined : before, trail: trail.slice(0, -1).join(','),
    });
  };
  const pageNumber = trail.length + 1;
  return h('div', {},
    h('h1', {}, 'Refunds'),
    filterForm(filters, go),
    rows.length
      ? table(`Page ${pageNumber}, newest first: ${rows.length} refund(s)`, headers, rows, { numeric: [headers.indexOf('Amount')], className: 'refunds' })
      : h('p', { class: 'empty' }, params.after ? 'No more refunds.' : 'No refund matches these filters.'),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', class: 'secondary', disabled: !params.after, onclick: newer }, '← Newer'),
      h('span', {}, `Page ${pageNumber}`),
      h('button', { type: 'button', class: 'secondary', disabled: !page.has_more, onclick: older }, 'Older →')));
}
