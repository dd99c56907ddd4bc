// Audit: what operators did and every configuration reload (DESIGN §18), newest first,
// filtered by actor and kind; operators only.

import { getJson, session } from '../api.js';
import { h, message, table, field } from '../dom.js';
import { timeElement } from '../time.js';

const KINDS = ['refund.resolved', 'statement.settled', 'refund.approved', 'refund.rejected',
  'refund_batch.created', 'config.reloaded'];

/** A short readable form of an entry's detail: `key: value` pairs, nested values as JSON. */
function detailText(detail) {
  return Object.entries(detail ?? {})
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join('; ');
}

/** The audit log page. */
export async function auditView(params, { go }) {
  if (!session.isOperator()) {
    return h('div', {}, h('h1', {}, 'Audit'), message('error', 'The audit log is for operators.'));
  }
  const actor = h('input', { id: 'audit-actor', name: 'actor', value: params.actor ?? '', placeholder: 'finance, signal, cli' });
  const kind = h('select', { id: 'audit-kind', name: 'kind' },
    h('option', { value: '' }, 'Every kind'),
    ...KINDS.map((k) => h('option', { value: k, selected: params.kind === k }, k)));
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the audit log' },
    field('Actor', actor), field('Kind', kind),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go('/audit', { actor: actor.value.trim(), kind: kind.value });
  });
  const page = await getJson('/v1/audit_events', {
    actor: params.actor, kind: params.kind, limit: 50, starting_after: params.after,
  }, { scoped: false });
  const rows = (page.data ?? []).map((event) => [
    timeElement(event.created_at), event.actor, event.kind,
    event.target && event.target.startsWith('rf_')
      ? h('a', { href: `#/refunds/${encodeURIComponent(event.target)}` }, event.target)
      : (event.target ?? '—'),
    detailText(event.detail),
  ]);
  const last = page.data?.[page.data.length - 1];
  const more = page.has_more && last
    ? h('p', {}, h('a', { id: 'audit-more', href: '#', onclick: (e) => {
      e.preventDefault();
      go('/audit', { actor: params.actor, kind: params.kind, after: last.id });
    } }, 'Older entries'))
    : null;
  return h('div', {}, h('h1', {}, 'Audit'), form,
    rows.length ? table('Audit log, newest first', ['When', 'Actor', 'Kind', 'Target', 'Detail'], rows,
      { className: 'audit' })
      : message('notice', 'No audit entries match.'),
    more);
}
