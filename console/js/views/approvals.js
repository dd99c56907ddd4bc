// Approvals (DESIGN §19): the refunds an approval rule holds, oldest first, for operators to
// approve (sent at once) or reject (with a reason), each after a confirmation.

import { getAll, postJson, session } from '../api.js';
import { h, table, message, errorMessage } from '../dom.js';
import { formatAmount } from '../money.js';
import { timeElement } from '../time.js';

/** The dialog deciding `refund`: `action` is `approve` or `reject`. */
function decideDialog(refund, action, { notifyNext, rerender }) {
  const approving = action === 'approve';
  const dialog = h('dialog', { id: 'decide-dialog', 'aria-labelledby': 'decide-title' });
  const feedback = h('div', { class: 'feedback' });
  const text = h('textarea', { id: 'decide-text', name: approving ? 'note' : 'reason', rows: 3, maxlength: 255, required: !approving });
  const form = h('form', { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'decide-text' },
      approving ? 'Note (optional, kept in the history and the audit log)' : 'Reason (kept in the history and the audit log)'), text),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Review…'),
      h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel')));
  const confirmBox = h('div', { class: 'confirm', hidden: true });
  let body = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    const given = text.value.trim();
    if (!approving && !given) {
      feedback.append(message('error', 'Give a reason.'));
      text.focus();
      return;
    }
    body = approving ? (given ? { note: given } : {}) : { reason: given };
    const amount = formatAmount(refund.amount, refund.currency);
    const confirmButton = h('button', { type: 'button', class: approving ? null : 'danger', id: 'decide-confirm', onclick: submit },
      approving ? `Approve and send ${amount}` : 'Reject');
    confirmBox.replaceChildren(
      h('p', {}, `${approving ? 'Approve' : 'Reject'} refund `, h('span', { class: 'mono' }, refund.id),
        ` of ${amount} (merchant ${refund.merchant_id}, payment `, h('span', { class: 'mono' }, refund.payment_id), ')?'),
      given ? h('p', {}, `${approving ? 'Note' : 'Reason'}: “${given}”.`) : null,
      h('p', { class: 'warning' }, approving
        ? `It is sent to ${refund.provider} at once: money leaves.`
        : 'It is canceled and never sent; its amount becomes refundable again.'),
      h('div', { class: 'actions' }, confirmButton,
        h('button', { type: 'button', class: 'secondary', onclick: back }, 'Back')));
    form.hidden = true;
    confirmBox.hidden = false;
    confirmButton.focus();
  });

  function back() {
    confirmBox.hidden = true;
    form.hidden = false;
    text.focus();
  }

  async function submit(event) {
    const button = event.currentTarget;
    button.disabled = true;
    feedback.replaceChildren();
    try {
      const decided = await postJson(`/v1/refunds/${encodeURIComponent(refund.id)}/${action}`, body);
      dialog.close();
      notifyNext(approving
        ? `Refund ${decided.id} approved: now ${decided.status}${decided.pending_reason ? ` (${decided.pending_reason})` : ''}.`
        : `Refund ${decided.id} rejected: canceled.`);
      rerender();
    } catch (error) {
      button.disabled = false;
      feedback.append(error.code === 'not_awaiting_approval'
        ? message('error', 'This refund no longer awaits approval (decided or expired meanwhile); nothing was changed.')
        : errorMessage(error));
    }
  }

  dialog.append(h('h2', { id: 'decide-title' }, approving ? 'Approve refund' : 'Reject refund'), form, confirmBox, feedback);
  dialog.addEventListener('close', () => dialog.remove());
  return dialog;
}

/** The approval queue. */
export async function approvalsView(_params, context) {
  if (!session.isOperator()) {
    return h('div', {}, h('h1', {}, 'Approvals'), message('error', 'Approvals are for operators.'));
  }
  const { items, truncated } = await getAll('/v1/refunds', { pending_reason: 'awaiting_approval' });
  // The list is newest first; the queue is worked oldest first.
  items.reverse();
  const open = (refund, action) => {
    const dialog = decideDialog(refund, action, context);
    document.body.append(dialog);
    dialog.showModal();
  };
  const rows = items.map((refund) => [
    timeElement(refund.created_at),
    refund.merchant_id,
    h('a', { href: `#/refunds/${encodeURIComponent(refund.id)}`, class: 'mono' }, refund.id),
    refund.provider,
    h('span', { class: 'mono' }, refund.payment_id),
    formatAmount(refund.amount, refund.currency),
    refund.reason ?? '—',
    h('span', { class: 'actions' },
      h('button', { type: 'button', class: 'approve', dataset: { refund: refund.id }, onclick: () => open(refund, 'approve') }, 'Approve…'),
      h('button', { type: 'button', class: 'secondary reject', dataset: { refund: refund.id }, onclick: () => open(refund, 'reject') }, 'Reject…')),
  ]);
  return h('div', {}, h('h1', {}, 'Approvals'),
    h('p', { class: 'hint' }, 'Refunds an approval rule holds, oldest first: nothing is sent until one is approved.'),
    rows.length
      ? table(`${rows.length} refund${rows.length === 1 ? '' : 's'} awaiting approval`,
        ['Since', 'Merchant', 'Refund', 'Provider', 'Payment', 'Amount', 'Reason', ''], rows,
        { numeric: [5], className: 'approvals' })
      : message('notice', 'No refund awaits approval.'),
    truncated ? h('p', { class: 'hint' }, 'Only the first refunds are shown.') : null);
}
