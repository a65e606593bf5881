// Nucleic-acid testing (核酸检测):
//   #/testing                       campaigns (status, area, deadline and its
//                                   countdown, progress) with the launch form
//                                   and the sampling-site form
//   #/testing/ID?region=CODE        a campaign's dashboard: headline figures,
//                                   progress per child region against the time
//                                   elapsed (ECharts), the exact table, sites
//                                   and their hourly throughput, pending
//                                   retests / resamples / case candidates
//   #/testing/ID/missing?grid=CODE  a grid's missing list, made for a phone
//
// Every figure shown comes from the server's coverage tree (sums of the
// per-grid counters): the page does no arithmetic on them beyond ratios, so
// what the table says is what the server counted.  The dashboard's
// drill-down is the ?region= of the hash: a link can be shared and the back
// button walks back up.
import { get, getBlob, request } from './api.js';
import { h, clear, num, spinner, errorText, duration, LEVEL_NAMES } from './dom.js';
import { loadEcharts } from './chart.js';
import { occupation } from './persons.js';

const READ_ROLES = new Set(['command', 'tracer', 'isolation', 'tester', 'grid']);
const MANAGE_ROLES = new Set(['command', 'tester']);
const TRACE_ROLES = new Set(['command', 'tracer']);
export function canReadTesting(user) { return !!user && READ_ROLES.has(user.role); }
export function canManageTesting(user) { return !!user && MANAGE_ROLES.has(user.role); }

export const KINDS = [
  ['whole', '全员'], ['core', '核心区'], ['designated', '划定区域'], ['periodic', '重点人群定期'], ['targeted', '指定名单'],
];
const KIND = Object.fromEntries(KINDS);
export const kindLabel = k => KIND[k] || k || '—';
const TASK_KINDS = { retest: '单管复核', resample: '重新采样' };
const taskKind = k => TASK_KINDS[k] || k;
const POOLS = [1, 5, 10, 20];
const PAGE = 30;
const MISSING_PAGE = 50;
const MAX_CHART_ROWS = 40;
const GRID_LEVEL = 6;

