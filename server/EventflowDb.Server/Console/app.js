// EventflowDB web console: sign in, then a hash router over the views (views.js). No build step, no dependencies.
import { ApiError, request, session } from './api.js';
import { views } from './views.js';
import { poller } from './poller.js';

const $ = id => document.getElementById(id);
let cleanup = null;
let authRequired = true;

/** Asks /stats with the given credentials: 401 means no entry; any other answer (even 403) means signed in. */
async function probe(credentials) {
  try {
    const response = await request('/stats', { credentials });
    const stats = await response.json();
    $('server-version').textContent = `v${stats.version}`;
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    if (e instanceof ApiError) return true;
    throw e;
  }
}

function showSignIn(message) {
  poller.stop();
  $('shell').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !message;
  $('signin-error').textContent = message || '';
  $('signin-password').focus();
}

function showShell() {
  $('signin').hidden = true;
  $('shell').hidden = false;
  const credentials = session.get();
  $('user').textContent = authRequired && credentials ? credentials.user : 'no authentication';
  $('signout').hidden = !authRequired;
  poller.start();
  route();
}

async function route() {
  if ($('shell').hidden) return;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const hash = location.hash.replace(/^#\/?/, '') || 'dashboard';
  const [path, query = ''] = hash.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  const params = new URLSearchParams(query);
  const name = parts[0] in views ? parts[0] : 'dashboard';
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === (name === 'events' ? 'streams' : name));
  }
  const view = $('view');
  view.replaceChildren();
  try {
    cleanup = await views[name]({ view, parts: parts.slice(1), params, setTitle: t => { $('title').textContent = t; document.title = `${t} · EventflowDB`; } }) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session.clear();
      showSignIn('Your session has ended: sign in again.');
      return;
    }
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.textContent = e instanceof ApiError ? `${e.code || 'Error'}: ${e.message}` : `Error: ${e.message}`;
    view.replaceChildren(notice);
  }
}

$('signin-form').addEventListener('submit', async event => {
  event.preventDefault();
  const credentials = { user: $('signin-user').value.trim(), password: $('signin-password').value };
  $('signin-submit').disabled = true;
  try {
    if (await probe(credentials)) {
      session.set(credentials.user, credentials.password);
      $('signin-password').value = '';
      showShell();
    } else {
      showSignIn('Wrong user name or password.');
    }
  } catch (e) {
    showSignIn(`The server did not answer: ${e.message}`);
  } finally {
    $('signin-submit').disabled = false;
  }
});

$('signout').addEventListener('click', () => {
  session.clear();
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  showSignIn();
});

window.addEventListener('hashchange', route);

(async () => {
  // No credentials needed when the server has no password: the sign-in screen is skipped.
  authRequired = !(await probe(null));
  if (!authRequired || (session.get() && await probe(session.get()))) {
    showShell();
  } else {
    session.clear();
    showSignIn();
  }
})();
