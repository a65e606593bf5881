// User management for the admin role: #/users lists the accounts in the
// admin's scope and creates new ones.
import { get, request } from './api.js';
import { h, clear, num, spinner, errorText } from './dom.js';

const PAGE = 50;
const REGION_PAGE = 100;

// The roles the server knows, in its own order, with their labels.
export const ROLES = [
  ['admin', '管理员'], ['command', '指挥部'], ['tracer', '流调溯源组'], ['isolation', '转运隔离组'],
  ['tester', '核酸检测组'], ['lab', '实验室'], ['grid', '网格员'], ['sentinel', '哨点'],
  ['venue', '场所'], ['checkpoint', '卡口'],
];
const ROLE_LABEL = Object.fromEntries(ROLES);

// Only admins manage users (the API answers 403 to everyone else).
export function canManageUsers(user) { return !!user && user.role === 'admin'; }

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-users-access', { role: 'note' },
    h('h2', '无用户管理权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能管理用户账号。`),
    h('p.muted', '用户管理仅向管理员开放；如需新建账号或调整角色、辖区，请联系管理员。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null,
    h('p', h('a.btn', { href: '#/region' }, '返回区域'))));
}

// What a 422 of POST /users is about, from the server's message.
function invalidWhat(m) {
  m = m || '';
  if (/password/i.test(m)) return '密码不符合要求，至少需要 10 个字符。';
  if (/username/i.test(m)) return '用户名格式不正确。';
  if (/scope|region/i.test(m)) return '所选管辖区域不可用。';
  if (/role/i.test(m)) return '角色无效。';
  return '填写的内容未通过校验。';
}

// "2024-05-01T09:30:12+08:00" -> "2024-05-01 09:30"
function when(iso) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso || '');
  return m ? `${m[1]} ${m[2]}` : (iso || '—');
}

export function renderUsers(root, app, nav) {
  const box = h('section.users');
  root.append(box);
  document.title = '用户管理 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '用户管理'))));
  if (!canManageUsers(app.user)) { noAccess(box, app.user); return; }

  const body = h('div.users-body');
  box.append(body);
  // the API stays the authority: a 403 (say, a role changed meanwhile) replaces the page
  const list = userList(app, nav, e => { body.remove(); noAccess(box, app.user, e); });
  const form = createForm(app, nav, created => list.reload(created));
  body.append(form.el, list.el);
  list.reload();
}

// ---------- the list ----------
function userList(app, nav, onForbidden) {
  const tbody = h('tbody');
  const count = h('span.muted.count#users-count');
  const more = h('button.btn#users-more', { type: 'button', hidden: true }, '更多');
  const status = h('div.users-status');
  const el = h('section.card.list-card.users-list',
    h('div.card-head', h('h2', '用户列表'), count),
    status,
    h('div.table-wrap', h('table.table.rtable#users-table',
      h('thead', h('tr',
        h('th', '用户名'), h('th', '角色'), h('th', '管辖区域'), h('th', '创建时间'),
        h('th', '创建人'), h('th', '状态'))),
      tbody)),
    h('div.card-foot', more));

  let cursor = null;
  let shown = 0;
  let loadSeq = 0;
  const self = { el };

  function row(u, fresh) {
    return h('tr', { dataset: { username: u.username }, class: fresh ? 'fresh' : null },
      h('td.name', { 'data-label': '用户名' }, h('span.uname', u.username),
        fresh ? h('span.badge.badge-new', '新建') : null),
      h('td.role', { 'data-label': '角色' },
        h('span.role-tag', { dataset: { role: u.role } }, u.role_label || ROLE_LABEL[u.role] || u.role)),
      h('td.scope', { 'data-label': '管辖区域' },
        h('span.scope-name', u.scope_name || (u.scope ? u.scope : '全部')),
        u.scope ? h('span.code', u.scope) : null),
      h('td.created', { 'data-label': '创建时间', title: u.created_at || '' }, when(u.created_at)),
      h('td.by', { 'data-label': '创建人' }, u.created_by || '—'),
      h('td.state', { 'data-label': '状态' }, u.disabled
        ? h('span.badge.badge-off', '已停用')
        : h('span.badge.badge-on', '正常')));
  }

  function add(items, fresh) {
    for (const u of items) tbody.append(row(u, fresh && u.username === fresh));
    shown += items.length;
    count.textContent = `已显示 ${num(shown)} 个${cursor ? '，还有更多' : ''}`;
    more.hidden = !cursor;
  }

  self.reload = async fresh => {
    const my = ++loadSeq;
    clear(status);
    status.append(spinner('正在加载用户…'));
    more.hidden = true;
    let r;
    try {
      r = await get('/api/v1/users', { limit: PAGE });
    } catch (e) {
      if (!nav.alive() || my !== loadSeq) return;
      clear(status);
      if (e.status === 403) { onForbidden(e); return; }
      app.showError(e, '加载用户列表失败');
      status.append(h('p.muted.empty', errorText(e)));
      return;
    }
    if (!nav.alive() || my !== loadSeq) return;
    clear(status);
    clear(tbody);
    shown = 0;
    cursor = r.next_cursor;
    if (!r.items.length) status.append(h('p.muted.empty', '您的辖区内还没有用户。'));
    add(r.items, fresh);
  };

  more.addEventListener('click', async () => {
    const my = loadSeq;
    more.disabled = true;
    more.textContent = '加载中…';
    try {
      const r = await get('/api/v1/users', { limit: PAGE, cursor });
      if (!nav.alive() || my !== loadSeq) return;
      cursor = r.next_cursor;
      add(r.items);
    } catch (e) {
      if (nav.alive()) app.showError(e, '加载更多用户失败');
    } finally {
      more.disabled = false;
      more.textContent = '更多';
    }
  });
  return self;
}

