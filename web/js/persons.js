// Person search (#/persons?...), person detail (#/person/ID), household (#/household/ID).
import { get } from './api.js';
import { h, clear, num, spinner, errorText } from './dom.js';

const PAGE = 50;

// Roles the API refuses person data to (it answers 403); used to explain up
// front rather than after a search. The API stays the authority.
const NO_PERSON_ROLES = new Set(['admin', 'lab', 'sentinel', 'venue', 'checkpoint']);
export function canSeePersons(user) { return !user || !NO_PERSON_ROLES.has(user.role); }

// the occupation codes of the registry (key occupations are tested periodically)
const OCCUPATIONS = {
  cold_chain: '冷链从业人员', port: '口岸工作人员', courier: '快递外卖人员', transport: '交通运输人员',
  medical: '医务人员', isolation_staff: '隔离场所工作人员', teacher: '教师', office: '机关企事业职员',
  worker: '工人', service: '服务业人员', farmer: '农民', self_employed: '个体经营者',
  construction: '建筑工人', unemployed: '无业', student: '学生', child: '学龄前儿童',
  retired: '离退休人员', other: '其他',
};
export const occupation = o => (o ? OCCUPATIONS[o] || o : '—');

const ID_RE = /^\d{17}[\dXx]$/;

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-person-access', { role: 'note' },
    h('h2', '无人员查询权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能查看人员信息。`),
    h('p.muted', '人员信息仅向指挥部、流调溯源组、转运隔离组、核酸检测组和网格员开放；如工作需要，请联系管理员调整角色。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null,
    h('p', h('a.btn', { href: '#/region' }, '返回区域'))));
}