/* Tooltips are HTML: every name from the database goes through esc(). */
const esc = v => String(v ?? '').replace(/[&<>"']/g, ch => `&#${ch.charCodeAt(0)};`);
const when = s => (s ? s.slice(0, 16).replace('T', ' ') : '—');
const short = s => (s ? s.slice(5, 16).replace('T', ' ') : '—');
const pct = v => (v === null || v === undefined || Number.isNaN(v) ? '—' : `${(100 * v).toFixed(1)}%`);
const clamp01 = v => Math.max(0, Math.min(1, v));
// datetime-local "2022-01-10T10:00" -> ISO with the China offset
const isoOf = v => (v ? `${v}:00+08:00` : undefined);
const missingHref = (id, grid) => `#/testing/${encodeURIComponent(id)}/missing?grid=${encodeURIComponent(grid)}`;
const dashHref = (id, region) => `#/testing/${encodeURIComponent(id)}${region ? `?region=${encodeURIComponent(region)}` : ''}`;
// covered = persons of the expected population with a round sample
const covered = n => Math.max(0, (n.expected || 0) - (n.missing || 0));
const coverage = n => (n.expected ? covered(n) / n.expected : null);

// A grid worker whose scope is one grid goes straight to that grid's list.
function ownGrid(user) {
  return user && user.role === 'grid' && user.scope && user.scope.length === 15 ? user.scope : null;
}

// Several cleanups for the one slot the router gives a page.
function cleanups(nav) {
  const fns = [];
  nav.onCleanup(() => { for (const f of fns) { try { f(); } catch { /* ignore */ } } });
  return fn => fns.push(fn);
}

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-testing-access', { role: 'note' },
    h('h2', '无核酸检测权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能查看核酸检测。`),
    h('p.muted', '核酸检测的组织、进度和未检名单向指挥部、流调溯源组、转运隔离组、核酸检测组和网格员开放。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

function failPanel(box, app, e, what, notFound, back = '#/testing') {
  app.showError(e, what);
  box.append(h('div.panel.empty.t-fail', h('p', e.status === 404 ? notFound : errorText(e)),
    h('p', h('a.btn', { href: back }, '返回核酸检测'))));
}

// "剩余 2 天 5 小时" / "已超期 3 小时" / "已结束"
export function countdown(c, now = Date.now()) {
  if (c.status === 'closed') return { text: '已结束', state: 'closed' };
  const left = (Date.parse(c.deadline) - now) / 1000;
  if (Number.isNaN(left)) return { text: '—', state: '' };
  if (left <= 0) return { text: `已超期 ${span(-left)}`, state: 'late' };
  return { text: `剩余 ${span(left)}`, state: left < 6 * 3600 ? 'soon' : 'open' };
}
function span(s) {
  if (s < 3600) return duration(s);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
  return d ? `${d} 天${hr ? ` ${hr} 小时` : ''}` : duration(Math.round(s / 60) * 60);
}
const elapsedOf = (c, now = Date.now()) => {
  const a = Date.parse(c.starts_at), b = Date.parse(c.deadline);
  return b > a ? clamp01((now - a) / (b - a)) : 0;
};

// A progress bar: filled to `value`, a tick where the time says it should be.
function progressBar(value, elapsed, label) {
  const v = value === null ? 0 : clamp01(value);
  const late = value !== null && elapsed !== null && v + 1e-9 < elapsed;
  return h('div.t-bar', { role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-valuenow': Math.round(v * 100), dataset: { late: late ? '1' : '0' } },
  h('span.t-bar-fill', { style: `width:${(v * 100).toFixed(2)}%` }),
  elapsed === null ? null : h('span.t-bar-tick', { style: `left:${(clamp01(elapsed) * 100).toFixed(2)}%`, title: `时间进度 ${pct(elapsed)}` }));
}

// ---------------------------------------------------------------- #/testing

export function renderTesting(root, app, nav) {
  const box = h('section.testing');
  root.append(box);
  document.title = '核酸检测 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '核酸检测'), h('span.muted.small', '应检尽检'))));
  if (!canReadTesting(app.user)) { noAccess(box, app.user); return; }
  const onCleanup = cleanups(nav);
  const list = h('div.t-list-box#campaigns-box');
  const reload = () => loadCampaigns(list, app, nav, onCleanup);
  if (canManageTesting(app.user)) {
    box.append(h('div.t-body', h('div.t-forms', launchForm(app, nav), siteForm(app, nav)), list));
  } else {
    box.append(list);
  }
  reload();
}

function loadCampaigns(list, app, nav, onCleanup) {
  clear(list);
  const filter = h('div.seg#cp-filter', { role: 'group', 'aria-label': '状态' },
    [['', '全部'], ['open', '进行中'], ['closed', '已结束']].map(([v, l]) =>
      h('button.seg-btn', { type: 'button', dataset: { v }, 'aria-pressed': String(v === ''), onclick: () => load(v) }, l)));
  const count = h('span.muted.count#cp-count');
  const ul = h('ul.t-campaigns#campaign-list');
  const body = h('div.t-campaigns-body');
  const more = h('button.btn#cp-more', { type: 'button', hidden: true }, '更多');
  list.append(h('section.card.list-card#campaigns',
    h('div.card-head', h('h2', '检测任务'), h('div.t-tools', filter, count)),
    body, h('div.card-foot', more)));

  let cursor = null, shown = 0, status = '', seq = 0;
  const page = async my => {
    const r = await get('/api/v1/campaigns', { status, limit: PAGE, cursor });
    if (my !== seq || !nav.alive()) return;
    cursor = r.next_cursor;
    for (const c of r.items) ul.append(campaignRow(c, app.user));
    shown += r.items.length;
    count.textContent = `${num(shown)} 项${cursor ? '，还有更多' : ''}`;
    more.hidden = !cursor;
    if (!shown) body.append(h('p.muted.hint#cp-none', status
      ? `没有${status === 'open' ? '进行中' : '已结束'}的检测任务。`
      : (canManageTesting(app.user) ? '还没有检测任务。可在左侧“发起检测”。' : '您的辖区还没有检测任务。')));
  };
  async function load(v) {
    status = v;
    const my = ++seq;
    for (const b of filter.children) b.setAttribute('aria-pressed', String(b.dataset.v === v));
    cursor = null; shown = 0;
    clear(ul); clear(body);
    body.append(spinner('正在加载检测任务…'));
    try { await page(my); } catch (e) {
      if (my !== seq || !nav.alive()) return;
      clear(body);
      if (e.status === 403) { clear(list); noAccess(list, app.user, e); return; }
      body.append(h('div.panel.empty', h('p', errorText(e))));
      app.showError(e, '加载检测任务失败');
      return;
    }
    if (my !== seq || !nav.alive()) return;
    body.querySelector('.loading')?.remove();
    body.prepend(ul);
  }
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(seq); } catch (e) { if (nav.alive()) app.showError(e, '加载更多失败'); }
    more.disabled = false;
  });
  load('');

  // the countdowns move on without a reload
  const tick = setInterval(() => {
    for (const li of ul.children) {
      const c = li._campaign;
      if (!c) continue;
      const cd = countdown(c);
      const el = li.querySelector('.t-countdown');
      el.textContent = cd.text;
      el.dataset.state = cd.state;
    }
  }, 30000);
  onCleanup(() => clearInterval(tick));
}

function campaignRow(c, user) {
  const cd = countdown(c);
  const grid = ownGrid(user);
  const href = grid ? missingHref(c.id, grid) : dashHref(c.id);
  const cov = coverage(c);
  const elapsed = c.status === 'closed' ? null : elapsedOf(c);
  const li = h('li.t-campaign', { dataset: { id: c.id, status: c.status } },
    h('div.t-c-head',
      h('a.t-c-name', { href }, c.name || `检测 #${c.id}`),
      h('span.tag.t-kind', kindLabel(c.kind)),
      h('span.t-status', { dataset: { status: c.status } }, c.status === 'closed' ? '已结束' : '进行中')),
    h('div.t-c-meta.muted',
      h('span', c.region ? c.region.name : ''), c.region ? h('span.code', c.region.code) : null,
      h('span', `截止 ${when(c.deadline)}`),
      h('span.t-countdown', { dataset: { state: cd.state } }, cd.text)),
    progressBar(cov, elapsed, '采样进度'),
    h('div.t-c-figs',
      h('span.t-c-fig', '已采 ', h('b.t-c-sampled', num(c.sampled)), ' / 应检 ', h('b.t-c-expected', num(c.expected))),
      h('span.t-c-fig', '覆盖 ', h('b', pct(cov))),
      c.positive ? h('span.t-c-fig.t-pos', '阳性 ', h('b', num(c.positive))) : null,
      h('span.t-c-fig', '未检 ', h('b.t-c-missing', num(c.missing))),
      grid ? h('a.t-c-dash', { href: dashHref(c.id) }, '进度') : null));
  li._campaign = c;
  return li;
}

// ---------------------------------------------------------------- region cascade

// Cascading selects over the region tree, from the user's scope down.
// chosen() -> {code, name} of the deepest choice, or null.
function regionSelect(id, label, { minLevel = 0 } = {}) {
  const wrap = h(`div.t-cascade#${id}`);
  const el = h('div.field.wide', h('span.field-label', label), wrap);
  const levels = [];
  async function addLevel(parent, depth) {
    const sel = h(`select#${id}-${depth}`, { 'aria-label': `${label}（第 ${depth + 1} 级）`, disabled: true }, h('option', { value: '' }, '加载中…'));
    wrap.append(sel);
    levels.push(sel);
    let r;
    try { r = await get('/api/v1/regions', parent ? { parent: parent.code, limit: 1000 } : undefined); } catch (e) {
      clear(sel).append(h('option', { value: '' }, `无法加载：${errorText(e)}`));
      return;
    }
    clear(sel);
    sel.disabled = false;
    sel.append(h('option', { value: '' }, parent ? `（整个${parent.name}）` : '请选择'));
    for (const it of r.items) sel.append(h('option', { value: it.code, dataset: { name: it.name, level: it.level } }, `${it.name}（${it.level_name || LEVEL_NAMES[it.level] || ''}）`));
    if (!r.items.length && parent) { sel.remove(); levels.pop(); return; }
    sel.addEventListener('change', () => {
      while (levels.length > depth + 1) levels.pop().remove();
      const o = sel.selectedOptions[0];
      if (sel.value && Number(o.dataset.level) < GRID_LEVEL) addLevel({ code: sel.value, name: o.dataset.name }, depth + 1);
    });
    if (!parent && r.items.length === 1) { sel.value = r.items[0].code; sel.dispatchEvent(new Event('change')); }
  }
  addLevel(null, 0);
  return {
    el,
    chosen() {
      for (let i = levels.length - 1; i >= 0; i--) {
        const s = levels[i];
        if (s.value) {
          const o = s.selectedOptions[0];
          if (Number(o.dataset.level) < minLevel) return null;
          return { code: s.value, name: o.dataset.name };
        }
      }
      return null;
    },
    focus() { (levels[levels.length - 1] || wrap).focus(); },
  };
}

// A message box: say(text) / say(text, 'ok') / say('') hides it.
function msgBox(id) {
  const el = h(`div.form-error#${id}`, { role: 'alert', hidden: true });
  const say = (t, kind = 'error') => { el.textContent = t; el.className = kind === 'ok' ? 'form-info wide' : 'form-error wide'; el.hidden = !t; };
  return { el, say };
}

const ID_RE = /^\d{17}[\dX]$/;

function launchForm(app, nav) {
  const name = h('input#cp-name', { name: 'name', maxlength: 60, autocomplete: 'off', placeholder: '如：汉滨区第 3 轮全员核酸检测' });
  const kind = h('select#cp-kind', { name: 'kind' }, KINDS.map(([v, l]) => h('option', { value: v }, l)));
  const region = regionSelect('cp-region', '检测区域');
  const starts = h('input#cp-starts', { type: 'datetime-local', name: 'starts_at' });
  const deadline = h('input#cp-deadline', { type: 'datetime-local', name: 'deadline' });
  const pool = h('select#cp-pool', { name: 'pool_size' }, POOLS.map(k => h('option', { value: k, selected: k === 10 ? true : undefined }, k === 1 ? '单管（1 人 1 管）' : `${k} 混 1`)));
  const occ = h('input#cp-occupations', { name: 'occupations', autocomplete: 'off', placeholder: '留空：按政策的重点职业（如 cold_chain, port）' });
  const persons = h('textarea#cp-persons', { name: 'persons', rows: 4, placeholder: '每行一个身份证号' });
  const occField = h('label.field.wide#cp-occ-field', { hidden: true }, h('span.field-label', '重点职业（逗号分隔）'), occ);
  const personsField = h('label.field.wide#cp-persons-field', { hidden: true }, h('span.field-label', '检测名单'), persons);
  kind.addEventListener('change', () => {
    occField.hidden = kind.value !== 'periodic';
    personsField.hidden = kind.value !== 'targeted';
  });
  const msg = msgBox('cp-msg');
  const submit = h('button.btn.btn-primary#cp-submit', { type: 'submit' }, '发起检测');
  const form = h('form.card.t-form#campaign-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    msg.say('');
    const r = region.chosen();
    if (!name.value.trim()) { msg.say('请填写检测任务名称。'); name.focus(); return; }
    if (!r) { msg.say('请选择检测区域。'); region.focus(); return; }
    const body = { name: name.value.trim(), kind: kind.value, region: r.code, pool_size: Number(pool.value),
      starts_at: isoOf(starts.value), deadline: isoOf(deadline.value) };
    if (kind.value === 'periodic' && occ.value.trim()) body.occupations = occ.value.split(/[,，\s]+/).filter(Boolean);
    if (kind.value === 'targeted') {
      const ids = persons.value.split(/\s+/).map(s => s.trim().toUpperCase()).filter(Boolean);
      const bad = ids.findIndex(s => !ID_RE.test(s));
      if (!ids.length) { msg.say('指定名单检测须填写至少一个身份证号。'); persons.focus(); return; }
      if (bad >= 0) { msg.say(`第 ${bad + 1} 行不是 18 位身份证号：${ids[bad]}`); persons.focus(); return; }
      body.persons = ids;
    }
    submit.disabled = true;
    submit.textContent = '正在发起…';
    try {
      const c = await request('POST', '/api/v1/campaigns', { body });
      if (nav.alive()) location.hash = dashHref(c.id);
    } catch (e) {
      if (!nav.alive()) return;
      msg.say(e.status === 404 ? '该区域不存在或不在您的管辖范围内。'
        : e.status === 403 ? '无权发起检测。' : e.status === 400 ? `请求有误：${e.message}` : errorText(e));
    } finally {
      submit.disabled = false;
      submit.textContent = '发起检测';
    }
  } },
  h('div.card-head', h('h2', '发起检测')),
  h('div.card-body.t-grid',
    h('label.field.wide', h('span.field-label', '名称'), name),
    h('label.field', h('span.field-label', '类型'), kind),
    h('label.field', h('span.field-label', '混管'), pool),
    region.el,
    h('label.field', h('span.field-label', '开始时间（可空）'), starts),
    h('label.field', h('span.field-label', '截止时间（可空）'), deadline),
    occField, personsField,
    h('p.field-hint.wide', '开始时间留空为现在；截止时间留空按现行政策的期限（全员、核心区以天计，划定区域以小时计）。应检人数按发起时的户籍人口计算，婴幼儿和正在隔离的人员不计入。时间均为北京时间。'),
    msg.el,
    h('div.form-actions.wide', submit)));
  return form;
}

