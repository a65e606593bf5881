// Cases (#/cases), one case (#/case/ID) and a transmission chain (#/chain/ID).
//
// The contact graph stays usable at 20,000 contacts because it never draws
// persons by the thousand: the case sits in the centre and its contacts are
// aggregated by grid (or by venue) into at most MAX_GROUPS nodes sized by
// their count, the rest folded into one "其他" node.  Clicking a group
// drills down: that group's contacts are fetched a page at a time
// (?grid= / ?venue=) and at most DRILL_NODES of them are drawn.
import { get, request } from './api.js';
import { h, clear, num, spinner, errorText, duration } from './dom.js';
import { loadEcharts } from './chart.js';

/* Tooltips are HTML: every name from the database goes through esc(). */
const esc = v => String(v ?? '').replace(/[&<>"']/g, ch => `&#${ch.charCodeAt(0)};`);

const PAGE = 50;
const DRILL_PAGE = 100;
export const MAX_GROUPS = 120;
export const DRILL_NODES = 200;
const TABLE_ROWS = 30;

const TRACE_ROLES = new Set(['command', 'tracer']);
export function canTrace(user) { return !!user && TRACE_ROLES.has(user.role); }

const CLASSES = { confirmed: '确诊病例', asymptomatic: '无症状感染者', suspected: '疑似病例' };
const classLabel = c => CLASSES[c] || c;
const ID_RE = /^\d{17}[\dXx]$/;

// "2022-01-10T10:00:00+08:00" -> "01-10 10:00" (times are China Standard Time)
export const shortTime = s => (s ? s.slice(5, 16).replace('T', ' ') : '—');
const fullTime = s => (s ? s.slice(0, 16).replace('T', ' ') : '—');
const day = s => s.slice(0, 10);

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-trace-access', { role: 'note' },
    h('h2', '无流调权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能查看病例和密接。`),
    h('p.muted', '病例、密接、轨迹和传播链仅向指挥部和流调溯源组开放。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

function failPanel(box, app, e, what, notFound) {
  app.showError(e, what);
  box.append(h('div.panel.empty', h('p', e.status === 404 ? notFound : errorText(e)),
    h('p', h('a.btn', { href: '#/cases' }, '返回病例列表'))));
}

// ---------------------------------------------------------------- list + form

export function renderCases(root, app, nav) {
  const box = h('section.cases');
  root.append(box);
  document.title = '病例 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '病例'))));
  if (!canTrace(app.user)) { noAccess(box, app.user); return; }
  const list = h('div.case-list');
  box.append(h('div.cases-body', caseForm(app, nav), list));
  loadList(list, app, nav);
}

// datetime-local "2022-01-10T10:00" -> ISO with the China offset
const isoOf = v => (v ? `${v}:00+08:00` : undefined);

function caseForm(app, nav) {
  const idIn = h('input#case-idn', { name: 'id_number', placeholder: '18 位身份证号', autocomplete: 'off', maxlength: 18, required: true });
  const cls = h('select#case-class', { name: 'classification' },
    Object.entries(CLASSES).map(([v, l]) => h('option', { value: v }, l)));
  const dt = id => h(`input#${id}`, { type: 'datetime-local', name: id });
  const onset = dt('case-onset'), pos = dt('case-positive'), iso = dt('case-isolated');
  const where = h('input#case-where', { name: 'found_where', placeholder: '如：发热门诊、社区筛查', maxlength: 40, autocomplete: 'off' });
  const msg = h('div.form-error#case-msg', { role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary#case-submit', { type: 'submit' }, '添加病例');
  const say = (text, focus) => { msg.textContent = text; msg.hidden = false; if (focus) focus.focus(); };
  const form = h('form.card.case-form#case-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    msg.hidden = true;
    const idn = idIn.value.trim().toUpperCase();
    if (!ID_RE.test(idn)) return say('身份证号应为 18 位（最后一位可为 X）。', idIn);
    if (!onset.value && !pos.value) return say('请填写发病时间或首次阳性采样时间（至少一项）。', onset);
    submit.disabled = true;
    submit.textContent = '正在添加…';
    try {
      const c = await request('POST', '/api/v1/cases', { body: {
        id_number: idn, classification: cls.value, onset_at: isoOf(onset.value),
        first_positive_at: isoOf(pos.value), isolated_at: isoOf(iso.value), found_where: where.value.trim() || undefined,
      } });
      if (nav.alive()) location.hash = `#/case/${c.id}`;
    } catch (e) {
      if (!nav.alive()) return;
      const why = { 409: '此人已是病例。', 422: '数据校验未通过：', 400: '请求有误：', 403: '无权添加病例。' }[e.status];
      say(why ? why + (e.status === 409 || e.status === 403 ? '' : e.message) : errorText(e));
    } finally {
      submit.disabled = false;
      submit.textContent = '添加病例';
    }
  } },
    h('div.card-head', h('h2', '添加病例')),
    h('div.card-body.case-grid',
      h('label.field', h('span.field-label', '身份证号'), idIn),
      h('label.field', h('span.field-label', '分类'), cls),
      h('label.field', h('span.field-label', '发病时间'), onset),
      h('label.field', h('span.field-label', '首次阳性采样时间'), pos),
      h('label.field', h('span.field-label', '隔离管控时间（可空）'), iso),
      h('label.field', h('span.field-label', '发现途径'), where),
      h('p.field-hint.wide', '发病时间与首次阳性采样时间至少填一项；传染期自发病（无症状者自首次阳性采样）前 2 天起算。时间均为北京时间。'),
      msg,
      h('div.form-actions.wide', submit)));
  return form;
}

async function loadList(list, app, nav) {
  list.append(spinner('正在加载病例…'));
  const tbody = h('tbody');
  const count = h('span.muted.count');
  const more = h('button.btn#cases-more', { type: 'button', hidden: true }, '更多');
  let cursor = null, shown = 0;
  const page = async () => {
    const r = await get('/api/v1/cases', { limit: PAGE, cursor });
    // the targets of the same page (same order, same cursor); a case the
    // second answer misses (added in between) is asked for on its own
    const rows = r.items.map(c => { const tr = caseRow(c); tbody.append(tr); return [c, tr]; });
    loadListTargets(rows, cursor, nav);
    cursor = r.next_cursor;
    shown += r.items.length;
    count.textContent = `${num(shown)} 例${cursor ? '，还有更多' : ''}`;
    more.hidden = !cursor;
  };
  try { await page(); } catch (e) {
    if (!nav.alive()) return;
    clear(list);
    if (e.status === 403) { noAccess(list, app.user, e); return; }
    failPanel(list, app, e, '加载病例失败', '');
    return;
  }
  if (!nav.alive()) return;
  clear(list);
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(); } catch (e) { if (nav.alive()) app.showError(e, '加载更多失败'); }
    more.disabled = false;
  });
  list.append(h('section.card.list-card',
    h('div.card-head', h('h2', '病例列表'), count),
    shown ? h('div.table-wrap', h('table.table.rtable#case-table',
      h('thead', h('tr', h('th', '病例'), h('th', '分类'), h('th', '发病 / 首阳'), h('th', '网格'), h('th', '传播链'),
        h('th', { title: TARGETS.map(t => t.label).join(' · ') }, '时间目标'))),
      tbody)) : h('p.muted.hint#cases-none', '暂无病例。'),
    h('div.card-foot', more)));
}

function caseRow(c) {
  const href = `#/case/${c.id}`;
  return h('tr', { dataset: { id: c.id }, onclick: ev => { if (ev.target.tagName !== 'A') location.hash = href; } },
    h('td.name', { 'data-label': '病例' }, h('a', { href }, `#${c.id} ${c.person.name}`)),
    h('td', { 'data-label': '分类' }, h('span.cls-tag', { dataset: { cls: c.classification } }, classLabel(c.classification))),
    h('td', { 'data-label': '发病 / 首阳' }, shortTime(c.onset_at || c.first_positive_at)),
    h('td', { 'data-label': '网格', title: c.person.grid.code }, c.person.grid.name),
    h('td', { 'data-label': '传播链' }, h('a', { href: `#/chain/${c.chain_id}` }, `链 #${c.chain_id}`)),
    h('td.tgt-cell', { 'data-label': '时间目标' }, h('span.muted', '…')));
}

// ---------------------------------------------------------------- one case

export async function renderCase(root, id, app, nav) {
  const box = h('section.case');
  root.append(box);
  box.append(h('nav.breadcrumb', h('a.crumb', { href: '#/cases' }, '‹ 病例列表')));
  if (!canTrace(app.user)) { noAccess(box, app.user); return; }
  const wait = spinner('正在加载病例…');
  box.append(wait);
  let c;
  try {
    c = await get(`/api/v1/cases/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    failPanel(box, app, e, '加载病例失败', '该病例不存在，或不在您的管辖范围内。');
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  document.title = `病例 #${c.id} · 防控`;
  box.append(
    h('div.region-head',
      h('div.region-title',
        h('h1#case-title', `病例 #${c.id} `, c.person.name),
        h('span.cls-tag', { dataset: { cls: c.classification } }, classLabel(c.classification)),
        h('span.code', c.person.id_number)),
      h('a.btn#chain-link', { href: `#/chain/${c.chain_id}` }, `传播链 #${c.chain_id}`)),
    h('div.figures.case-figures',
      figure('close', '密切接触者', num(c.contacts.close)),
      figure('secondary', '次密切接触者', num(c.contacts.secondary)),
      figure('window', '传染期', `${shortTime(c.window.from)} 至 ${shortTime(c.window.to)}`)),
    h('dl.kv.case-kv',
      [['发病时间', fullTime(c.onset_at)], ['首次阳性采样', fullTime(c.first_positive_at)],
        ['隔离管控', c.isolated_at ? fullTime(c.isolated_at) : '未隔离', 'isolated_at'], ['发现途径', c.found_where || '—'],
        ['居住网格', `${c.person.grid.name}（${c.person.grid.code}）`],
        ['转归', outcomeText(c), 'outcome']]
        .map(([k, v, key]) => [h('dt', k), h('dd', key ? { id: `case-${key}` } : {}, v)])));
  const targets = h('section.card.targets-card#case-targets');
  box.append(targets);
  targetsPanel(targets, c, app, nav);
  const traj = h('section.card.traj-card#trajectory', h('div.card-head', h('h2', '行程轨迹')), spinner('正在加载轨迹…'));
  const graph = h('section.card.graph-card#contact-graph-card');
  const counts = h('section.card.list-card#grid-counts');
  box.append(h('div.case-body', traj, h('div.case-main', graph, counts)));
  loadTrajectory(traj, c, app, nav);
  contactGraph(graph, counts, c, app, nav);
}

// ---------------------------------------------------------------- time targets

// The four targets of a case ("2+4+24" and contacts under control); the
// hours come from the server (the policy in force).
export const TARGETS = [
  { name: 'team_on_site', label: '到达现场', short: '到', field: 'team_on_site_at' },
  { name: 'core_info', label: '核心信息', short: '核', field: 'core_info_at' },
  { name: 'report', label: '流调报告', short: '报', field: 'reported_at' },
  { name: 'contacts_controlled', label: '密接管控', short: '控' },
];
export const TARGET_STATUS = { met: '按时完成', missed: '超时完成', overdue: '已超时', pending: '进行中' };
const OUTCOMES = { under_treatment: '治疗中', recovered: '治愈出院', died: '死亡', transferred: '转院' };
const outcomeText = c => `${OUTCOMES[c.outcome] || c.outcome || '治疗中'}${c.outcome_at ? `（${fullTime(c.outcome_at)}）` : ''}`;

// The colours of the four statuses; overdue blinks (not when the user asks
// for reduced motion).  One <style> for the page, added once.
function targetStyles() {
  if (document.getElementById('tgt-styles')) return;
  document.head.append(h('style#tgt-styles', `
.tgt-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 10px; padding: 12px 16px; }
.tgt { border: 1px solid var(--line); border-radius: var(--radius); padding: 10px 12px; background: var(--card); }
.tgt-name { font-weight: 600; }
.tgt-state { display: inline-block; margin: 6px 0 4px; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600; }
.tgt[data-status=met] { border-color: #b5e0c9; } .tgt[data-status=met] .tgt-state, .tgt-dot[data-status=met] { background: var(--ok-bg); color: var(--ok); }
.tgt[data-status=missed] { border-color: #f3b8b3; } .tgt[data-status=missed] .tgt-state, .tgt-dot[data-status=missed] { background: var(--danger-bg); color: var(--danger); }
.tgt[data-status=overdue] { border-color: var(--danger); } .tgt[data-status=overdue] .tgt-state, .tgt-dot[data-status=overdue] { background: var(--danger); color: #fff; animation: tgt-blink 1.2s ease-in-out infinite; }
.tgt[data-status=pending] .tgt-state, .tgt-dot[data-status=pending] { background: var(--warn-bg); color: var(--warn); }
.tgt-meta { font-size: 13px; color: var(--muted); line-height: 1.6; }
.tgt-countdown { font-variant-numeric: tabular-nums; color: var(--warn); font-weight: 600; }
.tgt-dots { display: inline-flex; gap: 3px; }
.tgt-dot { display: inline-block; min-width: 20px; text-align: center; border-radius: 4px; font-size: 12px; line-height: 20px; }
.tgt-form { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px 14px; padding: 12px 16px; border-top: 1px solid var(--line-2); }
.tgt-form .form-actions, .tgt-form .tgt-hint { grid-column: 1 / -1; }
.tgt-form .tgt-hint { margin: 0; }
@keyframes tgt-blink { 50% { opacity: .4; } }
@media (prefers-reduced-motion: reduce) { .tgt[data-status=overdue] .tgt-state, .tgt-dot[data-status=overdue] { animation: none; } }
`));
}

// "2022-03-01T10:00:00+08:00" -> "2022-03-01T10:00" for datetime-local
const localOf = s => (s ? s.slice(0, 16) : '');
// a countdown "3 小时 05 分 09 秒"
function clock(sec) {
  const s = Math.max(0, Math.floor(sec)), hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return `${hh ? `${hh} 小时 ` : ''}${String(mm).padStart(2, '0')} 分 ${String(ss).padStart(2, '0')} 秒`;
}

function targetTile(t) {
  const def = TARGETS.find(d => d.name === t.name) || { label: t.name };
  const meta = [h('div', `时限 ${fullTime(t.due_at)}`)];
  if (t.done_at) meta.push(h('div.tgt-done', `完成 ${fullTime(t.done_at)} · 用时 ${duration(t.seconds)}`));
  if (t.name === 'contacts_controlled')
    meta.push(h('div.tgt-count', `已管控 `, h('b.tgt-controlled', num(t.controlled)), ' / ', h('b.tgt-contacts', num(t.contacts)), ' 人'));
  let countdown = null;
  if (t.status === 'pending') {
    countdown = h('span.tgt-countdown', { dataset: { left: t.seconds_left } }, clock(t.seconds_left));
    meta.push(h('div', '剩余 ', countdown));
  } else if (t.status === 'overdue') {
    meta.push(h('div', `已超时 ${duration(-t.seconds_left)}`));
  }
  const tile = h('div.tgt', { dataset: { name: t.name, status: t.status } },
    h('div.tgt-name', `${def.label} ${t.hours}h`),
    h('span.tgt-state', TARGET_STATUS[t.status] || t.status),
    h('div.tgt-meta', meta));
  return { tile, countdown };
}

async function targetsPanel(card, c, app, nav) {
  targetStyles();
  clear(card);
  const head = h('div.card-head', h('h2', '时间目标'));
  const grid = h('div.tgt-grid#targets', spinner('正在计算时间目标…'));
  card.append(head, grid);
  let t;
  try { t = await get(`/api/v1/cases/${c.id}/targets`); } catch (e) {
    if (!nav.alive()) return;
    clear(grid).append(h('p.muted.hint', errorText(e)));
    return;
  }
  if (!nav.alive()) return;
  showTargets(card, head, grid, c, t, app, nav);
}

function showTargets(card, head, grid, c, t, app, nav) {
  clear(grid);
  head.querySelector('.tgt-overall')?.remove();
  head.append(h('span.muted.count.tgt-overall', { dataset: { status: t.status } }, `确诊 ${fullTime(t.created_at)} 起算`));
  const counters = [];
  for (const x of t.targets) {
    const { tile, countdown } = targetTile(x);
    grid.append(tile);
    if (countdown) counters.push(countdown);
  }
  // the countdowns run on the browser's clock from the server's figures;
  // at zero the targets are asked for again (the status changes there)
  if (card._timer) clearInterval(card._timer);
  if (counters.length) {
    const start = Date.now();
    card._timer = setInterval(() => {
      if (!nav.alive()) { clearInterval(card._timer); return; }
      const gone = (Date.now() - start) / 1000;
      let due = false;
      for (const el of counters) {
        const left = Number(el.dataset.left) - gone;
        el.textContent = clock(left);
        if (left < 0) due = true;
      }
      if (due) { clearInterval(card._timer); card._timer = null; targetsPanel(card, c, app, nav); }
    }, 1000);
    nav.onCleanup(() => clearInterval(card._timer));
  }
  card.querySelector('.tgt-form')?.remove();
  card.append(milestoneForm(card, c, t, app, nav));
}

function milestoneForm(card, c, t, app, nav) {
  const dt = (id, name, value) => h(`input#${id}`, { type: 'datetime-local', name, value: localOf(value) });
  const fields = [
    ['ms-team', 'team_on_site_at', '到达现场时间', c.team_on_site_at],
    ['ms-core', 'core_info_at', '核心信息完成时间', c.core_info_at],
    ['ms-report', 'reported_at', '流调报告时间', c.reported_at],
    ['ms-isolated', 'isolated_at', '隔离管控时间', c.isolated_at],
  ].map(([id, name, label, v]) => ({ name, label, input: dt(id, name, v), old: localOf(v) }));
  const outcome = h('select#ms-outcome', { name: 'outcome' },
    Object.entries(OUTCOMES).map(([v, l]) => h('option', { value: v, selected: v === (c.outcome || 'under_treatment') }, l)));
  const outcomeAt = dt('ms-outcome-at', 'outcome_at', c.outcome_at);
  const msg = h('div.form-error#ms-msg', { role: 'alert', hidden: true });
  const ok = h('div.muted#ms-ok', { role: 'status', hidden: true });
  const submit = h('button.btn.btn-primary#ms-submit', { type: 'submit' }, '保存');
  return h('form.tgt-form#milestone-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    msg.hidden = true; ok.hidden = true;
    const body = {};
    for (const f of fields) if (f.input.value && f.input.value !== f.old) body[f.name] = isoOf(f.input.value);
    if (outcome.value !== (c.outcome || 'under_treatment')) body.outcome = outcome.value;
    if (outcomeAt.value && outcomeAt.value !== localOf(c.outcome_at) && outcome.value !== 'under_treatment') body.outcome_at = isoOf(outcomeAt.value);
    if (!Object.keys(body).length) { msg.textContent = '没有修改。'; msg.hidden = false; return; }
    submit.disabled = true;
    try {
      const nt = await request('POST', `/api/v1/cases/${c.id}/milestones`, { body });
      const nc = await get(`/api/v1/cases/${c.id}`);
      if (!nav.alive()) return;
      Object.assign(c, nc);
      const iso = document.getElementById('case-isolated_at'), out = document.getElementById('case-outcome');
      if (iso) iso.textContent = c.isolated_at ? fullTime(c.isolated_at) : '未隔离';
      if (out) out.textContent = outcomeText(c);
      showTargets(card, card.querySelector('.card-head'), card.querySelector('.tgt-grid'), c, nt, app, nav);
      const okNow = card.querySelector('#ms-ok');
      if (okNow) { okNow.textContent = '已保存（已记入审计）。'; okNow.hidden = false; }
    } catch (e) {
      if (!nav.alive()) return;
      msg.textContent = e.status === 400 ? `数据校验未通过：${e.message}` : errorText(e);
      msg.hidden = false;
    } finally {
      submit.disabled = false;
    }
  } },
    fields.map(f => h('label.field', h('span.field-label', f.label), f.input)),
    h('label.field', h('span.field-label', '转归'), outcome),
    h('label.field', h('span.field-label', '转归时间（默认现在）'), outcomeAt),
    h('p.field-hint.tgt-hint', '时间不能晚于现在，也不能早于确诊前 7 天；时间均为北京时间。'),
    msg, ok,
    h('div.form-actions', submit));
}

// The targets column of a page of the case list.
async function loadListTargets(rows, cursor, nav) {
  targetStyles();
  const fill = (tr, item) => {
    const td = tr.querySelector('.tgt-cell');
    clear(td).append(h('span.tgt-dots', { dataset: { status: item.status } }, TARGETS.map(d => {
      const st = item.targets[d.name];
      return h('span.tgt-dot', { dataset: { name: d.name, status: st }, title: `${d.label}：${TARGET_STATUS[st] || st}` }, d.short);
    })));
  };
  let got = new Map();
  try {
    const r = await get('/api/v1/case-targets', { limit: PAGE, cursor });
    got = new Map(r.items.map(i => [i.case_id, i]));
  } catch { /* each case on its own below */ }
  for (const [c, tr] of rows) {
    if (!nav.alive()) return;
    let item = got.get(c.id);
    if (!item) {
      try {
        const t = await get(`/api/v1/cases/${c.id}/targets`);
        item = { status: t.status, targets: Object.fromEntries(t.targets.map(x => [x.name, x.status])) };
      } catch { clear(tr.querySelector('.tgt-cell')).append(h('span.muted', '—')); continue; }
    }
    fill(tr, item);
  }
}

function figure(key, label, value) {
  return h('div.figure', { dataset: { fig: key } }, h('div.figure-label', label), h(`div.figure-value#fig-${key}`, value));
}

async function loadTrajectory(card, c, app, nav) {
  let t;
  try { t = await get(`/api/v1/cases/${c.id}/trajectory`); } catch (e) {
    if (!nav.alive()) return;
    card.querySelector('.loading')?.remove();
    card.append(h('p.muted.hint', errorText(e)));
    return;
  }
  if (!nav.alive()) return;
  card.querySelector('.loading')?.remove();
  card.querySelector('.card-head').append(h('span.muted.count', `${num(t.items.length)} 次扫码`));
  if (!t.items.length) { card.append(h('p.muted.hint#traj-none', '传染期内没有扫码记录。')); return; }
  const ol = h('ol.timeline#timeline');
  let last = '';
  for (const s of t.items) {
    if (day(s.time) !== last) { last = day(s.time); ol.append(h('li.tl-day', last)); }
    const v = s.venue || { name: '未知场所', code: '' };
    ol.append(h('li.tl-item', { dataset: { kind: v.kind || '' } },
      h('span.tl-time', s.time.slice(11, 16)),
      h('div.tl-body',
        h('div.tl-venue', v.name, ' ', h('span.tag', v.kind_label || v.kind || '')),
        h('div.tl-meta.muted', v.region ? v.region.name : '', ' ', h('span.code', v.code)))));
  }
  card.append(h('div.timeline-wrap', ol));
}

// ---------------------------------------------------------------- contact graph

function contactGraph(card, countsCard, c, app, nav) {
  const state = { degree: 1, by: 'grid', counts: null, drill: null };
  const seg = (name, options, onPick) => h('div.seg', { role: 'group', 'aria-label': name },
    options.map(([v, l]) => h('button.seg-btn', { type: 'button', dataset: { v }, 'aria-pressed': 'false', onclick: () => onPick(v) }, l)));
  const degreeSeg = seg('密接级别', [['1', '密接'], ['2', '次密接']], v => { state.degree = +v; state.drill = null; load(); });
  const bySeg = seg('聚合方式', [['grid', '按网格'], ['venue', '按场所']], v => { state.by = v; state.drill = null; draw(); });
  const note = h('p.muted.chart-note#graph-note');
  const back = h('button.btn.btn-small#drill-back', { type: 'button', hidden: true, onclick: () => { state.drill = null; draw(); } }, '‹ 返回全部');
  const el = h('div.graph#contact-graph', { role: 'img', 'aria-label': '密接关系图' });
  const drillBox = h('div.drill#drill');
  card.append(h('div.card-head', h('h2', '密接图谱'), h('div.graph-tools', degreeSeg, bySeg)),
    h('div.graph-bar', back, note), el, drillBox);
  let chart = null;
  const ro = window.ResizeObserver ? new ResizeObserver(() => chart && chart.resize()) : null;

  const mark = () => {
    for (const b of degreeSeg.children) b.setAttribute('aria-pressed', String(+b.dataset.v === state.degree));
    for (const b of bySeg.children) b.setAttribute('aria-pressed', String(b.dataset.v === state.by));
  };

  async function load() {
    mark();
    note.textContent = '正在统计…';
    try {
      state.counts = await get(`/api/v1/cases/${c.id}/contacts/counts`, { degree: state.degree });
    } catch (e) {
      if (nav.alive()) { note.textContent = errorText(e); app.showError(e, '加载密接统计失败'); }
      return;
    }
    if (!nav.alive()) return;
    renderCounts(countsCard, state, c, pick);
    draw();
  }

  function pick(kind, g) {
    state.by = kind;
    state.drill = g;
    draw();
    card.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  async function draw() {
    mark();
    const echarts = await loadEcharts().catch(e => { note.textContent = String(e.message); return null; });
    if (!echarts || !nav.alive()) return;
    if (!chart) {
      chart = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
      chart.on('click', p => {
        const d = p.data || {};
        if (d.group && !state.drill) pick(state.by, d.group);
        else if (d.person) location.hash = `#/person/${d.person}`;
        else if (d.other) countsCard.scrollIntoView({ block: 'start', behavior: 'smooth' });
      });
      if (ro) ro.observe(el);
      nav.onCleanup(() => { if (ro) ro.disconnect(); chart.dispose(); });
    }
    back.hidden = !state.drill;
    clear(drillBox);
    const opt = state.drill ? await drillOption() : overviewOption();
    if (!opt || !nav.alive()) return;
    chart.setOption(opt, { notMerge: true });
    el.dataset.nodes = String(opt.series[0].data.length);
  }

  function overviewOption() {
    const k = state.counts, groups = state.by === 'grid' ? k.by_grid : k.by_venue;
    const who = state.degree === 1 ? '密接' : '次密接';
    const top = groups.slice(0, MAX_GROUPS), rest = groups.slice(MAX_GROUPS);
    const restN = rest.reduce((s, g) => s + g.count, 0);
    note.textContent = k.total
      ? `${who}共 ${num(k.total)} 人，分布在 ${num(groups.length)} 个${state.by === 'grid' ? '网格' : '场所'}${rest.length ? `（图中显示人数最多的 ${MAX_GROUPS} 个）` : ''}；点击节点查看人员。`
      : `暂无${who}。`;
    const max = Math.max(1, ...top.map(g => g.count));
    // node names are keys in ECharts and must be unique: codes, not labels (grids share names)
    const nodes = [{ name: 'case', title: `病例 #${c.id}`, value: k.total, x: 0, y: 0, symbolSize: 46,
      itemStyle: { color: '#b3261e' }, label: { show: true, formatter: `病例\n${c.person.name}`, color: '#fff', fontWeight: 600 } }];
    const all = rest.length ? [...top, { code: '', name: `其他 ${rest.length} 个`, count: restN, other: true }] : top;
    all.forEach((g, i) => {
      // rings: the biggest groups nearest the case
      const ring = Math.floor(Math.sqrt(i / 3)), inRing = i - 3 * ring * ring, perRing = 3 * (2 * ring + 1);
      const a = (2 * Math.PI * inRing) / perRing + ring * 0.5, r = 150 + ring * 95;
      const label = g.code === 'household' ? '同住' : (g.parent_name && state.by === 'grid' ? `${g.parent_name.replace(/(居民委员会|居委会|村民委员会|村委会)$/, '')}${g.name}` : g.name);
      nodes.push({
        name: g.other ? 'other' : `g:${g.code}`, title: label, value: g.count, x: r * Math.cos(a), y: r * Math.sin(a),
        symbolSize: g.other ? 30 : 12 + 38 * Math.sqrt(g.count / max),
        group: g.other ? undefined : { code: g.code, name: label, count: g.count }, other: !!g.other,
        itemStyle: { color: g.other ? '#9aa9ba' : (g.code === 'household' ? '#9a6700' : '#1f6fb2') },
        label: { show: i < 16 || g.other, formatter: `${label.length > 10 ? label.slice(0, 10) + '…' : label}\n${num(g.count)}人`, position: 'right', color: '#1d2b3a', fontSize: 11 },
      });
    });
    return graphOption(nodes, nodes.slice(1).map((n, i) => ({ source: 0, target: i + 1 })), p =>
      p.dataType === 'node' ? `${esc(p.data.title)}<br>${who} <b>${num(p.data.value)}</b> 人` : '');
  }

  async function drillOption() {
    const g = state.drill;
    const q = { degree: state.degree, limit: DRILL_PAGE, [state.by === 'grid' ? 'grid' : 'venue']: g.code };
    note.textContent = `${g.name}：正在加载人员…`;
    const list = contactList(drillBox, c, q, `${g.name} · ${state.degree === 1 ? '密接' : '次密接'}`, app, nav);
    let first;
    try { first = await list.loaded; } catch (e) { note.textContent = errorText(e); return null; }
    if (!nav.alive()) return null;
    note.textContent = `${g.name}：共 ${num(first.total)} 人${first.total > DRILL_NODES ? `，图中显示前 ${DRILL_NODES} 人（按暴露时间）` : ''}；点击人员查看详情。`;
    const people = list.items().slice(0, DRILL_NODES);
    const nodes = [
      { name: 'case', tip: `病例 #${c.id}`, x: -160, y: 0, symbolSize: 40, itemStyle: { color: '#b3261e' }, label: { show: true, formatter: '病例', color: '#fff' } },
      { name: 'group', tip: esc(g.name), x: 160, y: 0, symbolSize: 34, itemStyle: { color: '#1f6fb2' }, label: { show: true, formatter: `${g.name}\n${num(first.total)}人`, position: 'bottom' } },
    ];
    people.forEach((p, i) => {
      const ring = Math.floor(i / 24), a = (2 * Math.PI * (i % 24)) / 24 + ring * 0.13, r = 90 + ring * 40;
      nodes.push({ name: `p:${p.person_id}`, person: p.person_id, x: 160 + r * Math.cos(a), y: r * Math.sin(a), symbolSize: 10,
        itemStyle: { color: p.evidence.kind === 'household' ? '#9a6700' : '#2bb3a3' },
        label: { show: people.length <= 40, formatter: p.name, fontSize: 10 }, tip: `${esc(p.name)}<br>暴露 ${esc(shortTime(p.exposure))}<br>${esc(evidenceText(p))}` });
    });
    const links = [{ source: 0, target: 1 }, ...nodes.slice(2).map((n, i) => ({ source: 1, target: i + 2 }))];
    return graphOption(nodes, links, p => (p.dataType === 'node' ? p.data.tip : ''));
  }

  load();
}

function graphOption(nodes, links, tip) {
  return {
    animationDurationUpdate: 300,
    tooltip: { trigger: 'item', formatter: tip, confine: true },
    series: [{
      type: 'graph', layout: 'none', roam: true, draggable: false, cursor: 'pointer',
      left: 40, right: 110, top: 40, bottom: 40,
      data: nodes, links, scaleLimit: { min: 0.3, max: 6 },
      lineStyle: { color: '#c8d2de', width: 1, opacity: 0.8 },
      emphasis: { focus: 'adjacency', lineStyle: { width: 2 } },
      labelLayout: { hideOverlap: true },
    }],
  };
}

export function evidenceText(p) {
  const e = p.evidence;
  const via = p.via ? `经 ${p.via.name}：` : '';
  if (e.kind === 'household') return `${via}同住`;
  return `${via}${e.venue ? e.venue.name : '场所'} · 本人 ${shortTime(e.contact_time)} / ${p.via ? '密接' : '病例'} ${shortTime(e.case_time)}`;
}

// A paged table of contacts for query q; returns { loaded (first page), items() }.
function contactList(box, c, q, title, app, nav) {
  const tbody = h('tbody');
  const count = h('span.muted.count');
  const more = h('button.btn#drill-more', { type: 'button', hidden: true }, '更多');
  const rows = [];
  let cursor = null;
  box.append(h('section.drill-list',
    h('div.card-head', h('h2#drill-title', title), count),
    h('div.table-wrap', h('table.table.rtable#drill-table',
      h('thead', h('tr', h('th', '姓名'), h('th', '身份证号'), h('th', '网格'), h('th', '暴露时间'), h('th', '依据'))),
      tbody)),
    h('div.card-foot', more)));
  let total = 0;
  const page = async () => {
    const r = await get(`/api/v1/cases/${c.id}/contacts`, { ...q, cursor });
    if (!nav.alive()) return r;
    cursor = r.next_cursor;
    total = r.total;
    for (const p of r.items) {
      rows.push(p);
      const href = `#/person/${p.person_id}`;
      tbody.append(h('tr', { dataset: { id: p.person_id }, onclick: ev => { if (ev.target.tagName !== 'A') location.hash = href; } },
        h('td.name', { 'data-label': '姓名' }, h('a', { href, title: '查看人员（按权限显示，记入审计）' }, p.name)),
        h('td.mono', { 'data-label': '身份证号' }, p.id_number),
        h('td', { 'data-label': '网格', title: p.grid.code }, p.grid.name),
        h('td', { 'data-label': '暴露时间' }, shortTime(p.exposure)),
        h('td', { 'data-label': '依据' }, evidenceText(p))));
    }
    count.textContent = `已显示 ${num(rows.length)} / ${num(total)} 人`;
    more.hidden = !cursor;
    return r;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await page(); } catch (e) { if (nav.alive()) app.showError(e, '加载更多失败'); }
    more.disabled = false;
  });
  return { loaded: page(), items: () => rows };
}

