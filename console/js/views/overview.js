// Overview: the reconciliation summary of a period (provider × currency × status), clearing
// balances, the ageing of open refunds as a chart, the refunds that need attention, and the
// provider accounts whose circuit breaker is open or whose queue holds refunds never sent.

import { getJson } from '../api.js';
import { h, table, badge, message, errorMessage } from '../dom.js';
import { formatAmount } from '../money.js';
import { timeElement } from '../time.js';
import { periodFields, periodParams, readPeriod, describePeriod } from '../period.js';
import { ageingChart, BUCKETS, SERIES } from '../chart.js';

function refundLink(id) {
  return h('a', { href: `#/refunds/${encodeURIComponent(id)}`, class: 'mono' }, id);
}

function byStatus(summary, period) {
  const rows = (summary.by_status ?? []).map((row) => [
    row.provider,
    row.currency,
    h('a', {
      href: `#/refunds?${new URLSearchParams(Object.entries({
        provider: row.provider, currency: row.currency, status: row.status, from: period.from, to: period.to,
      }).filter(([, v]) => v))}`,
      'aria-label': `${row.status} refunds of ${row.provider} in ${row.currency}`,
    }, badge(row.status)),
    String(row.count),
    h('span', {}, formatAmount(row.amount, row.currency),
      row.amount_unknown_count ? h('small', { class: 'hint' }, ` + ${row.amount_unknown_count} full refund(s) of unknown amount`) : null),
  ]);
  return h('section', { 'aria-labelledby': 'by-status-h' },
    h('h2', { id: 'by-status-h' }, 'Refunds by provider, currency and status'),
    rows.length ? table(null, ['Provider', 'Currency', 'Status', 'Count', 'Amount'], rows, { numeric: [3, 4], className: 'by-status' })
      : h('p', { class: 'empty' }, 'No refunds were created in this period.'));
}

function balances(summary) {
  const rows = (summary.clearing_balances ?? []).map((b) => [b.provider, b.currency, formatAmount(b.balance, b.currency)]);
  return h('section', { 'aria-labelledby': 'clearing-h' },
    h('h2', { id: 'clearing-h' }, 'Clearing balances'),
    h('p', { class: 'hint' }, 'As of the end of the period. Negative: refunds the provider reported succeeded that no statement has settled yet.'),
    rows.length ? table(null, ['Provider', 'Currency', 'Balance'], rows, { numeric: [2], className: 'clearing' })
      : h('p', { class: 'empty' }, 'No ledger postings yet.'));
}

function ageing(summary) {
  const rows = SERIES.map((series) => [series, ...BUCKETS.map(([bucket]) => String(summary.ageing?.[series]?.[bucket] ?? 0))]);
  return h('section', { 'aria-labelledby': 'ageing-h' },
    h('h2', { id: 'ageing-h' }, 'Ageing of open refunds'),
    h('p', { class: 'hint' }, 'Every refund still pending or processing now, whatever the period.'),
    h('figure', { class: 'chart-box' }, ageingChart(summary.ageing ?? {})),
    h('details', {}, h('summary', {}, 'The same as a table'),
      table(null, ['Status', ...BUCKETS.map(([, label]) => label)], rows, { numeric: [1, 2, 3, 4] })));
}

function attention(summary) {
  const flagged = summary.requires_attention ?? { count: 0, refunds: [] };
  const rows = (flagged.refunds ?? []).map((r) => [
    refundLink(r.id), r.merchant_id, r.provider, formatAmount(r.amount, r.currency), badge(r.status), timeElement(r.created_at),
  ]);
  return h('section', { 'aria-labelledby': 'attention-h' },
    h('h2', { id: 'attention-h' }, `Requires attention (${flagged.count ?? 0})`),
    rows.length ? table(null, ['Refund', 'Merchant', 'Provider', 'Amount', 'Status', 'Created'], rows, { numeric: [3], className: 'attention' })
      : h('p', { class: 'empty' }, 'No refund is flagged for finance.'),
    flagged.count > rows.length ? h('p', { class: 'hint' }, `The first ${rows.length} are shown.`) : null);
}

