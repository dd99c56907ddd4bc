// Statements: upload a provider's statement (in its configured format: CSV, GBK, batches and
// fees included), see the variance report grouped by kind (amounts, line numbers, the members
// of a batch that did not add up), download the variances as CSV; an operator's import settles.

import { postCsv, session } from '../api.js';
import { h, field, table, message, errorMessage } from '../dom.js';
import { formatAmount, formatAmounts } from '../money.js';
import { toCsv, saveFile } from '../csv.js';
import { periodFields, periodParams, readPeriod, describePeriod } from '../period.js';

/** The kinds of DESIGN §10 in the order shown, and whether `expected`/`actual` are amounts. */
export const KINDS = [
  ['missing_in_gateway', 'Missing in the gateway', 'Lines of the statement that match no refund of the gateway.', true],
  ['missing_in_statement', 'Missing in the statement', 'Refunds that succeeded in the period and are absent from the statement.', true],
  ['amount_mismatch', 'Amount mismatch', 'Expected is the gateway’s amount, actual the statement’s.', true],
  ['status_mismatch', 'Status mismatch', 'Expected is the gateway’s status, actual the statement’s.', false],
  ['currency_mismatch', 'Currency mismatch', 'Expected is the gateway’s currency, actual the statement’s.', false],
  ['batch_mismatch', 'Batch mismatch', 'Settlement batches whose total is not their member refunds’ sum: expected is the gateway’s sum, actual the statement’s total. None of their members is settled.', true],
];

export const VARIANCE_COLUMNS = ['kind', 'line', 'refund_id', 'provider_refund_id', 'expected', 'actual', 'currency', 'batch', 'members'];

/** A batch's members in one cell: `line:refund` (the gateway's id, else the statement's key). */
export function membersCell(members) {
  return (members ?? []).map((m) => `${m.line}:${m.refund_id ?? m.provider_refund_id ?? '-'}`).join(' ');
}

/** The variances as CSV rows in `VARIANCE_COLUMNS` order (raw values, not formatted). */
export function varianceCsv(report) {
  return toCsv(VARIANCE_COLUMNS, (report.variances ?? []).map((v) =>
    VARIANCE_COLUMNS.map((c) => (c === 'members' ? membersCell(v.members) : v[c]))));
}

function refundLink(id) {
  return id ? h('a', { href: `#/refunds/${encodeURIComponent(id)}`, class: 'mono' }, id) : '—';
}

function settlementText(report) {
  const s = report.settlement;
  if (s === null || s === undefined) {
    return message('info', 'Variance report only: nothing was settled (settling takes an operator key).');
  }
  const fees = s.fees_posted ? `; ${s.fees_posted} fee(s) posted` : '';
  return message('notice', `Settled ${s.settled} line(s); ${s.already_settled} already settled by an earlier import${fees}.`);
}

/** The members of a batch that did not add up, as a nested table. */
function membersTable(v) {
  const rows = (v.members ?? []).map((m) => [
    m.line ?? '—', refundLink(m.refund_id), h('span', { class: 'mono' }, m.provider_refund_id ?? '—'),
    formatAmount(m.expected, v.currency), formatAmount(m.actual, v.currency),
  ]);
  return table(`Members of batch ${v.batch}`, ['Line', 'Refund', 'Provider refund id', 'Gateway', 'Statement'], rows,
    { numeric: [0, 3, 4], className: 'batch-members' });
}

function kindSection(report, [kind, title, explanation, amounts]) {
  const items = (report.variances ?? []).filter((v) => v.kind === kind);
  const totals = report.by_kind?.[kind] ?? { count: items.length, amounts: [] };
  if (!totals.count && !items.length) return null;
  const show = (value, currency) => (amounts ? formatAmount(value, currency) : (value ?? '—'));
  const batches = kind === 'batch_mismatch';
  const rows = items.map((v) => [
    v.line ?? '—', batches ? h('span', { class: 'mono' }, v.batch ?? '—') : refundLink(v.refund_id),
    batches ? String(v.members?.length ?? 0) : h('span', { class: 'mono' }, v.provider_refund_id ?? '—'),
    show(v.expected, v.currency), show(v.actual, v.currency), v.currency ?? '—',
  ]);
  const heads = batches
    ? ['Line', 'Batch', 'Members', 'Expected', 'Actual', 'Currency']
    : ['Line', 'Refund', 'Provider refund id', 'Expected', 'Actual', 'Currency'];
  return h('section', { class: `variances kind-${kind}`, 'aria-labelledby': `kind-${kind}` },
    h('h3', { id: `kind-${kind}` }, `${title}: ${totals.count}`,
      totals.amounts?.length ? h('span', { class: 'hint' }, ` (${formatAmounts(totals.amounts)})`) : null),
    h('p', { class: 'hint' }, explanation),
    table(null, heads, rows,
      { numeric: amounts ? [0, 3, 4] : [0], className: 'variance-table' }),
    batches ? items.map(membersTable) : null,
    totals.count > items.length ? h('p', { class: 'hint' }, `${items.length} of ${totals.count} listed.`) : null);
}