function renderCounts(card, state, c, pick) {
  clear(card);
  const k = state.counts;
  const rows = k.by_grid;
  const tbody = h('tbody');
  let shown = 0;
  const more = h('button.btn#counts-more', { type: 'button' }, '显示更多');
  const add = () => {
    for (const g of rows.slice(shown, shown + TABLE_ROWS))
      tbody.append(h('tr', { dataset: { code: g.code }, onclick: () => pick('grid', { code: g.code, name: `${g.parent_name || ''}${g.name}`, count: g.count }) },
        h('td.name', { 'data-label': '网格' }, g.name, h('span.code', g.code)),
        h('td', { 'data-label': '社区' }, g.parent_name || '—'),
        h('td.num', { 'data-label': '人数' }, num(g.count)),
        h('td.num', { 'data-label': '占比' }, k.total ? `${(100 * g.count / k.total).toFixed(1)}%` : '—')));
    shown = Math.min(rows.length, shown + TABLE_ROWS);
    more.hidden = shown >= rows.length;
  };
  more.addEventListener('click', add);
  card.append(
    h('div.card-head', h('h2', `${state.degree === 1 ? '密接' : '次密接'}按网格统计`),
      h('span.muted.count#counts-total', `共 ${num(k.total)} 人 · ${num(rows.length)} 个网格 · ${num(k.by_community.length)} 个社区`)),
    rows.length
      ? h('div.table-wrap', h('table.table.rtable#counts-table',
        h('thead', h('tr', h('th', '网格'), h('th', '社区'), h('th.num', '人数'), h('th.num', '占比'))), tbody))
      : h('p.muted.hint', '暂无数据。'),
    h('div.card-foot', more));
  add();
}