function siteForm(app, nav) {
  const code = h('input#site-code', { name: 'code', maxlength: 32, autocomplete: 'off', placeholder: '如：S-610902-001' });
  const name = h('input#site-name', { name: 'name', maxlength: 60, autocomplete: 'off', placeholder: '如：新城街道体育馆采样点' });
  const region = regionSelect('site-region', '所在区域');
  const cap = h('input#site-capacity', { type: 'number', name: 'capacity_per_hour', min: 1, step: 1, value: 300, inputmode: 'numeric' });
  const opens = h('input#site-opens', { type: 'time', name: 'opens', value: '07:00' });
  const closes = h('input#site-closes', { type: 'time', name: 'closes', value: '22:00' });
  const msg = msgBox('site-msg');
  const submit = h('button.btn#site-submit', { type: 'submit' }, '添加采样点');
  return h('form.card.t-form#site-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    msg.say('');
    const r = region.chosen();
    if (!code.value.trim()) { msg.say('请填写采样点编码。'); code.focus(); return; }
    if (!name.value.trim()) { msg.say('请填写采样点名称。'); name.focus(); return; }
    if (!r) { msg.say('请选择采样点所在区域。'); region.focus(); return; }
    if (!(Number(cap.value) > 0)) { msg.say('每小时采样能力应为正整数。'); cap.focus(); return; }
    submit.disabled = true;
    try {
      const res = await request('POST', '/api/v1/sites', { body: {
        code: code.value.trim(), name: name.value.trim(), region: r.code,
        capacity_per_hour: Number(cap.value), opens: opens.value || undefined, closes: closes.value || undefined } });
      if (!nav.alive()) return;
      msg.say(`已保存采样点「${res.name}」（${res.code}），每小时 ${num(res.capacity_per_hour)} 人。`, 'ok');
    } catch (e) {
      if (!nav.alive()) return;
      msg.say(e.status === 409 ? `编码 ${code.value.trim()} 已被另一个采样点使用（信息不同）。`
        : e.status === 404 ? '该区域不存在或不在您的管辖范围内。' : e.status === 400 ? `请求有误：${e.message}` : errorText(e));
    } finally {
      submit.disabled = false;
    }
  } },
  h('div.card-head', h('h2', '采样点')),
  h('div.card-body.t-grid',
    h('label.field', h('span.field-label', '编码'), code),
    h('label.field', h('span.field-label', '名称'), name),
    region.el,
    h('label.field', h('span.field-label', '每小时采样能力（人）'), cap),
    h('div.t-hours', h('label.field', h('span.field-label', '开放'), opens), h('label.field', h('span.field-label', '关闭'), closes)),
    msg.el,
    h('div.form-actions.wide', submit)));
}

