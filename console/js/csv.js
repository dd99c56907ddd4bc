// CSV for spreadsheets (RFC 4180 quoting), with cells a spreadsheet would run as a formula
// neutralized as the gateway's export does (DESIGN §15), and saving a Blob as a file.

/** One cell: a leading `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`. */
export function csvCell(value) {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  if (/[",\r\n]/.test(text)) text = `"${text.replaceAll('"', '""')}"`;
  return text;
}

/** A header row and rows → CSV text with CRLF line ends. */
export function toCsv(header, rows) {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Records in CSV text (the header excluded), counting quoted line breaks as data. */
export function countCsvRecords(text) {
  let records = 0;
  let quoted = false;
  let inRecord = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === '\n' && !quoted) {
      if (inRecord) records += 1;
      inRecord = false;
    } else if (ch !== '\r') {
      inRecord = true;
    }
  }
  if (inRecord) records += 1;
  return Math.max(0, records - 1);
}

/** Offers a Blob as a download named `name`. */
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