// ---------------------------------------------------------------- chain

export async function renderChain(root, id, app, nav) {
  const box = h('section.chain');
  root.append(box);
  box.append(h('nav.breadcrumb', h('a.crumb', { href: '#/cases', onclick: ev => {
    if (history.length > 1) { ev.preventDefault(); history.back(); }
  } }, '‹ 返回')));
  if (!canTrace(app.user)) { noAccess(box, app.user); return; }
  const wait = spinner('正在加载传播链…');
  box.append(wait);
  let ch;
  try { ch = await get(`/api/v1/chains/${encodeURIComponent(id)}`); } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    failPanel(box, app, e, '加载传播链失败', '该传播链不存在，或不在您的管辖范围内。');
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  document.title = `传播链 #${ch.id} · 防控`;
  const el = h('div.graph.chain-graph#chain-graph', { role: 'img', 'aria-label': '传播链关系图' });
  const byId = new Map(ch.nodes.map(n => [n.case_id, n]));
  const edgeLabel = e => (e.kind === 'household' ? '同住' : `${e.venue ? e.venue.name : '场所'} ${shortTime(e.t_contact)}`);
  box.append(
    h('div.region-head', h('div.region-title', h('h1#chain-title', `传播链 #${ch.id}`),
      h('span.tag', `${ch.nodes.length} 例`), h('span.tag', `${ch.edges.length} 条关联`))),
    h('section.card.graph-card', el),
    h('section.card.list-card',
      h('div.card-head', h('h2', '关联依据')),
      ch.edges.length ? h('div.table-wrap', h('table.table.rtable#chain-edges',
        h('thead', h('tr', h('th', '传播'), h('th', '关系'), h('th', '依据'), h('th', '暴露时间'))),
        h('tbody', ch.edges.map(e => h('tr', { onclick: () => { location.hash = `#/case/${e.to_case}`; } },
          h('td.name', { 'data-label': '传播' }, h('a', { href: `#/case/${e.from_case}` }, `#${e.from_case}`), ' → ',
            h('a', { href: `#/case/${e.to_case}` }, `#${e.to_case}`)),
          h('td', { 'data-label': '关系' }, e.degree === 1 ? '密接' : `次密接${e.via ? `（经 ${e.via.name}）` : ''}`),
          h('td', { 'data-label': '依据' }, e.kind === 'household' ? '同住'
            : `${e.venue ? e.venue.name : '场所'}：${shortTime(e.t_source)} / ${shortTime(e.t_contact)}`),
          h('td', { 'data-label': '暴露时间' }, shortTime(e.exposure)))))))
        : h('p.muted.hint', '此链只有一例，尚未发现关联。')));
  const echarts = await loadEcharts().catch(e => { app.showError(String(e.message)); return null; });
  if (!echarts || !nav.alive()) return;
  const chart = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
  const ro = window.ResizeObserver ? new ResizeObserver(() => chart.resize()) : null;
  if (ro) ro.observe(el);
  nav.onCleanup(() => { if (ro) ro.disconnect(); chart.dispose(); });
  const color = { confirmed: '#b3261e', asymptomatic: '#9a6700', suspected: '#5b6b7f' };
  chart.setOption({
    tooltip: { trigger: 'item', confine: true, formatter: p => (p.dataType === 'node'
      ? `病例 #${esc(p.data.id)} ${esc(p.data.who)}<br>${esc(classLabel(p.data.cls))}<br>${esc(p.data.grid)}`
      : esc(edgeLabel(p.data.e))) },
    series: [{
      type: 'graph', layout: 'force', roam: true, draggable: true,
      force: { repulsion: 420, edgeLength: [120, 200] },
      edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 9,
      data: ch.nodes.map(n => ({ name: String(n.case_id), id: n.case_id, who: n.person.name, cls: n.classification,
        grid: n.grid.name, symbolSize: 40, itemStyle: { color: color[n.classification] || '#1f6fb2' },
        label: { show: true, formatter: `#${n.case_id}\n${n.person.name}`, color: '#fff', fontSize: 11 } })),
      links: ch.edges.filter(e => byId.has(e.from_case) && byId.has(e.to_case)).map(e => ({
        source: String(e.from_case), target: String(e.to_case), e,
        label: { show: true, formatter: edgeLabel(e), fontSize: 11, color: '#33475b' },
        lineStyle: { color: e.degree === 1 ? '#1f6fb2' : '#9aa9ba', width: 2, type: e.degree === 1 ? 'solid' : 'dashed', curveness: 0.1 } })),
    }],
  });
  el.dataset.nodes = String(ch.nodes.length);
  chart.on('click', p => { if (p.dataType === 'node') location.hash = `#/case/${p.data.id}`; });
}