// ---------------------------------------------------------------- dashboard

export async function renderCampaign(root, id, query, app, nav) {
  const box = h('section.t-dash');
  root.append(box);
  const crumbs = h('nav.breadcrumb#t-crumbs', { 'aria-label': '位置' }, h('a.crumb', { href: '#/testing' }, '‹ 核酸检测'));
  box.append(crumbs);
  if (!canReadTesting(app.user)) { noAccess(box, app.user); return; }
  const onCleanup = cleanups(nav);
  const wait = spinner('正在统计检测进度…');
  box.append(wait);
  const region = query.get('region') || undefined;
  let cov;
  try {
    cov = await get(`/api/v1/campaigns/${encodeURIComponent(id)}/coverage`, { region, depth: 1 });
  } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    failPanel(box, app, e, '加载检测进度失败', region ? '该区域不在此次检测范围内，或不在您的管辖范围内。' : '该检测任务不存在，或不在您的管辖范围内。');
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  const c = cov.campaign, node = cov.tree, p = cov.progress || {};
  document.title = `${c.name} · 核酸检测 · 防控`;
  drillCrumbs(crumbs, c, node, app, nav);
  const cd = countdown(c, Date.parse(cov.as_of) || Date.now());
  const manage = canManageTesting(app.user) && c.status === 'open';
  const closeBox = h('span.t-close-box');
  box.append(
    h('div.region-head',
      h('div.region-title',
        h('h1#t-title', c.name),
        h('span.tag', kindLabel(c.kind)),
        h('span.t-status', { dataset: { status: c.status } }, c.status === 'closed' ? '已结束' : '进行中'),
        node.code !== (c.region && c.region.code) ? h('span.tag.t-node#t-node', `${LEVEL_NAMES[node.level] || ''} · ${node.name}`) : null),
      h('div.t-head-tools',
        h('span.muted.small#t-asof', `数据截至 ${when(cov.as_of)}`),
        h('button.btn.btn-small#t-refresh', { type: 'button', onclick: () => app.go(location.hash) }, '刷新'),
        manage ? closeBox : null)),
    h('p.t-sub.muted',
      `${c.region ? c.region.name : ''} · ${c.pool_size === 1 ? '单管' : `${c.pool_size} 混 1`} · ${when(c.starts_at)} 至 ${when(c.deadline)} · `,
      h('span.t-countdown#t-countdown', { dataset: { state: cd.state } }, cd.text)),
    headline(node, p, c),
  );
  if (manage) closeButton(closeBox, c, app, nav);

  const children = node.children || [];
  if (node.level >= GRID_LEVEL) {
    box.append(h('div.panel.t-grid-self',
      h('p', `本网格未检 `, h('b', num(node.missing)), ' 人。'),
      h('p', h('a.btn.btn-primary#missing-link-self', { href: missingHref(c.id, node.code) }, '查看本网格未检名单'))));
  } else if (!children.length) {
    box.append(h('div.panel.empty#t-no-children', h('p', '没有下级区域。')));
  } else {
    const childLevel = LEVEL_NAMES[children[0].level] || '下级区域';
    const chartEl = h('div.t-chart#cov-chart', { role: 'img', 'aria-label': `各${childLevel}应检、已采、已出结果与应达进度` });
    box.append(h('section.card.t-chart-card',
      h('div.card-head', h('h2', `各${childLevel}进度`),
        h('p.muted.chart-note#cov-chart-note', children.length > MAX_CHART_ROWS
          ? `应检人数最多的 ${MAX_CHART_ROWS} 个（共 ${num(children.length)} 个）；点击条形${children[0].level >= GRID_LEVEL ? '查看未检名单' : '逐级查看'}`
          : `竖线为按时间应达到的采样人数；点击条形${children[0].level >= GRID_LEVEL ? '查看未检名单' : '逐级查看'}`)),
      chartEl),
    coverageTable(c, node, children, p.time_elapsed));
    drawChart(chartEl, c, children, p.time_elapsed, app, nav, onCleanup);
  }
  const side = h('div.t-side');
  box.append(side);
  pendingCard(side, c, node, cov.pending || {}, app, nav);
  sitesCard(side, c, app, nav);
}