function duplicates(summary) {
  const found = summary.possible_duplicates ?? { count: 0, refunds: [] };
  if (!found.count) return null;
  const rows = found.refunds.map((d) => [refundLink(d.refund_id), refundLink(d.duplicate_of), d.payment_id,
    formatAmount(d.amount, d.currency), timeElement(d.created_at)]);
  return h('section', { 'aria-labelledby': 'duplicates-h' },
    h('h2', { id: 'duplicates-h' }, `Possible duplicates (${found.count})`),
    h('p', { class: 'hint' }, 'A refund without Idempotency-Key within 10 minutes of one of the same payment, amount and currency.'),
    table(null, ['Refund', 'May duplicate', 'Payment', 'Amount', 'Created'], rows, { numeric: [3] }));
}

const BREAKER_WORDS = { closed: 'Closed (sending)', open: 'Open (queueing)', half_open: 'Half-open (probing)' };

/** Provider accounts that are not sending normally: an open breaker, or refunds queued. */
function outages(accounts) {
  if (!accounts) return null;
  const notable = accounts.filter((a) => a.breaker !== 'closed' || a.queued > 0);
  const open = accounts.filter((a) => a.breaker !== 'closed').length;
  const queued = accounts.reduce((sum, a) => sum + (a.queued ?? 0), 0);
  const rows = notable.map((a) => [
    a.provider, h('span', { class: 'mono' }, a.account),
    h('span', { class: `badge breaker-${a.breaker}` }, BREAKER_WORDS[a.breaker] ?? a.breaker),
    String(a.queued ?? 0),
    a.oldest_queued_at ? timeElement(a.oldest_queued_at) : '—',
  ]);
  return h('section', { 'aria-labelledby': 'outages-h', class: 'outages' },
    h('h2', { id: 'outages-h' }, `Provider outages (${open} open, ${queued} queued)`),
    h('p', { class: 'hint' }, 'While an account\'s breaker is open its new refunds wait unsent in its queue (pending, provider_unavailable); they go out oldest first once it closes. A queued refund may still be canceled.'),
    rows.length ? table(null, ['Provider', 'Account', 'Breaker', 'Queued', 'Oldest queued'], rows, { numeric: [3], className: 'breakers' })
      : h('p', { class: 'empty' }, `Every provider account is sending normally (${accounts.length} account(s)); no refund is queued.`));
}

/** The overview of the period in `params` (`from`, `to`: local days). */
export async function overviewView(params, { go }) {
  const period = { from: params.from ?? '', to: params.to ?? '' };
  const form = h('form', { class: 'filters', 'aria-label': 'Period' },
    periodFields('overview', period),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Show'),
      h('button', { type: 'button', class: 'secondary', onclick: () => go('/overview') }, 'All time')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go('/overview', readPeriod(form));
  });
  let summary;
  const accounts = getJson('/v1/provider_accounts', {}, { scoped: false })
    .then((list) => list.data ?? [], () => null);
  try {
    summary = await getJson('/v1/reconciliation/summary', periodParams(period));
  } catch (error) {
    if (!error.status || error.status >= 500 || error.status === 401) throw error;
    return h('div', {}, h('h1', {}, 'Overview'), form, errorMessage(error));
  }
  return h('div', {},
    h('h1', {}, 'Overview'),
    h('p', { class: 'lead' }, `Refunds created ${describePeriod(period)}`,
      summary.merchant_id ? ` · merchant ${summary.merchant_id}` : ''),
    form,
    summary.by_status === undefined ? message('error', 'The summary has an unexpected shape.') : null,
    outages(await accounts),
    h('div', { class: 'grid-2' }, byStatus(summary, period), balances(summary)),
    h('div', { class: 'grid-2' }, ageing(summary), h('div', {}, attention(summary), duplicates(summary))));
}