/** The report of one import. */
export function reportView(report, fileName) {
  const variances = report.variances ?? [];
  const download = h('button', {
    type: 'button', id: 'download-variances', class: 'secondary', disabled: !variances.length,
    onclick: () => saveFile(new Blob([varianceCsv(report)], { type: 'text/csv' }),
      `variances-${report.provider}-${new Date().toISOString().slice(0, 10)}.csv`),
  }, 'Download variances (CSV)');
  const malformed = report.malformed ?? [];
  const period = report.period ? `${report.period.from} – ${report.period.to} (UTC)` : 'none (missing_in_statement not checked)';
  return h('section', { class: 'report', id: 'report', 'aria-labelledby': 'report-h' },
    h('h2', { id: 'report-h' }, `Report: ${fileName}`),
    settlementText(report),
    h('dl', { class: 'fields' },
      h('dt', {}, 'Provider'), h('dd', {}, report.provider),
      h('dt', {}, 'Period'), h('dd', {}, period),
      h('dt', {}, 'Lines'), h('dd', {}, String(report.lines ?? 0)),
      h('dt', {}, 'Matched'), h('dd', {}, `${report.matched?.count ?? 0} (${formatAmounts(report.matched?.amounts)})`),
      h('dt', {}, 'Batches'), h('dd', { id: 'batch-count' }, `${report.batches?.count ?? 0} (${report.batches?.matched ?? 0} matched)`),
      h('dt', {}, 'Fees'), h('dd', { id: 'fees' }, report.fees?.count ? `${report.fees.count} (${formatAmounts(report.fees.amounts)})` : '—'),
      h('dt', {}, 'Variances'), h('dd', { id: 'variance-count' }, String(variances.length)),
      h('dt', {}, 'Malformed lines'), h('dd', {}, String(report.malformed_count ?? malformed.length))),
    h('div', { class: 'actions' }, download),
    variances.length ? KINDS.map((kind) => kindSection(report, kind)) : h('p', { class: 'empty' }, 'No variances: the statement matches.'),
    malformed.length ? h('section', { 'aria-labelledby': 'malformed-h' },
      h('h3', { id: 'malformed-h' }, `Malformed lines: ${report.malformed_count ?? malformed.length}`),
      table(null, ['Line', 'Why'], malformed.map((m) => [String(m.line), m.message]), { numeric: [0] })) : null);
}

/** The upload form and, after an upload, its report. */
export async function statementsView() {
  const operator = session.isOperator();
  const provider = h('input', { type: 'text', id: 'st-provider', name: 'provider', required: true, placeholder: 'efundpay', autocomplete: 'off' });
  const file = h('input', { type: 'file', id: 'st-file', name: 'file', accept: '.csv,.txt,text/csv', required: true, 'aria-describedby': 'st-file-note' });
  const button = h('button', { type: 'submit', id: 'st-upload' }, 'Upload and reconcile');
  const feedback = h('div', { class: 'feedback' });
  const result = h('div', { id: 'statement-result' });
  const scope = session.scope();
  const form = h('form', { class: 'filters upload', 'aria-label': 'Statement' },
    field('Provider', provider),
    field('Statement file', file),
    h('p', { class: 'note hint', id: 'st-file-note' }, 'The provider’s file as it sent it, read in that provider’s configured format (without one: CSV with the header provider_refund_id,provider_reference,amount,currency,status,settled_at). The period (optional) is where refunds missing from the statement are looked for.'),
    periodFields('st', {}),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const chosen = file.files?.[0];
    const name = provider.value.trim();
    if (!name || !chosen) {
      feedback.append(message('error', !name ? 'Name the provider whose statement this is.' : 'Choose the statement file.'));
      (name ? file : provider).focus();
      return;
    }
    const period = readPeriod(form);
    button.disabled = true;
    button.textContent = 'Reconciling…';
    result.replaceChildren();
    try {
      const report = await postCsv(`/v1/reconciliation/statements/${encodeURIComponent(name)}`, chosen, periodParams(period));
      result.append(reportView(report, `${chosen.name}, ${describePeriod(period)}`));
      result.querySelector('h2')?.focus?.();
    } catch (error) {
      feedback.append(error.code === 'parameter_missing' && error.param === 'merchant'
        ? message('error', 'This provider has accounts per merchant: choose the merchant (top right) and upload again.')
        : errorMessage(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Upload and reconcile';
    }
  });
  return h('div', {},
    h('h1', {}, 'Statements'),
    h('p', { class: 'lead' }, operator
      ? `As an operator, an import also settles the matched lines${scope ? ` of merchant ${scope}` : ''}.`
      : 'The variance report of a provider’s statement against your refunds.'),
    form, feedback, result);
}