function drillCrumbs(crumbs, c, node, app, nav) {
  const area = c.region ? c.region.code : '';
  const scope = (app.user && app.user.scope) || '';
  const top = h('a.crumb#t-crumb-campaign', { href: dashHref(c.id) }, c.name);
  crumbs.append(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'), top);
  if (node.code === area) { top.replaceWith(h('span.crumb-current#t-crumb-campaign', c.name)); return; }
  const tail = h('span.t-crumb-tail');
  crumbs.append(tail);
  // the levels between the area and this node, for the way back up
  get(`/api/v1/regions/${encodeURIComponent(node.code)}`).then(r => {
    if (!nav.alive()) return;
    for (const p of r.path || []) {
      if (p.code.length <= area.length || !p.code.startsWith(area) || !p.code.startsWith(scope.slice(0, p.code.length))) continue;
      const inScope = p.code.startsWith(scope);
      tail.append(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'),
        inScope ? h('a.crumb', { href: dashHref(c.id, p.code) }, p.name) : h('span.crumb.crumb-off', p.name));
    }
    tail.append(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'), h('span.crumb-current', { 'aria-current': 'page' }, node.name));
  }).catch(() => {
    tail.append(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'), h('span.crumb-current', node.name));
  });
}

function fig(key, label, value, note) {
  return h('div.figure', { dataset: { fig: key } },
    h('div.figure-label', label),
    h(`div.figure-value#tf-${key}`, value),
    note ? h(`div.figure-note#tf-${key}-note`, note) : null);
}

function headline(node, p, c) {
  const cov = coverage(node);
  const onTrack = p.on_track;
  return h('div.t-figures',
    h('div.figures.t-counts#t-figures',
      fig('expected', '应检', num(node.expected), `豁免 ${num(node.exempt)} 人`),
      fig('sampled', '已采样', num(node.sampled)),
      fig('resulted', '已出结果', num(node.resulted)),
      fig('positive', '阳性', num(node.positive)),
      fig('missing', '未检', num(node.missing))),
    h('div.card.t-progress#t-progress',
      h('div.t-prog-row',
        h('span.t-prog-label', '采样进度'),
        progressBar(p.sampled ?? cov, c.status === 'closed' ? null : p.time_elapsed ?? null, '采样进度'),
        h('b.t-prog-val#tp-sampled', pct(p.sampled ?? cov))),
      h('div.t-prog-row',
        h('span.t-prog-label', '结果进度'),
        progressBar(p.resulted ?? null, null, '结果进度'),
        h('b.t-prog-val#tp-resulted', pct(p.resulted))),
      h('div.t-prog-row',
        h('span.t-prog-label', '时间进度'),
        progressBar(p.time_elapsed ?? null, null, '时间进度'),
        h('b.t-prog-val#tp-time', pct(p.time_elapsed))),
      h('div.t-prog-facts',
        h('span', '近一小时采样 ', h('b#tp-last-hour', num(p.samples_last_hour)), ' 人'),
        h('span', '预计完成 ', h('b#tp-projected', p.projected_end ? when(p.projected_end) : '—')),
        c.status === 'closed'
          ? h('span.t-track#tp-track', { dataset: { state: 'closed' } }, '已结束')
          : h('span.t-track#tp-track', { dataset: { state: onTrack ? 'ok' : 'late' } }, onTrack ? '按期' : '滞后'))));
}

function closeButton(slot, c, app, nav) {
  const btn = h('button.btn.btn-small#cp-close', { type: 'button' }, '结束检测');
  const confirm = h('span.t-confirm#cp-close-confirm', { hidden: true },
    '结束后不再接收新的采样（已采样的管仍可录入结果）。',
    h('button.btn.btn-small.btn-primary#cp-close-yes', { type: 'button', onclick: async ev => {
      ev.currentTarget.disabled = true;
      try {
        await request('POST', `/api/v1/campaigns/${encodeURIComponent(c.id)}/close`, { body: {} });
      } catch (e) {
        if (nav.alive()) { app.showError(e, '结束检测失败'); confirm.hidden = true; }
        return;
      }
      if (nav.alive()) app.go(location.hash);
    } }, '确认结束'),
    h('button.btn.btn-small', { type: 'button', onclick: () => { confirm.hidden = true; } }, '取消'));
  btn.addEventListener('click', () => { confirm.hidden = false; });
  slot.append(btn, confirm);
}

// The rows drawn: the largest MAX_CHART_ROWS by expected, in table order.
function chartRows(children) {
  if (children.length <= MAX_CHART_ROWS) return children;
  const keep = new Set(children.slice().sort((a, b) => b.expected - a.expected).slice(0, MAX_CHART_ROWS));
  return children.filter(x => keep.has(x));
}

async function drawChart(el, c, children, elapsed, app, nav, onCleanup) {
  el.append(spinner('正在绘制图表…'));
  let echarts;
  try { echarts = await loadEcharts(); } catch (e) {
    if (!nav.alive()) return;
    clear(el);
    el.style.height = 'auto';
    el.append(h('p.muted.empty', '图表无法显示；下方表格数据不受影响。'));
    app.showError(e.message || String(e));
    return;
  }
  if (!nav.alive()) return;
  clear(el);
  // top to bottom in table order (ECharts draws categories bottom-up)
  const rows = chartRows(children).slice().reverse();
  el.style.height = Math.max(240, rows.length * 40 + 70) + 'px';
  const chart = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
  const ro = window.ResizeObserver ? new ResizeObserver(() => chart.resize()) : null;
  if (ro) ro.observe(el);
  onCleanup(() => { if (ro) ro.disconnect(); chart.dispose(); });
  const narrow = el.clientWidth < 480;
  const t = c.status === 'closed' ? null : elapsed;
  const due = r => (t === null || t === undefined ? null : Math.round(t * r.expected));
  const series = (name, key, color) => ({
    name, type: 'bar', barGap: '10%', barCategoryGap: '28%', cursor: 'pointer',
    data: rows.map(r => ({ value: r[key], code: r.code, level: r.level })),
    itemStyle: { color, borderRadius: [0, 2, 2, 0] },
  });
  chart.setOption({
    animationDuration: 300,
    legend: { top: 0, itemWidth: 14, itemHeight: 10, textStyle: { color: '#33475b' } },
    grid: { left: 8, right: narrow ? 16 : 32, top: 30, bottom: 20, containLabel: true },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
      formatter: ps => {
        const r = rows[ps[0].dataIndex];
        const d = due(r);
        return `<b>${esc(r.name)}</b><br>应检 ${num(r.expected)}<br>已采样 ${num(r.sampled)}<br>已出结果 ${num(r.resulted)}`
          + `${r.positive ? `<br>阳性 ${num(r.positive)}` : ''}<br>未检 ${num(r.missing)}`
          + (d === null ? '' : `<br>按时间应达 ${num(d)}`);
      },
    },
    xAxis: { type: 'value', axisLabel: { color: '#5b6b7f' }, splitLine: { lineStyle: { color: '#e6ebf1' } } },
    yAxis: {
      type: 'category', data: rows.map(r => r.name), axisTick: { show: false },
      axisLine: { lineStyle: { color: '#c8d2de' } },
      axisLabel: { color: '#1d2b3a', fontSize: 12, width: narrow ? 76 : 130, overflow: 'truncate' },
    },
    series: [
      series('应检', 'expected', '#c9d6e4'),
      series('已采样', 'sampled', '#1f6fb2'),
      series('已出结果', 'resulted', '#2bb3a3'),
      // where each region should be by now: a tick across its bars
      ...(t === null || t === undefined ? [] : [{
        name: '应达进度', type: 'scatter', symbol: 'rect', symbolSize: [3, 30], z: 5, cursor: 'pointer',
        itemStyle: { color: '#b3261e' },
        data: rows.map(r => ({ value: [due(r), r.name], code: r.code, level: r.level })),
      }]),
    ],
  });
  el.dataset.rows = String(rows.length);
  chart.on('click', ev => {
    const d = ev.data;
    if (!d || !d.code) return;
    location.hash = d.level >= GRID_LEVEL ? missingHref(c.id, d.code) : dashHref(c.id, d.code);
  });
}

const COLUMNS = [
  ['expected', '应检'], ['exempt', '豁免'], ['sampled', '已采样'], ['resulted', '已出结果'], ['positive', '阳性'], ['missing', '未检'],
];

function coverageTable(c, node, children, elapsed) {
  const grids = children[0].level >= GRID_LEVEL;
  const t = c.status === 'closed' ? null : elapsed;
  const row = (r, total) => {
    const cov = coverage(r);
    const late = t !== null && t !== undefined && cov !== null && cov + 1e-9 < t;
    const href = grids ? missingHref(c.id, r.code) : dashHref(c.id, r.code);
    return h(total ? 'tr.t-total' : 'tr', {
      dataset: { code: r.code, late: late ? '1' : '0' },
      onclick: total ? undefined : ev => { if (ev.target.tagName !== 'A') location.hash = href; },
    },
    h('td.name', { 'data-label': '区域' },
      total ? h('span', `合计 · ${r.name}`) : h('a.rname', { href }, r.name), h('span.code', r.code)),
    COLUMNS.map(([k, label]) => h('td.num', { 'data-label': label, dataset: { fig: k } }, num(r[k]))),
    h('td.num', { 'data-label': '覆盖', dataset: { fig: 'coverage' } }, pct(cov), late ? h('span.t-late', ' 滞后') : null),
    h('td.t-act', { 'data-label': '' }, !total && grids
      ? h('a.btn.btn-small.missing-link', { href: missingHref(c.id, r.code), dataset: { grid: r.code } }, `未检名单 ${num(r.missing)}`)
      : null));
  };
  return h('section.card.list-card.t-table-card',
    h('div.card-head', h('h2', '分区统计'), h('span.muted.count', `${num(children.length)} 个${LEVEL_NAMES[children[0].level] || '下级区域'}`)),
    h('div.table-wrap', h('table.table.rtable#cov-table',
      h('thead', h('tr', h('th', '区域'), COLUMNS.map(([, l]) => h('th.num', l)), h('th.num', '覆盖'), h('th', ''))),
      h('tbody', children.map(r => row(r, false))),
      h('tfoot', row(node, true)))));
}

// ---- pending work: retests, resamples, candidates

function pendingCard(side, c, node, pending, app, nav) {
  const card = h('section.card.list-card#t-pending');
  side.append(card);
  const canTrace = !!app.user && TRACE_ROLES.has(app.user.role);
  card.append(h('div.card-head', h('h2', '待办'), h('span.muted.count', node.name)),
    h('div.t-pend-figs',
      pendFig('retest', '待复核（混管阳性）', pending.retest_tasks),
      pendFig('resample', '待重采（无效管）', pending.resample_tasks),
      pendFig('overdue', '已逾期', pending.overdue_tasks),
      pendFig('candidates', '待确认阳性（单管）', pending.candidates)));
  const tasks = h('div.t-tasks#t-tasks');
  card.append(tasks);
  taskList(tasks, node, app, nav);
  if (canTrace && pending.candidates) {
    const cand = h('div.t-cands#t-cands');
    card.append(cand);
    candidateList(cand, node, app, nav);
  }
}

function pendFig(key, label, v) {
  return h('div.t-pend', { dataset: { fig: key, on: v ? '1' : '0' } }, h(`b#tpend-${key}`, num(v ?? 0)), h('span', label));
}

function taskList(box, node, app, nav) {
  const ul = h('ul.t-task-list#task-list');
  const more = h('button.btn.btn-small#task-more', { type: 'button', hidden: true }, '更多');
  let cursor = null, shown = 0;
  const page = async () => {
    const r = await get('/api/v1/tasks', { region: node.code, status: 'open', limit: 20, cursor });
    if (!nav.alive()) return;
    cursor = r.next_cursor;
    for (const t of r.items) {
      shown++;
      ul.append(h('li.t-task', { dataset: { id: t.id, kind: t.kind, overdue: t.overdue ? '1' : '0' } },
        h('div.t-task-head', h('span.tag.t-task-kind', taskKind(t.kind)),
          h('b', t.person ? t.person.name : '—'), h('span.mono', t.person ? t.person.id_number : ''),
          t.overdue ? h('span.tag.tag-overdue', '逾期') : null),
        h('div.t-task-meta.muted', t.region ? t.region.name : '', ` · 限 ${short(t.due_at)} 前`, t.source ? ` · ${t.source}` : '')));
    }
    more.hidden = !cursor;
  };
  box.append(h('h3.t-h3', '采样任务'), spinner('正在加载任务…'));
  page().then(() => {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    box.append(shown ? ul : h('p.muted.small.t-none#task-none', '没有待办的复核或重采任务。'), h('div.t-foot', more));
  }).catch(e => {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    box.append(h('p.muted.small', `任务无法加载：${errorText(e)}`));
  });
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(); } catch (e) { if (nav.alive()) app.showError(e, '加载更多任务失败'); }
    more.disabled = false;
  });
}

