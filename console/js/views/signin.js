// Sign-in with an operator's or a merchant's API key: checked with GET /v1/me, kept in
// sessionStorage only (gone when the tab closes), never in a URL.

import { whoIs, session } from '../api.js';
import { h, field, message, errorMessage } from '../dom.js';

/** The sign-in form; `onSignedIn(after, params)` is called with where to go next. */
export function signInView({ after, params, onSignedIn }) {
  const input = h('input', {
    type: 'password', id: 'api-key', name: 'key', required: true, autocomplete: 'off',
    spellcheck: 'false', autocapitalize: 'off',
  });
  const feedback = h('div', { class: 'feedback' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true }, field('API key', input,
    'An operator key sees every merchant; a merchant key sees its own refunds.'), button, feedback);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    feedback.replaceChildren();
    if (!key) {
      feedback.append(message('error', 'Enter an API key.'));
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const principal = await whoIs(key);
      session.signIn(key, principal);
      onSignedIn(after, params);
    } catch (error) {
      feedback.append(error.code === 'api_key_expired'
        ? message('error', `That key has expired (${error.message}). Sign in with the key that replaced it.`)
        : error.status === 401
          ? message('error', 'That key was refused: it is not an operator or merchant key of this gateway.')
          : errorMessage(error));
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
  return h('section', { class: 'card narrow' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'The finance console of this refund gateway. Your key is kept in this tab only.'),
    form);
}
