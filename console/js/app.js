// The console's shell: sign-in state, the header (who is signed in, an operator's merchant
// choice), and the hash router that renders one view at a time into <main>.

import { session, setUnauthorizedHandler } from './api.js';
import { h, clear, message, errorMessage } from './dom.js';
import { loadCurrencies } from './money.js';
import { signInView } from './views/signin.js';
import { overviewView } from './views/overview.js';
import { refundListView } from './views/refunds.js';
import { refundView } from './views/refund.js';
import { statementsView } from './views/statements.js';
import { exportView } from './views/export.js';
import { auditView } from './views/audit.js';
import { approvalsView } from './views/approvals.js';
import { batchesView } from './views/batches.js';

const main = document.getElementById('main');
let renderToken = 0;
let pendingNotice = null;

/** The current route: a path and its query parameters, from `#/path?query`. */
export function currentRoute() {
  const hash = window.location.hash.replace(/^#/, '') || '/overview';
  const [path, query = ''] = hash.split('?');
  return { path: path || '/overview', params: Object.fromEntries(new URLSearchParams(query)) };
}

/** Navigates to `path` with `params` (empty ones left out). */
export function go(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const hash = `#${path}${query.toString() ? `?${query}` : ''}`;
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

/** Shows `text` as a notice above the next view rendered. */
export function notifyNext(text) {
  pendingNotice = text;
}

function routeOf(path) {
  const refund = /^\/refunds\/([^/]+)$/.exec(path);
  if (refund) return { view: refundView, title: 'Refund', args: [decodeURIComponent(refund[1])], nav: '/refunds' };
  const views = {
    '/overview': [overviewView, 'Overview'],
    '/refunds': [refundListView, 'Refunds'],
    '/statements': [statementsView, 'Statements'],
    '/export': [exportView, 'Export'],
    '/audit': [auditView, 'Audit'],
    '/approvals': [approvalsView, 'Approvals'],
    '/batches': [batchesView, 'Bulk refunds'],
  };
  const [view, title] = views[path] ?? [null, 'Not found'];
  return { view, title, args: [], nav: path };
}

function renderHeader() {
  const principal = session.principal();
  const signedIn = Boolean(session.key() && principal);
  document.getElementById('nav').hidden = !signedIn;
  const who = document.getElementById('who');
  who.hidden = !signedIn;
  if (!signedIn) return;
  const role = principal.role === 'operator' ? 'Operator' : 'Merchant';
  document.getElementById('nav-audit').hidden = principal.role !== 'operator';
  document.getElementById('nav-approvals').hidden = principal.role !== 'operator';
  document.getElementById('nav-batches').hidden = principal.role === 'operator';
  document.getElementById('principal').textContent = principal.id ? `${role} ${principal.id}` : role;
  const scope = document.getElementById('scope');
  scope.hidden = principal.role !== 'operator';
  if (principal.role === 'operator') {
    const select = document.getElementById('merchant-scope');
    const options = [h('option', { value: '' }, 'All merchants'),
      ...(principal.merchants ?? []).map((id) => h('option', { value: id }, id))];
    select.replaceChildren(...options);
    select.value = session.scope();
  }
}

function markNav(active) {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#${active}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Renders the current route. */
export async function render() {
  const token = ++renderToken;
  const { path, params } = currentRoute();
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  renderHeader();
  if (!session.key() || !session.principal()) {
    markNav(null);
    document.title = 'Sign in · refund-gateway console';
    const notice = pendingNotice ? message('notice', pendingNotice) : null;
    pendingNotice = null;
    clear(main).append(h('div', { class: 'view' }, notice,
      signInView({ after: path === '/signin' ? '/overview' : path, params, onSignedIn: signedIn })));
    main.querySelector('input')?.focus();
    return;
  }
  const route = routeOf(path);
  markNav(route.nav);
  document.title = `${route.title} · refund-gateway console`;
  const container = h('div', { class: 'view' });
  if (pendingNotice) {
    container.append(message('notice', pendingNotice));
    pendingNotice = null;
  }
  clear(main).append(container);
  if (!route.view) {
    container.append(h('h1', {}, 'Not found'), message('error', `The console has no page ${path}.`),
      h('p', {}, h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  const loading = h('p', { class: 'loading', role: 'status' }, 'Loading…');
  container.append(loading);
  try {
    const content = await route.view(...route.args, params, { go, notifyNext, rerender: render });
    if (token !== renderToken) return;
    loading.remove();
    container.append(content);
  } catch (error) {
    if (token !== renderToken) return;
    loading.remove();
    container.append(h('h1', {}, route.title), errorMessage(error));
  }
  const heading = container.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function signedIn(after, params) {
  go(after, params);
}

function start() {
  document.getElementById('sign-out').addEventListener('click', () => {
    session.signOut();
    go('/signin');
  });
  document.getElementById('merchant-scope').addEventListener('change', (event) => {
    session.setScope(event.target.value);
    render();
  });
  document.getElementById('skip').addEventListener('click', () => main.focus());
  setUnauthorizedHandler((failure) => {
    session.signOut();
    notifyNext(failure?.code === 'api_key_expired'
      ? `Your key has expired (${failure.message}). Sign in with the key that replaced it.`
      : 'Your key was refused; sign in again.');
    setTimeout(render);
  });
  window.addEventListener('hashchange', render);
  loadCurrencies()
    .catch((error) => console.error(error))
    .finally(render);
}

start();