// The pending candidates of the region shown (the list is the user's whole
// scope, oldest first: those of this region are kept).
function candidateList(box, node, app, nav) {
  box.append(h('h3.t-h3', '待确认的单管阳性'), spinner());
  get('/api/v1/candidates', { status: 'pending', limit: 1000 }).then(r => {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    const items = r.items.filter(x => !x.region || !x.region.code || x.region.code.startsWith(node.code));
    if (!items.length) { box.append(h('p.muted.small', '没有待确认的单管阳性。')); return; }
    box.append(h('ul.t-task-list#cand-list', items.map(x => {
      const p = x.person || {};
      return h('li.t-task', { dataset: { id: x.id } },
        h('div.t-task-head', h('span.tag.t-pos-tag', '单管阳性'), h('b', p.name || '—'), h('span.mono', p.id_number || '')),
        h('div.t-task-meta.muted', x.region && x.region.name ? `${x.region.name} · ` : '', x.tube ? `管 ${x.tube} · ` : '',
          `采样 ${short(x.sampled_at)} · 结果 ${short(x.resulted_at)}`));
    })), h('p.muted.small', '由指挥部或流调溯源组确认后建为病例并开展流调。'));
  }).catch(e => {
    if (!nav.alive()) return;
    box.querySelector('.loading')?.remove();
    box.append(h('p.muted.small', `无法加载：${errorText(e)}`));
  });
}