// ---------- the create form ----------
function createForm(app, nav, onCreated) {
  const nameIn = h('input#u-name', {
    name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
    maxlength: 64, placeholder: '如：wang.grid', required: true,
  });
  const roleIn = h('select#u-role', { name: 'role', required: true },
    h('option', { value: '' }, '请选择角色'),
    ROLES.map(([v, label]) => h('option', { value: v }, `${label}（${v}）`)));
  const passIn = h('input#u-pass', {
    name: 'password', type: 'password', autocomplete: 'new-password', maxlength: 256,
    placeholder: '留空则自动生成',
  });
  const showPass = h('input#u-pass-show', { type: 'checkbox', onchange: () => { passIn.type = showPass.checked ? 'text' : 'password'; } });
  const picker = regionPicker(app, nav);
  const msg = h('div.form-error#user-form-error', { role: 'alert', hidden: true });
  const btn = h('button.btn.btn-primary#u-submit', { type: 'submit' }, '创建用户');
  const result = h('div.user-result#user-result');

  function say(text, detail) {
    clear(msg);
    msg.hidden = !text;
    if (!text) return;
    msg.append(h('span', text));
    if (detail) msg.append(h('span.server-msg#user-form-server', `服务器答复：${detail}`));
  }

  const form = h('form.user-form#user-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    const username = nameIn.value.trim();
    const role = roleIn.value;
    const scope = picker.chosen();
    say('');
    clear(result);
    if (!username) { say('请输入用户名。'); nameIn.focus(); return; }
    if (!role) { say('请选择角色。'); roleIn.focus(); return; }
    if (!scope) { say('请在“管辖区域”中选择一个区域。'); picker.focus(); return; }
    const body = { username, role, scope: scope.code };
    if (passIn.value) body.password = passIn.value; // the server judges its strength
    btn.disabled = true;
    btn.textContent = '创建中…';
    let r;
    try {
      r = await request('POST', '/api/v1/users', { body });
    } catch (e) {
      if (!nav.alive()) return;
      btn.disabled = false;
      btn.textContent = '创建用户';
      if (e.status === 409) say(`用户名“${username}”已被使用，请换一个。`, e.message);
      else if (e.status === 422) say('创建失败：' + invalidWhat(e.message), e.message);
      else if (e.status === 403) say('创建失败：您没有创建用户的权限。', e.message);
      else say('创建失败：' + errorText(e));
      if (e.status === 422 && /password/i.test(e.message || '')) passIn.focus();
      else if (e.status === 409 || e.status === 422) nameIn.focus();
      return;
    }
    if (!nav.alive()) return;
    btn.disabled = false;
    btn.textContent = '创建用户';
    // ready for the next account: same role and region, new name and password
    nameIn.value = '';
    passIn.value = '';
    showPass.checked = false;
    passIn.type = 'password';
    showResult(result, r);
    onCreated(r.username);
  } },
    h('div.form-grid',
      h('label.field.f-uname', h('span.field-label', '用户名'), nameIn,
        h('span.field-hint', '2–64 位字母、数字或 . _ -，以字母或数字开头')),
      h('label.field.f-role', h('span.field-label', '角色'), roleIn),
      h('div.field.f-scope', h('span.field-label#scope-label', '管辖区域'), picker.el),
      h('div.field.f-pass',
        h('label.field', h('span.field-label', '密码（可选）'), passIn),
        h('span.field-hint', '至少 10 个字符；留空将生成随机密码，创建后只显示一次'),
        h('label.check.small', showPass, '显示输入的密码'))),
    msg,
    h('div.form-actions', btn));

  const el = h('section.card.user-create',
    h('div.card-head', h('h2', '新建用户')),
    h('div.card-body', result, form));
  return { el };
}

