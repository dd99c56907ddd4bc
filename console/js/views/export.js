// Export: the period's refunds as CSV or JSON Lines, downloaded with the signed-in key.

import { getFile } from '../api.js';
import { h, message, errorMessage } from '../dom.js';
import { countCsvRecords, saveFile } from '../csv.js';
import { periodFields, periodParams, readPeriod, describePeriod } from '../period.js';

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KiB`;
  return `${Math.round(bytes / 104857.6) / 10} MiB`;
}

/** The export form. */
export async function exportView() {
  const format = (value, label, checked) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'format', value, id: `ex-${value}`, checked }), ` ${label}`);
  const button = h('button', { type: 'submit', id: 'ex-download' }, 'Download');
  const feedback = h('div', { class: 'feedback', id: 'export-result' });
  const form = h('form', { class: 'filters', 'aria-label': 'Export' },
    periodFields('ex', {}),
    h('fieldset', {}, h('legend', {}, 'Format'),
      format('csv', 'CSV (spreadsheets)', true), format('jsonl', 'JSON Lines (one refund object per line)', false)),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const period = readPeriod(form);
    const chosen = form.elements.format.value || 'csv';
    feedback.replaceChildren();
    button.disabled = true;
    button.textContent = 'Exporting…';
    try {
      const { blob } = await getFile('/v1/refunds/export', { ...periodParams(period), format: chosen });
      const text = await blob.text();
      const count = chosen === 'csv' ? countCsvRecords(text) : text.split('\n').filter((line) => line.trim()).length;
      const name = `refunds-${period.from || 'start'}-to-${period.to || 'now'}.${chosen}`;
      saveFile(blob, name);
      feedback.append(message('notice', `Downloaded ${name}: ${count} refund(s), ${size(blob.size)}, created ${describePeriod(period)}.`));
    } catch (error) {
      feedback.append(errorMessage(error));
    } finally {
      button.disabled = false;
      button.textContent = 'Download';
    }
  });
  return h('div', {},
    h('h1', {}, 'Export'),
    h('p', { class: 'lead' }, 'Every refund created in the period, newest first, as the gateway’s export (spreadsheet formulas neutralized).'),
    form, feedback);
}
