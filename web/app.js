// fangkong web UI: hash router, header, error banner.
import { session, setUnauthorizedHandler, setPasswordChangeHandler, logout, refreshMe } from './js/api.js';
import { clear, errorText } from './js/dom.js';
import { renderLogin, renderPasswordChange } from './js/login.js';
import { renderRegion } from './js/regions.js';
import { renderPersons, renderPerson, renderHousehold, canSeePersons } from './js/persons.js';
import { renderUsers, canManageUsers } from './js/users.js';
import { renderCases, renderCase, renderChain, canTrace } from './js/cases.js';

const $ = id => document.getElementById(id);
const view = $('view');

// ---------- error banner ----------
export function showError(e, prefix) {
  const text = (prefix ? prefix + '：' : '') + (typeof e === 'string' ? e : errorText(e));
  $('banner-text').textContent = text;
  $('banner').hidden = false;
}
export function clearError() { $('banner').hidden = true; }
$('banner-close').addEventListener('click', clearError);

// ---------- shared state for views ----------
const REGION_KEY = 'fk.region';
export const app = {
  user: null,
  // the region last browsed: {code, name}; person search looks inside it
  get region() {
    try { return JSON.parse(sessionStorage.getItem(REGION_KEY) || 'null'); } catch { return null; }
  },
  set region(r) {
    if (r) sessionStorage.setItem(REGION_KEY, JSON.stringify({ code: r.code, name: r.name }));
    else sessionStorage.removeItem(REGION_KEY);
  },
  showError,
  clearError,
  go(hash) { if (location.hash !== hash) location.hash = hash; else route(); },
};

// ---------- header ----------
function renderHeader() {
  const u = app.user;
  const on = !!u;
  // until an initial password is changed there is nowhere else to go
  const forced = on && !!u.password_change_required;
  $('mainnav').hidden = !on || forced;
  $('userbox').hidden = !on;
  $('change-password').hidden = forced;
  $('nav-users').hidden = !canManageUsers(u);
  $('nav-cases').hidden = !canTrace(u);
  // roles without person access do not get a menu item that only says no
  document.querySelector('#mainnav a[data-nav="persons"]').hidden = !!u && !canSeePersons(u);
  if (!on) return;
  $('user-name').textContent = u.username;
  $('user-role').textContent = u.role_label || u.role;
  $('user-role').dataset.role = u.role;
  $('user-scope').textContent = '辖区：' + (u.scope_name || '全部');
  $('user-scope').title = u.scope ? `区划代码 ${u.scope}` : '';
}

function markNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

$('logout').addEventListener('click', async () => {
  try { await logout(); } catch (e) { /* the session is gone locally either way */ }
  app.user = null;
  app.region = null;
  renderHeader();
  app.go('#/login');
});

let returnTo = null;
setUnauthorizedHandler(() => {
  if (!location.hash.startsWith('#/login')) returnTo = location.hash;
  app.user = null;
  renderHeader();
  location.hash = '#/login?expired=1';
});

const mustChangePassword = () => !!(app.user && app.user.password_change_required);

setPasswordChangeHandler(() => {
  if (app.user) app.user = { ...app.user, password_change_required: true };
  renderHeader();
  if (!location.hash.startsWith('#/password')) {
    returnTo = location.hash;
    location.hash = '#/password';
  }
});

function afterLogin() {
  const to = returnTo && !/^#\/(login|password)/.test(returnTo) ? returnTo : '#/region';
  returnTo = null;
  location.replace(to);
}

// ---------- router ----------
let seq = 0;
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(qs || '') };
}

export async function route() {
  const my = ++seq;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const { parts, query } = parseHash();
  const s = session();
  const nav = { alive: () => my === seq, onCleanup: fn => { cleanup = fn; } };

  if (!s) {
    app.user = null;
    renderHeader();
    if (parts[0] !== 'login') {
      if (parts.length) returnTo = location.hash;
      location.replace('#/login');
      return;
    }
  }
  if (s && !app.user) app.user = s.user;
  renderHeader();

  const name = parts[0] || 'region';
  if (s && mustChangePassword() && name !== 'password') {
    if (name !== 'login' && parts.length) returnTo = location.hash;
    location.replace('#/password');
    return;
  }
  if (name !== 'login') clearError();
  markNav(name === 'person' || name === 'household' ? 'persons' : name === 'case' || name === 'chain' ? 'cases' : name);
  clear(view);
  view.dataset.view = name;
  window.scrollTo(0, 0);

  switch (name) {
    case 'login':
      if (s) { location.replace('#/region'); return; }
      return renderLogin(view, {
        expired: query.has('expired'),
        done: user => {
          app.user = user;
          renderHeader();
          clearError();
          if (user.password_change_required) location.replace('#/password');
          else afterLogin();
        },
      });
    case 'password':
      return renderPasswordChange(view, {
        forced: mustChangePassword(),
        done: () => {
          app.user = { ...app.user, password_change_required: false };
          renderHeader();
          clearError();
          afterLogin();
        },
        cancel: () => afterLogin(),
      });
    case 'region':
      return renderRegion(view, parts[1] || null, app, nav);
    case 'persons':
      return renderPersons(view, query, app, nav);
    case 'person':
      return renderPerson(view, parts[1], app, nav);
    case 'household':
      return renderHousehold(view, parts[1], app, nav);
    case 'users':
      return renderUsers(view, app, nav);
    case 'cases':
      return renderCases(view, app, nav);
    case 'case':
      return renderCase(view, parts[1], app, nav);
    case 'chain':
      return renderChain(view, parts[1], app, nav);
    default:
      location.replace('#/region');
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', ev => {
  const e = ev.reason;
  if (e && e.status === 401) return; // handled: back to login
  if (e && e.code === 'password_change_required') return; // handled: the password form
  showError(e && e.status !== undefined ? e : String(e && e.message || e));
});

// Refresh who we are (role or scope may have changed since the last page load).
if (session()) {
  refreshMe().then(me => {
    app.user = me;
    renderHeader();
    if (me.password_change_required && !location.hash.startsWith('#/password')) route();
  }).catch(e => {
    if (e.status !== 401) showError(e, '读取当前用户失败');
  });
}
route();