// The one-time answer of a create: the generated password, or a confirmation.
function showResult(box, u) {
  clear(box);
  const who = h('p.result-who',
    h('b', u.username), ' · ', u.role_label || ROLE_LABEL[u.role] || u.role, ' · ',
    u.scope_name || u.scope, ' ', h('span.code', u.scope));
  const close = h('button.btn#new-password-done', { type: 'button', onclick: () => clear(box) },
    u.password ? '我已妥善记下，关闭' : '关闭');
  if (!u.password) {
    box.append(h('div.result-ok#user-created', { role: 'status' },
      h('p.result-title', '用户已创建，将使用您设置的密码登录。'), who, h('div.result-actions', close)));
    return;
  }
  const value = h('code.pw-value#new-password-value', u.password);
  const copyMsg = h('span.copy-status#copy-status', { role: 'status' });
  const copy = h('button.btn.btn-primary#copy-password', { type: 'button', onclick: async () => {
    const ok = await copyText(u.password);
    copyMsg.textContent = ok ? '已复制到剪贴板' : '无法自动复制，已选中密码，请手动复制';
    copyMsg.classList.toggle('bad', !ok);
    if (!ok) selectText(value);
  } }, '复制密码');
  box.append(h('div.pw-box#new-password', { role: 'status' },
    h('p.result-title', '用户已创建 · 初始密码'),
    who,
    h('div.pw-row', value, copy),
    copyMsg,
    h('p.pw-warn#new-password-warning',
      h('b', '此密码只显示这一次，'), '关闭或离开本页后将无法再次查看。请立即复制，并通过安全的渠道交给该用户。'),
    h('div.result-actions', close)));
  box.scrollIntoView({ block: 'nearest' });
  copy.focus();
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch { /* try the old way */ }
  }
  const ta = h('textarea', { readonly: true, 'aria-hidden': 'true', style: 'position:fixed;top:0;left:0;width:1px;height:1px;opacity:0' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

function selectText(el) {
  const r = document.createRange();
  r.selectNodeContents(el);
  const s = window.getSelection();
  s.removeAllRanges();
  s.addRange(r);
}

// ---------- the region picker ----------
// Drills down the region tree from the admin's own roots; any level can be
// chosen. Choosing a region with children opens it; a grid is just chosen.
function regionPicker(app, nav) {
  let trail = [];      // regions opened, top first; the list shows the children of the last
  let chosen = null;   // the region chosen
  let cursor = null;
  let loadSeq = 0;

  const chosenEl = h('div.pick-chosen#scope-chosen', { 'aria-live': 'polite' });
  const pathEl = h('nav.pick-path#scope-path', { 'aria-label': '区域层级' });
  const listEl = h('div.pick-list#scope-list', { role: 'group', 'aria-labelledby': 'scope-label' });
  const more = h('button.btn.btn-small#scope-more', { type: 'button', hidden: true }, '更多');
  const el = h('div.picker#scope-picker', chosenEl, pathEl, listEl, h('div.pick-foot', more));

  function showChosen() {
    clear(chosenEl);
    if (!chosen) {
      chosenEl.classList.remove('on');
      chosenEl.append(h('span.muted', '尚未选择 · 请在下方逐级点选，可停在任意一级'));
      return;
    }
    chosenEl.classList.add('on');
    const names = trail.map(r => r.name);
    if (!trail.length || trail[trail.length - 1].code !== chosen.code) names.push(chosen.name);
    chosenEl.append(
      h('span.pick-chosen-label', '已选择'),
      h('b#scope-chosen-name', chosen.name),
      h('span.tag', chosen.level_name || ''),
      h('span.code#scope-chosen-code', chosen.code),
      names.length > 1 ? h('span.pick-chosen-path.muted', names.join(' › ')) : null);
  }

  function showPath() {
    clear(pathEl);
    pathEl.append(h('button.crumb-btn', { type: 'button', dataset: { depth: 0 }, onclick: () => open(0) }, '辖区'));
    trail.forEach((r, i) => {
      pathEl.append(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'));
      pathEl.append(i === trail.length - 1
        ? h('span.crumb-current', r.name)
        : h('button.crumb-btn', { type: 'button', dataset: { code: r.code }, onclick: () => open(i + 1) }, r.name));
    });
  }

  function item(r) {
    const on = chosen && chosen.code === r.code;
    return h('button.pick-item', {
      type: 'button', dataset: { code: r.code, level: r.level },
      'aria-pressed': on ? 'true' : 'false',
      title: r.children ? `选择${r.name}并查看其下级` : `选择${r.name}`,
      onclick: () => pick(r),
    },
      h('span.pick-name', r.name),
      h('span.pick-meta', h('span.code', r.code),
        r.children ? h('span.pick-sub', `${num(r.children)} 个下级 ›`) : h('span.pick-sub', r.level_name || '')));
  }

  function markChosen() {
    for (const b of listEl.querySelectorAll('.pick-item')) {
      b.setAttribute('aria-pressed', chosen && b.dataset.code === chosen.code ? 'true' : 'false');
    }
  }

  // open(depth): show the children of trail[depth-1] (the roots for 0) and choose it
  function open(depth) {
    trail = trail.slice(0, depth);
    chosen = depth ? trail[depth - 1] : null;
    showChosen();
    showPath();
    load();
  }

  function pick(r) {
    if (r.children > 0) {
      trail.push(r);
      chosen = r;
      showChosen();
      showPath();
      load();
    } else {
      chosen = r;
      showChosen();
      markChosen();
    }
  }

  async function load(more_) {
    const my = more_ ? loadSeq : ++loadSeq;
    const parent = trail.length ? trail[trail.length - 1].code : undefined;
    if (!more_) {
      clear(listEl);
      listEl.append(spinner('正在加载区域…'));
      more.hidden = true;
    } else {
      more.disabled = true;
      more.textContent = '加载中…';
    }
    let r;
    try {
      r = await get('/api/v1/regions', { parent, limit: REGION_PAGE, cursor: more_ ? cursor : undefined });
    } catch (e) {
      if (!nav.alive() || my !== loadSeq) return;
      more.disabled = false;
      more.textContent = '更多';
      if (!more_) { clear(listEl); listEl.append(h('p.muted.pick-empty', errorText(e))); }
      app.showError(e, '加载区域失败');
      return;
    }
    if (!nav.alive() || my !== loadSeq) return;
    if (!more_) clear(listEl);
    more.disabled = false;
    more.textContent = '更多';
    cursor = r.next_cursor;
    more.hidden = !cursor;
    if (!r.items.length && !more_) {
      listEl.append(h('p.muted.pick-empty', trail.length ? '没有下级区域。' : '您的账号没有可分配的区域。'));
      return;
    }
    for (const c of r.items) listEl.append(item(c));
  }

  more.addEventListener('click', () => load(true));
  showChosen();
  showPath();
  load();
  return {
    el,
    chosen: () => chosen,
    focus: () => { el.scrollIntoView({ block: 'nearest' }); (listEl.querySelector('.pick-item') || el).focus(); },
  };
}