export function renderPersons(root, query, app, nav) {
  const box = h('section.persons');
  root.append(box);
  document.title = '人员查询 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '人员查询'))));
  if (!canSeePersons(app.user)) { noAccess(box, app.user); return; }

  const region = query.get('region') || '';
  const name = query.get('name') || '';
  const idn = query.get('id') || '';
  const cur = app.region;
  // the region searched: the one in the link, else the one last browsed
  const scopeCode = query.has('region') ? region : (cur ? cur.code : '');
  const scopeLabel = h('b#q-region-name', cur && cur.code === scopeCode ? cur.name : scopeCode);
  if (scopeCode && !(cur && cur.code === scopeCode)) {
    // a link from elsewhere: name the region it searches in
    get(`/api/v1/regions/${encodeURIComponent(scopeCode)}`).then(r => {
      if (nav.alive()) { scopeLabel.textContent = r.name; scopeLabel.title = r.code; }
    }).catch(e => { if (nav.alive() && e.status !== 401) app.showError(e, '读取区域失败'); });
  }

  const nameIn = h('input#q-name', { name: 'name', value: name, placeholder: '如：王', autocomplete: 'off', maxlength: 32 });
  const idIn = h('input#q-id', { name: 'id', value: idn, placeholder: '18 位身份证号', autocomplete: 'off', maxlength: 18, inputmode: 'text' });
  const inRegion = h('input#q-inregion', { type: 'checkbox', checked: !!scopeCode || undefined, disabled: !scopeCode || undefined });
  const formMsg = h('div.form-error.f-msg', { role: 'alert', hidden: true });

  const form = h('form.card.search-form#person-search', { novalidate: true, onsubmit: ev => {
    ev.preventDefault();
    const n = nameIn.value.trim(), i = idIn.value.trim().toUpperCase();
    const r = inRegion.checked ? scopeCode : '';
    formMsg.hidden = true;
    if (i && !ID_RE.test(i)) {
      formMsg.textContent = '身份证号应为 18 位（最后一位可为 X）。';
      formMsg.hidden = false;
      idIn.focus();
      return;
    }
    if (!n && !i && !r) {
      formMsg.textContent = '请输入姓名或身份证号，或选择在当前区域内查询。';
      formMsg.hidden = false;
      nameIn.focus();
      return;
    }
    const q = new URLSearchParams();
    if (r) q.set('region', r);
    if (n) q.set('name', n);
    if (i) q.set('id', i);
    const hash = '#/persons?' + q.toString();
    if (location.hash === hash) runSearch(); else location.hash = hash;
  } },
    h('label.field.f-name', h('span.field-label', '姓名（前缀）'), nameIn),
    h('label.field.f-id', h('span.field-label', '身份证号（精确）'), idIn),
    h('div.field.f-go', h('button.btn.btn-primary#q-submit', { type: 'submit' }, '查询')),
    h('label.check.f-region',
      inRegion,
      scopeCode
        ? h('span', '仅在当前区域内：', scopeLabel, ' ',
          h('a.small', { href: `#/region/${encodeURIComponent(scopeCode)}` }, '更换区域'))
        : h('span.muted', '未选择区域（可在“区域”页选择后再查询）')),
    formMsg);
  box.append(form);

  const results = h('div.results#person-results');
  box.append(results);

  const active = (query.has('region') && region) || name || idn;
  if (!active) {
    results.append(h('p.muted.hint', '输入条件后点击“查询”。列表中的身份证号和手机号均已脱敏显示。'));
    nameIn.focus();
    return;
  }
  runSearch();

  async function runSearch() {
    clear(results);
    results.append(spinner('正在查询…'));
    const params = { region: region || undefined, name: name || undefined, id_number: idn || undefined, limit: PAGE };
    let r;
    try {
      r = await get('/api/v1/persons', params);
    } catch (e) {
      if (!nav.alive()) return;
      clear(results);
      if (e.status === 403) { clear(box); noAccess(box, app.user, e); return; }
      app.showError(e, '查询失败');
      results.append(h('p.muted', errorText(e)));
      return;
    }
    if (!nav.alive()) return;
    clear(results);
    if (!r.items.length) {
      results.append(h('div.panel.empty#person-none', h('p', '没有找到符合条件的人员。')));
      return;
    }
    const tbody = h('tbody');
    const count = h('span.muted.count');
    const more = h('button.btn#persons-more', { type: 'button' }, '更多');
    let shown = 0;
    let cursor = r.next_cursor;
    const add = items => {
      for (const p of items) tbody.append(personRow(p));
      shown += items.length;
      count.textContent = `已显示 ${num(shown)} 人${cursor ? '，还有更多' : ''}`;
      more.hidden = !cursor;
    };
    more.addEventListener('click', async () => {
      more.disabled = true;
      more.textContent = '加载中…';
      try {
        const n = await get('/api/v1/persons', { ...params, cursor });
        if (!nav.alive()) return;
        cursor = n.next_cursor;
        add(n.items);
      } catch (e) {
        if (nav.alive()) app.showError(e, '加载更多失败');
      }
      more.disabled = false;
      more.textContent = '更多';
    });
    results.append(h('section.card.list-card',
      h('div.card-head', h('h2', '查询结果'), count),
      h('div.table-wrap', h('table.table.rtable#person-table',
        h('thead', h('tr',
          h('th', '姓名'), h('th', '性别'), h('th.num', '年龄'), h('th', '身份证号'),
          h('th', '手机号'), h('th', '网格'), h('th', '职业'))),
        tbody)),
      h('div.card-foot', more)));
    add(r.items);
  }
}

function backLink() {
  return h('nav.breadcrumb', h('a.crumb', { href: '#/persons', onclick: ev => {
    if (history.length > 1) { ev.preventDefault(); history.back(); }
  } }, '‹ 返回'));
}

function personRow(p) {
  const href = `#/person/${encodeURIComponent(p.id)}`;
  return h('tr', { dataset: { id: p.id }, onclick: ev => { if (ev.target.tagName !== 'A') location.hash = href; } },
    h('td.name', { 'data-label': '姓名' }, h('a.pname', { href }, p.name)),
    h('td', { 'data-label': '性别' }, p.sex || '—'),
    h('td.num', { 'data-label': '年龄' }, p.age != null ? p.age : '—'),
    h('td.mono.idn', { 'data-label': '身份证号' }, p.id_number || '—'),
    h('td.mono', { 'data-label': '手机号' }, p.phone || '—'),
    h('td', { 'data-label': '网格', title: p.grid_code || '' }, p.grid_name ? `${p.community_name ? p.community_name + ' ' : ''}${p.grid_name}` : (p.grid_code || '—')),
    h('td', { 'data-label': '职业' }, occupation(p.occupation)));
}

