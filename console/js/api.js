// The JSON API as the console calls it: the key (sessionStorage only) as the Bearer token,
// an operator's merchant narrowing (`?merchant=`), and errors in the API's shape.

const KEY = 'rg.key';
const PRINCIPAL = 'rg.principal';
const SCOPE = 'rg.merchant';

/** An error answer of the API (or `status` 0 when the gateway could not be reached). */
export class ApiError extends Error {
  constructor(status, code, message, param, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
    this.requestId = requestId;
  }
}

/** Who is signed in, and which merchant an operator is looking at ('' = every merchant). */
export const session = {
  key: () => sessionStorage.getItem(KEY),
  principal() {
    try {
      return JSON.parse(sessionStorage.getItem(PRINCIPAL) ?? 'null');
    } catch {
      return null;
    }
  },
  isOperator() {
    return this.principal()?.role === 'operator';
  },
  scope: () => sessionStorage.getItem(SCOPE) ?? '',
  setScope(merchant) {
    if (merchant) sessionStorage.setItem(SCOPE, merchant);
    else sessionStorage.removeItem(SCOPE);
  },
  signIn(key, principal) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(PRINCIPAL, JSON.stringify(principal));
    sessionStorage.removeItem(SCOPE);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(PRINCIPAL);
    sessionStorage.removeItem(SCOPE);
  },
};

let onUnauthorized = () => {};

/** Called when the signed-in key is refused (revoked, or the gateway's config changed). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** Builds an API URL: empty parameters are left out; an operator's narrowing is added. */
export function apiUrl(path, params = {}, { scoped = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  if (scoped && session.isOperator() && session.scope()) {
    url.searchParams.set('merchant', session.scope());
  }
  return url;
}

async function request(path, { method = 'GET', params, body, contentType, key, scoped = true, idempotencyKey } = {}) {
  const bearer = key ?? session.key();
  const headers = { Authorization: `Bearer ${bearer}`, Accept: 'application/json' };
  if (contentType) headers['Content-Type'] = contentType;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let response;
  try {
    response = await fetch(apiUrl(path, params, { scoped }), {
      method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The gateway could not be reached.');
  }
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error ?? {};
    } catch {
      // Not the API's shape (a proxy in between): keep the HTTP status.
    }
    const failure = new ApiError(response.status, error.code ?? `http_${response.status}`,
      error.message ?? response.statusText, error.param, error.request_id);
    // The whole error object: some carry more (batch_invalid's `rows`, `invalid_rows`).
    failure.details = error;
    if (response.status === 401 && key === undefined) onUnauthorized(failure);
    throw failure;
  }
  return response;
}

/** GET a JSON answer. */
export async function getJson(path, params, options) {
  return (await request(path, { ...options, params })).json();
}

/** GET a download (export): the body as a Blob and the answer's file name. */
export async function getFile(path, params) {
  const response = await request(path, { params });
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1];
  return { blob: await response.blob(), name };
}

/** POST a JSON body (an action on one object: never narrowed by merchant); the JSON answer. */
export async function postJson(path, body) {
  const response = await request(path, {
    method: 'POST', body: JSON.stringify(body), contentType: 'application/json', scoped: false,
  });
  return response.json();
}

/** POST a CSV file as the body; the JSON answer. */
export async function postCsv(path, file, params) {
  const response = await request(path, { method: 'POST', params, body: file, contentType: 'text/csv' });
  return response.json();
}

/** POST a file as the body with its content type; the status and the JSON answer. */
export async function postFile(path, file, contentType, params, idempotencyKey) {
  const response = await request(path, { method: 'POST', params, body: file, contentType, scoped: false, idempotencyKey });
  return { status: response.status, body: await response.json() };
}

/** Every page of a list answer (`has_more`, `starting_after` = the last item's id). */
export async function getAll(path, params = {}, { limit = 100, max = 5000 } = {}) {
  const items = [];
  let after;
  for (;;) {
    const page = await getJson(path, { ...params, limit, starting_after: after });
    items.push(...(page.data ?? []));
    if (!page.has_more || !page.data?.length || items.length >= max) {
      return { items, truncated: Boolean(page.has_more) };
    }
    after = page.data[page.data.length - 1].id;
  }
}

/** Who a key belongs to: `GET /v1/me` (`{role, id, merchants}`). */
export async function whoIs(key) {
  return await (await request('/v1/me', { key, scoped: false })).json();
}