// ---- sites and their throughput

function sitesCard(side, c, app, nav) {
  const card = h('section.card.list-card#t-sites', h('div.card-head', h('h2', '采样点'), h('span.muted.count#t-sites-count')), spinner('正在加载采样点…'));
  side.append(card);
  get(`/api/v1/campaigns/${encodeURIComponent(c.id)}/sites`).then(r => {
    if (!nav.alive()) return;
    card.querySelector('.loading')?.remove();
    const items = r.items || [];
    card.querySelector('#t-sites-count').textContent = `${num(items.length)} 个`;
    if (!items.length) { card.append(h('p.muted.hint#t-sites-none', '还没有采样点为此次检测采样。')); return; }
    card.append(h('ul.t-site-list#site-list', items.map(siteRow)));
  }).catch(e => {
    if (!nav.alive()) return;
    card.querySelector('.loading')?.remove();
    card.append(h('p.muted.hint', `采样点无法加载：${errorText(e)}`));
  });
}

function siteRow(s) {
  const load = s.capacity_per_hour ? s.last_hour / s.capacity_per_hour : null;
  return h('li.t-site', { dataset: { code: s.code } },
    h('div.t-site-head', h('b.t-site-name', s.name), h('span.code', s.code),
      s.region ? h('span.muted.small', s.region.name) : null),
    h('div.t-site-figs',
      h('span', '累计 ', h('b.t-site-samples', num(s.samples))),
      h('span', '近一小时 ', h('b.t-site-last', num(s.last_hour))),
      h('span', '能力 ', h('b', num(s.capacity_per_hour)), '/小时'),
      load === null ? null : h('span.t-load', { dataset: { high: load >= 0.9 ? '1' : '0' } }, `负荷 ${pct(load)}`)),
    sparkline(s.hours || [], s.capacity_per_hour));
}

// 24 hourly bars against the site's capacity (a dashed line), as SVG.
function sparkline(hours, cap) {
  const W = 240, H = 40, n = 24;
  const byHour = new Map(hours.map(x => [Date.parse(x.hour), x.samples]));
  const last = hours.length ? Math.max(...hours.map(x => Date.parse(x.hour))) : Math.floor(Date.now() / 3600000) * 3600000;
  const vals = [];
  for (let i = n - 1; i >= 0; i--) vals.push(byHour.get(last - i * 3600000) || 0);
  const max = Math.max(cap || 0, ...vals, 1);
  const bw = W / n;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 't-spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `近 24 小时每小时采样人数，最多 ${Math.max(...vals)} 人；能力 ${cap} 人/小时`);
  vals.forEach((v, i) => {
    const bh = (v / max) * (H - 2);
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', (i * bw + 1).toFixed(1));
    r.setAttribute('y', (H - bh).toFixed(1));
    r.setAttribute('width', (bw - 2).toFixed(1));
    r.setAttribute('height', bh.toFixed(1));
    r.setAttribute('class', cap && v > cap ? 'over' : 'bar');
    const tt = document.createElementNS(ns, 'title');
    tt.textContent = `${new Date(last - (n - 1 - i) * 3600000).getHours()} 时：${v} 人`;
    r.append(tt);
    svg.append(r);
  });
  if (cap) {
    const y = (H - (cap / max) * (H - 2)).toFixed(1);
    const l = document.createElementNS(ns, 'line');
    l.setAttribute('x1', 0); l.setAttribute('x2', W); l.setAttribute('y1', y); l.setAttribute('y2', y);
    l.setAttribute('class', 'cap');
    svg.append(l);
  }
  return h('div.t-spark-wrap', svg, h('span.muted.small', '近 24 小时 · 虚线为能力'));
}

