// Building DOM nodes without innerHTML: every value from the API becomes text, never markup.

/**
 * Creates an element. `attrs`: `class`, `dataset` (object), `on<event>` (listener),
 * `hidden`/`disabled`/… (booleans), anything else as an attribute. Children: nodes,
 * strings (text), numbers, arrays; null, undefined and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

/** Empties an element. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A label and its control, tied by id. */
export function field(labelText, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, labelText),
    control,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
}

/** A message box; `kind` is `error`, `notice` or `info`. Errors are announced. */
export function message(kind, ...content) {
  return h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...content);
}

/** A table from a header row and rows of cells; `numeric` names right-aligned columns. */
export function table(caption, headers, rows, { numeric = [], className = '' } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: className },
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((text, i) =>
        h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, text)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) =>
        h('td', { class: numeric.includes(i) ? 'num' : null }, cell)))))));
}

/** A status badge. */
export function badge(status) {
  return h('span', { class: `badge status-${status}` }, status ?? '—');
}

/** A readable box for an error: the API's message, with its status, code and request id. */
export function errorMessage(error) {
  if (error?.status) {
    const detail = `${error.status} ${error.code}${error.param ? `, ${error.param}` : ''}${error.requestId ? `; request ${error.requestId}` : ''}`;
    return message('error', error.message, ' ', h('small', { class: 'code' }, `(${detail})`));
  }
  return message('error', error?.message ?? String(error));
}