export async function renderPerson(root, id, app, nav) {
  const box = h('section.person');
  root.append(box);
  box.append(backLink());
  if (!canSeePersons(app.user)) { noAccess(box, app.user); return; }
  box.append(spinner('正在加载人员信息…'));
  let p;
  try {
    p = await get(`/api/v1/persons/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    app.showError(e, '加载人员信息失败');
    box.append(h('div.panel.empty', h('p', e.status === 404 ? '该人员不存在，或不在您的管辖范围内。' : errorText(e))));
    return;
  }
  if (!nav.alive()) return;
  box.querySelector('.loading')?.remove();
  document.title = `${p.name} · 防控`;

  const path = p.region_path || [];
  const scope = (app.user && app.user.scope) || '';
  // regions above the user's own scope are named but cannot be opened
  const openable = r => r.level < 6 && !(scope && scope.startsWith(r.code) && scope !== r.code);
  const where = path.length
    ? h('span.path', path.map((r, i) => [i ? h('span.crumb-sep', '›') : null,
      openable(r) ? h('a', { href: `#/region/${encodeURIComponent(r.code)}` }, r.name) : h('span', r.name)]))
    : (p.grid_name || p.grid_code || '—');

  const badge = p.masked
    ? h('span.badge.badge-masked#masked-badge', { title: '身份证号和手机号已按您的角色脱敏显示' }, '已脱敏')
    : h('span.badge.badge-clear#clear-badge', { title: '明文显示：本次查看已记入审计日志' }, '明文 · 已审计');

  const rows = [
    ['身份证号', h('span.mono#person-idn', p.id_number || '—')],
    ['手机号', h('span.mono#person-phone', p.phone || '—')],
    ['性别', p.sex || '—'],
    ['年龄', p.age != null ? `${p.age} 岁` : '—'],
    ['出生日期', p.birth_date || '—'],
    ['职业', occupation(p.occupation)],
    ['网格', p.grid_name ? `${p.community_name ? p.community_name + ' ' : ''}${p.grid_name}（${p.grid_code}）` : (p.grid_code || '—')],
    ['所在区域', where],
    ['家庭户', p.household
      ? h('a#household-link', { href: `#/household/${encodeURIComponent(p.household.id)}` }, p.household.label || `户 ${p.household.id}`, ' · 查看家庭成员')
      : '—'],
  ];
  box.append(h('section.card.person-card',
    h('div.person-head',
      h('div.avatar', { 'aria-hidden': 'true' }, (p.name || '?').slice(0, 1)),
      h('div',
        h('h1#person-name', p.name, ' ', badge),
        h('p.muted', [p.sex, p.age != null ? `${p.age} 岁` : null, occupation(p.occupation)].filter(Boolean).join(' · ')))),
    h('dl.kv', rows.map(([k, v]) => [h('dt', k), h('dd', v)]))));
  if (!p.masked) box.append(h('p.muted.small', '您的角色可查看完整身份证号和手机号；每次查看均记入审计日志，请仅用于防控工作。'));
}

export async function renderHousehold(root, id, app, nav) {
  const box = h('section.household');
  root.append(box);
  box.append(backLink());
  if (!canSeePersons(app.user)) { noAccess(box, app.user); return; }
  box.append(spinner('正在加载家庭户…'));
  let hh;
  try {
    hh = await get(`/api/v1/households/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    app.showError(e, '加载家庭户失败');
    box.append(h('div.panel.empty', h('p', e.status === 404 ? '该家庭户不存在，或不在您的管辖范围内。' : errorText(e))));
    return;
  }
  if (!nav.alive()) return;
  box.querySelector('.loading')?.remove();
  document.title = `家庭户 ${hh.label || hh.id} · 防控`;
  const members = hh.members || [];
  box.append(h('div.region-head', h('div.region-title',
    h('h1', '家庭户 ', hh.label || `#${hh.id}`),
    h('span.tag', `${members.length} 人`),
    h('span.code', hh.grid_name ? `${hh.grid_name} ${hh.grid_code || ''}` : (hh.grid_code || '')))));
  box.append(h('section.card.list-card',
    h('div.card-head', h('h2', '家庭成员')),
    h('div.table-wrap', h('table.table.rtable#member-table',
      h('thead', h('tr',
        h('th', '姓名'), h('th', '性别'), h('th.num', '年龄'), h('th', '身份证号'),
        h('th', '手机号'), h('th', '网格'), h('th', '职业'))),
      h('tbody', members.map(personRow))))));
}