// ---------------------------------------------------------------- missing list

export async function renderMissing(root, id, query, app, nav) {
  const grid = query.get('grid') || ownGrid(app.user) || '';
  const box = h('section.t-missing');
  root.append(box);
  const back = h('a.crumb#missing-back', { href: dashHref(id, grid || undefined) }, '‹ 检测进度');
  box.append(h('nav.breadcrumb', back));
  if (!canReadTesting(app.user)) { noAccess(box, app.user); return; }
  if (!/^\d{15}$/.test(grid)) {
    box.append(h('div.panel.empty#missing-nogrid', h('p', '请从检测进度页的网格列表打开未检名单。'),
      h('p', h('a.btn', { href: dashHref(id) }, '返回检测进度'))));
    return;
  }
  const wait = spinner('正在加载未检名单…');
  box.append(wait);
  const path = `/api/v1/campaigns/${encodeURIComponent(id)}/missing`;
  let c, first, region = null;
  try {
    [c, first, region] = await Promise.all([
      get(`/api/v1/campaigns/${encodeURIComponent(id)}`),
      get(path, { grid, limit: MISSING_PAGE }),
      get(`/api/v1/regions/${encodeURIComponent(grid)}`).catch(() => null),
    ]);
  } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    failPanel(box, app, e, '加载未检名单失败', '该网格不在此次检测范围内，或不在您的管辖范围内。', dashHref(id));
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  document.title = `未检名单 · ${region ? region.name : grid} · 防控`;
  const gridName = region ? region.name : grid;
  const parent = region && region.path && region.path.length ? region.path[region.path.length - 1].name : '';
  const xlsxPath = `/api/v1/campaigns/${encodeURIComponent(id)}/missing.xlsx?region=${encodeURIComponent(grid)}`;
  const xlsxMsg = h('p.small.t-xlsx-msg#missing-xlsx-msg', { role: 'status', hidden: true });
  const xlsx = h('a.btn.t-xlsx#missing-xlsx', { href: xlsxPath, download: `未检名单-${c.id}-${grid}.xlsx`, onclick: ev => {
    // the file needs the bearer token, which a plain link does not send
    ev.preventDefault();
    downloadXlsx(xlsx, xlsxMsg, xlsxPath, `未检名单-${c.id}-${grid}.xlsx`);
  } }, '下载台账（Excel）');
  const count = h('span#missing-count', num(first.total));
  const shownEl = h('span.muted.small#missing-shown');
  const ul = h('ul.t-mlist#missing-list');
  const more = h('button.btn.btn-block.t-more#missing-more', { type: 'button', hidden: true }, '更多');
  box.append(
    h('div.t-m-head',
      h('h1.t-m-title#missing-title', gridName),
      h('p.muted.small.t-m-sub', parent ? `${parent} · ` : '', c.name),
      h('div.t-m-count', h('span', '未检'), count, h('span', '人'), shownEl),
      h('div.t-m-tools', xlsx), xlsxMsg),
  );
  if (!first.total && !first.items.length) {
    box.append(h('div.panel.empty.t-m-none#missing-none', h('p', '本网格应检人员均已采样。')));
    return;
  }
  box.append(ul, more);
  let cursor = first.next_cursor, shown = 0;
  const add = items => {
    for (const it of items) { shown++; ul.append(missingRow(it, shown)); }
    shownEl.textContent = shown < first.total ? `已显示 ${num(shown)}` : '';
    more.hidden = !cursor;
  };
  add(first.items);
  more.addEventListener('click', async () => {
    more.disabled = true;
    more.textContent = '加载中…';
    try {
      const r = await get(path, { grid, limit: MISSING_PAGE, cursor });
      if (!nav.alive()) return;
      cursor = r.next_cursor;
      add(r.items);
    } catch (e) { if (nav.alive()) app.showError(e, '加载更多失败'); }
    more.disabled = false;
    more.textContent = '更多';
  });
}

function missingRow(it, n) {
  const p = it.person || {};
  const phone = p.phone || '';
  // a phone number can be called only when it is shown in full
  const tel = phone && !phone.includes('*') ? h('a.t-tel', { href: `tel:${phone}` }, phone) : (phone ? h('span.mono', phone) : null);
  return h('li.t-mrow', { dataset: { id: p.id } },
    h('div.t-m-line1', h('span.t-m-n', n), h('b.t-m-name', p.name || '—'), h('span.mono.t-m-idn', p.id_number || '')),
    h('div.t-m-line2',
      h('span.t-m-hh', it.household || '—'),
      h('span.t-m-occ', occupation(it.occupation)),
      tel));
}

async function downloadXlsx(a, msg, path, filename) {
  msg.hidden = false;
  msg.textContent = '正在生成…';
  a.setAttribute('aria-busy', 'true');
  let blob;
  try { blob = await getBlob(path); } catch (e) {
    a.removeAttribute('aria-busy');
    msg.textContent = `下载失败：${errorText(e)}`;
    return;
  }
  a.removeAttribute('aria-busy');
  const url = URL.createObjectURL(blob);
  const tmp = h('a', { href: url, download: filename, hidden: true });
  document.body.append(tmp);
  tmp.click();
  tmp.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  msg.textContent = `已下载 ${filename}（${num(Math.ceil(blob.size / 1024))} KB）`;
}
