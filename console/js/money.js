// Amounts as the API gives them (decimal strings in major units), shown with the currency's
// exponent by string and BigInt arithmetic only: never through a floating-point number.

let exponents = {};

/** Loads the gateway's exponent table (`currencies.json`, from the ISO 4217 table it uses). */
export async function loadCurrencies() {
  const response = await fetch('currencies.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`currencies.json: HTTP ${response.status}`);
  exponents = await response.json();
}

/** The currency's exponent (2 for EUR, 0 for JPY, 3 for KWD), or undefined if unknown. */
export function exponentOf(currency) {
  return Object.hasOwn(exponents, currency) ? exponents[currency] : undefined;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;
const separators = new Map();

/** The locale's decimal separator, learnt by formatting the integer 1 with one decimal. */
function decimalSeparator(locale) {
  if (!separators.has(locale)) {
    const parts = new Intl.NumberFormat(locale, { minimumFractionDigits: 1 }).formatToParts(1n);
    separators.set(locale, parts.find((p) => p.type === 'decimal')?.value ?? '.');
  }
  return separators.get(locale);
}

/**
 * "1234.5" EUR → "1,234.50 EUR" (grouping and separator of `locale`, the browser's by
 * default). The fraction is padded to the exponent; a string with more digits than the
 * exponent (which the API never sends) is shown as it is, never rounded; anything that is
 * not a decimal string is shown unchanged.
 */
export function formatAmount(amount, currency, locale = undefined) {
  if (amount === null || amount === undefined || amount === '') return '—';
  const text = String(amount);
  const parts = DECIMAL.exec(text);
  if (!parts) return currency ? `${text} ${currency}` : text;
  const [, sign, whole, given = ''] = parts;
  const exponent = exponentOf(currency);
  const fraction = exponent !== undefined && given.length < exponent ? given.padEnd(exponent, '0') : given;
  const grouped = new Intl.NumberFormat(locale, { useGrouping: true }).format(BigInt(whole));
  const number = `${sign}${grouped}${fraction ? decimalSeparator(locale) + fraction : ''}`;
  return currency ? `${number} ${currency}` : number;
}

/** `[{currency, amount}, …]` → "12.99 EUR, 1,000 JPY" (never summed across currencies). */
export function formatAmounts(list, locale = undefined) {
  if (!list?.length) return '—';
  return list.map((a) => formatAmount(a.amount, a.currency, locale)).join(', ');
}
