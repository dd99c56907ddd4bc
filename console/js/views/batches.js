// Bulk refunds (DESIGN §19): a merchant uploads a CSV or NDJSON file of refunds (optionally
// as a dry run, or skipping invalid rows), sees every refused row with its row and column,
// follows the batch's progress and downloads its results.

import { getJson, getFile, postFile, session } from '../api.js';
import { h, table, message, errorMessage, field } from '../dom.js';
import { saveFile } from '../csv.js';

/** How often a running batch's progress is read, in milliseconds. */
const POLL_MS = 500;

function contentTypeOf(file) {
  return /\.(ndjson|jsonl)$/i.test(file.name) ? 'application/x-ndjson' : 'text/csv';
}

/** The refused rows of a `batch_invalid` answer as a table. */
function refusedRows(error) {
  const rows = (error.details?.rows ?? []).map((row) => [
    row.row ?? '—', row.column ?? '—', row.code ?? '—', row.message ?? '']);
  return h('div', { id: 'batch-errors' },
    errorMessage(error),
    error.details?.invalid_rows > rows.length
      ? h('p', { class: 'hint' }, `The first ${rows.length} of ${error.details.invalid_rows} invalid rows:`) : null,
    rows.length ? table('Refused rows', ['Row', 'Column', 'Code', 'Message'], rows, { numeric: [0], className: 'batch-errors' }) : null);
}

/** A dry run's answer: what each row would do. */
function preview(body) {
  const rows = (body.rows ?? []).map((row) => row.error
    ? [row.row, '—', '—', '—', `${row.error.code}: ${row.error.message}`]
    : [row.row, row.provider, row.amount ? `${row.amount} ${row.currency}` : '(the rest)', row.awaiting_approval ? 'yes' : 'no', '']);
  return h('div', { id: 'batch-preview' },
    message('info', `Dry run: ${body.valid} of ${body.total} rows would be created; nothing was created.`),
    table('What each row would do', ['Row', 'Provider', 'Amount', 'Awaits approval', 'Error'], rows,
      { numeric: [0], className: 'batch-preview' }));
}

/** The progress of batch `id`, polled until it completes, with the results' downloads. */
function progress(initial) {
  const bar = h('progress', { id: 'batch-progress', max: Math.max(1, initial.total), value: 0 });
  const label = h('p', { id: 'batch-progress-text', role: 'status' });
  const downloads = h('div', { class: 'actions', id: 'batch-downloads', hidden: true });
  const feedback = h('div', { class: 'feedback' });
  const box = h('section', { 'aria-labelledby': 'batch-h', class: 'batch' },
    h('h2', { id: 'batch-h' }, 'Batch ', h('span', { class: 'mono', id: 'batch-id' }, initial.id)),
    bar, label, downloads, feedback);

  const download = (format) => h('button', {
    type: 'button', id: `batch-results-${format}`, class: 'secondary',
    onclick: async () => {
      feedback.replaceChildren();
      try {
        const { blob, name } = await getFile(`/v1/refund_batches/${encodeURIComponent(initial.id)}/results`, { format });
        saveFile(blob, name ?? `${initial.id}-results.${format}`);
      } catch (error) {
        feedback.append(errorMessage(error));
      }
    },
  }, format === 'csv' ? 'Download results (CSV)' : 'Download results (JSON Lines)');
  downloads.append(download('csv'), download('jsonl'));

  const show = (batch) => {
    const done = batch.created + batch.failed_rows;
    bar.value = done;
    const counts = Object.entries(batch.counts ?? {}).map(([status, n]) => `${n} ${status}`).join(', ');
    label.textContent = `${batch.status === 'completed' ? 'Completed' : 'Running'}: ${done} of ${batch.total} rows done `
      + `(${batch.created} created, ${batch.failed_rows} failed)${counts ? `; refunds: ${counts}` : ''}.`;
    downloads.hidden = batch.status !== 'completed';
    return batch.status === 'completed';
  };
  const poll = async () => {
    if (!box.isConnected && box.dataset.started) return;
    box.dataset.started = 'yes';
    try {
      const batch = await getJson(`/v1/refund_batches/${encodeURIComponent(initial.id)}`, {}, { scoped: false });
      if (!show(batch)) setTimeout(poll, POLL_MS);
    } catch (error) {
      feedback.replaceChildren(errorMessage(error));
      setTimeout(poll, POLL_MS * 4);
    }
  };
  show(initial);
  if (initial.status !== 'completed') setTimeout(poll, POLL_MS);
  return box;
}

/** The upload page. */
export async function batchesView() {
  if (session.isOperator()) {
    return h('div', {}, h('h1', {}, 'Bulk refunds'),
      message('error', 'A batch is uploaded with the merchant’s key: refunds are the merchant’s to make.'));
  }
  const file = h('input', { type: 'file', id: 'batch-file', name: 'file', accept: '.csv,.ndjson,.jsonl,text/csv,application/x-ndjson', required: true });
  const dryRun = h('input', { type: 'checkbox', id: 'batch-dry-run', name: 'dry_run' });
  const skipInvalid = h('input', { type: 'checkbox', id: 'batch-skip-invalid', name: 'skip_invalid' });
  const button = h('button', { type: 'submit', id: 'batch-upload' }, 'Upload');
  const result = h('div', { id: 'batch-result' });
  const form = h('form', { class: 'filters', 'aria-label': 'Upload a batch' },
    field('File (CSV or NDJSON, at most 10,000 rows and 8 MiB)', file),
    h('label', { class: 'choice' }, dryRun, ' Dry run: say what each row would do, create nothing'),
    h('label', { class: 'choice' }, skipInvalid, ' Skip invalid rows (create the others)'),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) {
      result.append(message('error', 'Choose a file.'));
      return;
    }
    button.disabled = true;
    button.textContent = 'Uploading…';
    // One key per file and options: uploading the same file again answers the same batch.
    const key = dryRun.checked ? undefined
      : `console:${chosen.size}:${chosen.lastModified}:${skipInvalid.checked}:${chosen.name}`.replace(/[^!-~]/g, '_').slice(0, 255);
    try {
      const params = { dry_run: dryRun.checked ? 'true' : '', skip_invalid: skipInvalid.checked ? 'true' : '' };
      const { body } = await postFile('/v1/refund_batches', chosen, contentTypeOf(chosen), params, key);
      result.append(body.object === 'refund_batch_preview' ? preview(body) : progress(body));
    } catch (error) {
      result.append(error.code === 'batch_invalid' ? refusedRows(error) : errorMessage(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Upload';
    }
  });
  return h('div', {}, h('h1', {}, 'Bulk refunds'),
    h('p', { class: 'lead' }, 'A header row of refund fields (payment_id, amount, currency, reason, …, metadata.<key>, an optional idempotency_key), one refund a row. Every row is checked before anything is created.'),
    form, result);
}
