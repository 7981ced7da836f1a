import { auditPage, tokensPage } from './access.js';
import { ApiError, call, getJson, isKind, KINDS, session, type Me } from './api.js';
import { composerPage } from './composer.js';
import { h, render } from './dom.js';
import { editKindPage, listKindPage } from './kinds.js';
import { overviewPage } from './overview.js';
import { planPage } from './plan.js';
import { testerPage } from './tester.js';
import { transferPage } from './transfer.js';

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
const banner = document.getElementById('banner')!;

const SECTIONS: [string, string][] = [
  ['#/', 'Overview'],
  ...Object.entries(KINDS).map(([k, d]) => [`#/k/${k}`, d.title] as [string, string]),
  ['#/compose/new', 'Composer'],
  ['#/test', 'Tool tester'],
  ['#/transfer', 'Export / import'],
  ['#/plan', 'Import planner'],
];
/** Tokens and the audit trail are the admin role's (the API refuses everyone else). */
const ADMIN_SECTIONS: [string, string][] = [
  ['#/tokens', 'Tokens'],
  ['#/audit', 'Audit trail'],
];

function drawChrome(): void {
  const me = session.me;
  render(banner, me.trial ? h('div', { class: 'trial' }, 'Trial mode: this gateway listens on loopback without credentials, so anyone on this machine can change it. Set BASIC_AUTH_USER and BASIC_AUTH_PASSWORD to require sign-in.') : null);
  const hash = location.hash || '#/';
  render(nav, me.signed_in ? [...SECTIONS, ...(me.role === 'admin' ? ADMIN_SECTIONS : [])].map(([href, label]) => h('a', { href, 'aria-current': (href === '#/' ? hash === '#/' : hash.startsWith(href.replace('/new', ''))) ? 'page' : undefined }, label)) : null);
  render(who, me.signed_in && !me.trial ? [`${me.subject} (${me.role})`, h('button', { type: 'button', onclick: signOut }, 'Sign out')] : me.trial ? 'trial mode' : null);
}

async function signOut(): Promise<void> {
  try {
    await call('/admin/session', { method: 'DELETE' });
  } catch {
    // already gone
  }
  session.me = { signed_in: false, trial: false };
  location.hash = '#/';
  signInPage();
}

/** UTF-8 text as base64 (btoa alone takes Latin-1 only). */
function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

function signInPage(message?: string): void {
  drawChrome();
  const user = h('input', { type: 'text', id: 'user', autocomplete: 'username' });
  const password = h('input', { type: 'password', id: 'password', autocomplete: 'current-password' });
  const token = h('input', { type: 'password', id: 'token', autocomplete: 'off' });
  const error = h('div', { role: 'alert' }, message ? h('div', { class: 'alert' }, message) : null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const authorization = token.value.trim() ? `Bearer ${token.value.trim()}` : `Basic ${base64(`${user.value}:${password.value}`)}`;
    try {
      const r = await call('/admin/session', { method: 'POST', authorization });
      session.me = r.body as Me;
      password.value = '';
      token.value = '';
      await route();
    } catch (err) {
      render(error, h('div', { class: 'alert' }, err instanceof ApiError && err.status === 401 ? 'Those credentials were not accepted.' : (err as Error).message));
      (token.value ? token : password).focus();
    }
  };
  render(main,
    h('h1', {}, 'Sign in'),
    h('form', { onsubmit: submit, 'aria-label': 'Sign in' },
      error,
      h('fieldset', {}, h('legend', {}, 'User name and password (BASIC_AUTH_USER)'),
        h('label', { for: 'user' }, 'User name'), user,
        h('label', { for: 'password' }, 'Password'), password),
      h('fieldset', {}, h('legend', {}, 'Or a bearer token'),
        h('label', { for: 'token' }, 'Token'), token),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in'))));
  user.focus();
}

/** Draw the page the hash names. */
async function route(): Promise<void> {
  if (!session.me.signed_in && !session.me.trial) return signInPage();
  drawChrome();
  const parts = (location.hash.replace(/^#\/?/, '') || '').split('/').map(decodeURIComponent);
  render(main, h('p', {}, 'Loading…'));
  try {
    const [section, a, b, c] = parts;
    if (section === 'k' && isKind(a)) {
      if (b === 'new') await editKindPage(main, a, undefined);
      else if (b === 'edit' && c !== undefined) await editKindPage(main, a, c);
      else await listKindPage(main, a);
    } else if (section === 'compose') await composerPage(main, a && a !== 'new' ? a : undefined);
    else if (section === 'test') await testerPage(main, a || undefined);
    else if (section === 'transfer') transferPage(main);
    else if (section === 'plan') await planPage(main);
    else if (section === 'tokens') await tokensPage(main);
    else if (section === 'audit') await auditPage(main);
    else await overviewPage(main);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    render(main, h('h1', {}, 'Something went wrong'), h('div', { class: 'alert' }, err instanceof ApiError ? `${err.problem.code ?? err.status}: ${err.message}` : String(err)));
  }
  document.title = `${main.querySelector('h1')?.textContent ?? 'Admin'} — MCP Gateway`;
}

window.addEventListener('hashchange', () => {
  void route().then(() => main.focus({ preventScroll: true }));
});
window.addEventListener('signed-out', () => {
  session.me = { signed_in: false, trial: false };
  signInPage('Your session ended; sign in again.');
});

async function start(): Promise<void> {
  try {
    session.me = await getJson<Me>('/admin/session');
  } catch {
    session.me = { signed_in: false, trial: false };
  }
  await route();
}
void start();
