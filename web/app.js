// fangkong web UI: hash router, header, error banner.
import { session, setUnauthorizedHandler, setPasswordChangeHandler, logout, refreshMe } from './js/api.js';
import { h, clear, errorText } from './js/dom.js';
import { renderLogin, renderPasswordChange } from './js/login.js';
import { renderRegion } from './js/regions.js';
import { renderPersons, renderPerson, renderHousehold, canSeePersons } from './js/persons.js';
import { renderUsers, canManageUsers } from './js/users.js';
import { renderCases, renderCase, renderChain, canTrace } from './js/cases.js';
import { renderMyCode, renderPersonCode, isCitizen } from './js/code.js';
import { renderOverrides, renderAppeals, renderPolicyBar, isHealth } from './js/overrides.js';
import { renderTesting, renderCampaign, renderMissing, canReadTesting } from './js/testing.js';
import { renderOrders, renderPersonOrders, canReadControl } from './js/orders.js';
import { renderIsolation, renderSite, canSeeBoard } from './js/isolation.js';

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
  $('nav-testing').hidden = !canReadTesting(u);
  $('nav-orders').hidden = !canReadControl(u);
  $('nav-isolation').hidden = !canSeeBoard(u);
  $('nav-risk').hidden = !on;
  // a citizen sees their own code and nothing of the city
  const citizen = isCitizen(u);
  $('nav-code').hidden = !citizen;
  $('nav-overrides').hidden = !isHealth(u);
  $('nav-appeals').hidden = !isHealth(u);
  $('nav-verify').hidden = citizen;
  document.querySelector('#mainnav a[data-nav="region"]').hidden = citizen;
  // roles without person access do not get a menu item that only says no
  document.querySelector('#mainnav a[data-nav="persons"]').hidden = !!u && (citizen || !canSeePersons(u));
  document.querySelector('.brand').setAttribute('href', home());
  policyBar(forced ? null : u);
  if (!on) return;
  $('user-name').textContent = u.username;
  $('user-role').textContent = u.role_label || u.role;
  $('user-role').dataset.role = u.role;
  $('user-scope').textContent = '辖区：' + (u.scope_name || '全部');
  $('user-scope').title = u.scope ? `区划代码 ${u.scope}` : '';
}

// The policy in force, under every page (read again when the user changes).
let policyUser = undefined;
function policyBar(u) {
  const key = u ? `${u.username}|${u.role}` : null;
  if (key === policyUser) return;
  policyUser = key;
  renderPolicyBar($('policybar'), { user: u });
}

// Where a user starts: a citizen on their own code, staff on the region page.
function home() { return isCitizen(app.user) ? '#/code' : '#/region'; }
const CITIZEN_PAGES = new Set(['code', 'password']);

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
  let to = returnTo && !/^#\/(login|password)/.test(returnTo) ? returnTo : home();
  if (isCitizen(app.user) && !CITIZEN_PAGES.has(to.replace(/^#\/?/, '').split(/[/?]/)[0])) to = home();
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

  const name = parts[0] || (s && isCitizen(app.user) ? 'code' : 'region');
  if (s && mustChangePassword() && name !== 'password') {
    if (name !== 'login' && parts.length) returnTo = location.hash;
    location.replace('#/password');
    return;
  }
  // a citizen's session opens only their own pages
  if (s && isCitizen(app.user) && !CITIZEN_PAGES.has(name) && name !== 'login') {
    location.replace('#/code');
    return;
  }
  if (name !== 'login') clearError();
  markNav(name === 'person' || name === 'household' ? 'persons' : name === 'case' || name === 'chain' ? 'cases' : name);
  clear(view);
  view.dataset.view = name;
  window.scrollTo(0, 0);

  switch (name) {
    case 'login':
      if (s) { location.replace(home()); return; }
      renderLogin(view, {
        expired: query.has('expired'),
        done: user => {
          app.user = user;
          renderHeader();
          clearError();
          if (user.password_change_required) location.replace('#/password');
          else afterLogin();
        },
      });
      // venue staff verify codes offline with the published keys
      view.append(h('p.login-verify', h('a#login-verify', { href: '/verify.html' }, '场所/卡口验码（离线核验健康码）')));
      return;
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
    case 'person': {
      await renderPerson(view, parts[1], app, nav);
      const box = view.querySelector('section.person');
      // the code card goes under the person card (not after a refusal)
      if (nav.alive() && box && box.querySelector('.person-card')) renderPersonCode(box, parts[1], app, nav);
      return;
    }
    case 'code':
      return renderMyCode(view, app, nav);
    case 'overrides':
      return renderOverrides(view, app, nav);
    case 'appeals':
      return renderAppeals(view, app, nav);
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
    case 'testing':
      if (!parts[1]) return renderTesting(view, app, nav);
      if (parts[2] === 'missing') return renderMissing(view, parts[1], query, app, nav);
      return renderCampaign(view, parts[1], query, app, nav);
    case 'orders':
      if (parts[1] === 'person' && parts[2]) return renderPersonOrders(view, parts[2], app, nav);
      return renderOrders(view, query, app, nav);
    case 'isolation':
      if (parts[1] === 'site' && parts[2]) return renderSite(view, parts[2], app, nav);
      return renderIsolation(view, query, app, nav);
    default:
      location.replace(home());
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
