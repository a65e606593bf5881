// Control orders (管控):
//   #/orders?tab=proposed              proposals grouped by case, with a
//                                      select-all per case and for the page,
//                                      confirmed in bulk (批量确认)
//   #/orders?tab=active&category=&kind=&queued=1
//                                      orders in force, filtered
//   #/orders/person/ID                 one person's timeline: every order as
//                                      a phase bar from start to end, a row
//                                      per day with its test (a dot coloured
//                                      by result), events, checks and stays;
//                                      extend / release early / cancel with a
//                                      reason (the command only)
//
// Every list is what the server answers for the user's scope: a grid worker
// sees the orders of their grid only.  The headline counts come from the
// isolation board's totals (the same server-side counts the board shows).
import { get, request } from './api.js';
import { h, clear, num, spinner, errorText } from './dom.js';

const READ_ROLES = new Set(['command', 'tracer', 'isolation', 'grid']);
const MANAGE_ROLES = new Set(['command']);
export function canReadControl(user) { return !!user && READ_ROLES.has(user.role); }
export function canManageControl(user) { return !!user && MANAGE_ROLES.has(user.role); }

export const KIND_ZH = { central: '集中隔离医学观察', home_isolation: '居家隔离医学观察', home_monitoring: '居家健康监测' };
const KIND_SHORT = { central: '集中隔离', home_isolation: '居家隔离', home_monitoring: '居家监测' };
export const CATEGORY_ZH = { close: '密接', secondary: '次密接', case: '病例', arrival: '入境/来返', other: '其他' };
const STATUS_ZH = { proposed: '待确认', active: '管控中', completed: '已解除', cancelled: '已撤销' };
const END_ZH = {
  released: '期满解除', released_early: '提前解除', became_case: '转为病例', upgraded: '升级为密接',
  superseded: '被新的管控取代', cancelled: '已撤销',
};
const EVENT_ZH = {
  proposed: '生成建议', activated: '确认管控', extended: '延长管控', released: '解除管控', released_early: '提前解除',
  cancelled: '撤销', became_case: '转为病例', upgraded: '升级为密接', superseded: '被取代', fever: '发热',
  assigned: '分配房间', queued: '排队等房', picked_up: '转运接送', pickup: '转运接送', arrived: '到达隔离点', left: '离开隔离点',
  test: '核酸检测', result: '检测结果', phase2: '转入下一阶段',
};
const RESULT_ZH = { negative: '阴性', positive: '阳性', pool_positive: '混管阳性', invalid: '无效' };
const SYMPTOM_ZH = {
  fever: '发热', cough: '咳嗽', sore_throat: '咽痛', fatigue: '乏力', loss_of_smell: '嗅觉减退',
  diarrhoea: '腹泻', shortness_of_breath: '气促',
};
const ROLE_ZH = { town_cadre: '乡镇干部', village_cadre: '村干部', police: '民警', doctor: '医生', grid_worker: '网格员' };
const BY_ROLE_ZH = { self: '本人', household: '同户家属', staff: '工作人员', system: '系统' };
export const kindZh = o => o.kind_zh || KIND_ZH[o.kind] || o.kind || '—';
export const categoryZh = c => CATEGORY_ZH[c] || c || '—';
const eventZh = k => EVENT_ZH[k] || k;

const PAGE = 50;
const PROPOSED_PAGE = 500;
const MAX_PROPOSED = 10000; // one confirm call at most
const DAY = 86400;
const MAX_DAYS = 60; // rows of a timeline: longer orders fold the middle

const when = s => (s ? s.slice(0, 16).replace('T', ' ') : '—');
const short = s => (s ? s.slice(5, 16).replace('T', ' ') : '—');
const mmdd = s => (s ? s.slice(5, 10) : '—');
const ts = s => (s ? Date.parse(s) / 1000 : null);
// a datetime-local value -> ISO with the China offset
const isoOf = v => (v ? `${v.length === 16 ? v + ':00' : v}+08:00` : undefined);
// Unix seconds -> "2022-01-10 10:00" in China Standard Time
const local = t => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 16).replace('T', ' ');
export const personHref = id => `#/orders/person/${encodeURIComponent(id)}`;

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-control-access', { role: 'note' },
    h('h2', '无管控权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能查看隔离管控。`),
    h('p.muted', '隔离管控向指挥部、流调溯源组、转运隔离组和网格员开放（网格员只看本网格）。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

function unavailable(box, e, what) {
  box.append(h('div.panel.empty.o-fail', { role: 'alert' },
    h('p', e.status === 404 ? `${what}暂不可用（服务器尚未提供此功能，或不在您的管辖范围内）。` : `${what}无法加载：${errorText(e)}`)));
}

// Several cleanups for the one slot the router gives a page.
function cleanups(nav) {
  const fns = [];
  nav.onCleanup(() => { for (const f of fns) { try { f(); } catch { /* ignore */ } } });
  return fn => fns.push(fn);
}

// ---------------------------------------------------------------- #/orders

export function renderOrders(root, query, app, nav) {
  const box = h('section.orders');
  root.append(box);
  document.title = '管控 · 防控';
  const manage = canManageControl(app.user);
  const tab = query.get('tab') || (manage ? 'proposed' : 'active');
  box.append(h('div.region-head',
    h('div.region-title', h('h1', '隔离管控'), h('span.muted.small', '发现一个管控一个')),
    h('button.btn.btn-small#ord-refresh', { type: 'button', onclick: () => app.go(location.hash) }, '刷新')));
  if (!canReadControl(app.user)) { noAccess(box, app.user); return; }
  const totals = h('div.figures.o-totals#ord-totals');
  box.append(totals);
  loadTotals(totals, nav);
  const tabs = h('div.seg.o-tabs#ord-tabs', { role: 'tablist', 'aria-label': '管控' },
    [['proposed', '待确认'], ['active', '管控中']].map(([v, l]) =>
      h('button.seg-btn', { type: 'button', role: 'tab', dataset: { v }, 'aria-pressed': String(v === tab),
        onclick: () => { location.hash = `#/orders?tab=${v}`; } }, l)));
  box.append(h('div.o-tabbar', tabs));
  const body = h('div.o-body');
  box.append(body);
  if (tab === 'proposed') proposedView(body, app, nav);
  else activeView(body, query, app, nav);
}

function totalFig(key, label, value, href) {
  const v = h(`div.figure-value#of-${key}`, value);
  return h('div.figure', { dataset: { fig: key } }, h('div.figure-label', label), href ? h('a.o-fig-link', { href }, v) : v);
}

async function loadTotals(box, nav) {
  box.append(spinner('正在统计…'));
  let b;
  try { b = await get('/api/v1/isolation/board'); } catch (e) {
    if (!nav.alive()) return;
    clear(box);
    box.hidden = true; // the lists below still work without the counts
    return;
  }
  if (!nav.alive()) return;
  clear(box);
  const t = b.totals || {};
  box.append(
    totalFig('proposed', '待确认', num(t.proposed), '#/orders?tab=proposed'),
    totalFig('active', '管控中', num(t.active), '#/orders?tab=active'),
    totalFig('central', '集中隔离', num(t.central), '#/orders?tab=active&kind=central'),
    totalFig('home', '居家', num(t.home), '#/orders?tab=active'),
    totalFig('queued', '等待房间', num(t.queued), '#/orders?tab=active&queued=1'));
}

// ---- proposals, grouped by case

function proposedView(body, app, nav) {
  const manage = canManageControl(app.user);
  const wait = spinner('正在加载待确认的管控建议…');
  body.append(wait);
  (async () => {
    const items = [];
    let cursor = null, more = false;
    do {
      const r = await get('/api/v1/orders', { status: 'proposed', limit: PROPOSED_PAGE, cursor });
      items.push(...r.items);
      cursor = r.next_cursor;
      if (items.length >= MAX_PROPOSED && cursor) { more = true; break; }
    } while (cursor && nav.alive());
    return { items, more };
  })().then(({ items, more }) => {
    if (!nav.alive()) return;
    wait.remove();
    renderProposed(body, items, more, manage, app, nav);
  }).catch(e => {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(body, app.user, e); return; }
    app.showError(e, '加载管控建议失败');
    unavailable(body, e, '管控建议');
  });
}

function renderProposed(body, items, more, manage, app, nav) {
  if (!items.length) {
    body.append(h('div.panel.empty#prop-none', h('p', '没有待确认的管控建议。'),
      h('p.muted.small', '病例确诊并完成流调后，系统按现行政策为其密接、次密接生成管控建议。')));
    return;
  }
  // groups in case order, newest case first; persons in proposal order
  const groups = new Map();
  for (const o of items) {
    const k = o.case_id ?? 0;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(o);
  }
  const keys = [...groups.keys()].sort((a, b) => b - a);
  const count = h('span#prop-selected', '0');
  const all = h('input#prop-all', { type: 'checkbox', 'aria-label': '全选' });
  const confirm = h('button.btn.btn-primary#prop-confirm', { type: 'button', disabled: true }, '批量确认（', count, '）');
  const msg = h('div.form-info.o-msg#prop-result', { role: 'status', hidden: true });
  const picks = () => [...body.querySelectorAll('input.ord-pick')];
  const update = () => {
    const p = picks(), on = p.filter(x => x.checked);
    count.textContent = num(on.length);
    confirm.disabled = !on.length;
    all.checked = on.length === p.length && p.length > 0;
    all.indeterminate = on.length > 0 && on.length < p.length;
    for (const g of body.querySelectorAll('.ord-group')) {
      const gp = [...g.querySelectorAll('input.ord-pick')], gon = gp.filter(x => x.checked);
      const ga = g.querySelector('input.grp-all');
      ga.checked = gon.length === gp.length;
      ga.indeterminate = gon.length > 0 && gon.length < gp.length;
    }
  };
  all.addEventListener('change', () => { for (const x of picks()) x.checked = all.checked; update(); });
  body.append(h('section.card.list-card#proposed',
    h('div.card-head.o-prop-head',
      h('h2', '待确认的管控建议'),
      h('span.muted.count#prop-count', `${num(items.length)} 人 · ${num(keys.length)} 个病例${more ? `（仅显示前 ${num(MAX_PROPOSED)} 人）` : ''}`)),
    manage ? h('div.o-bulk',
      h('label.check.o-all', all, '全选'),
      confirm,
      h('span.muted.small', '确认后即生效：赋码、排定核酸检测、集中隔离分配房间（无空房则排队）、生成五包一任务。')) : h('p.muted.small.o-ro', '只有指挥部可以确认管控建议。'),
    msg,
    h('div#prop-list', keys.map(k => proposedGroup(k, groups.get(k), manage, update)))));
  confirm.addEventListener('click', async () => {
    const ids = picks().filter(x => x.checked).map(x => Number(x.value));
    if (!ids.length) return;
    confirm.disabled = true;
    const label = confirm.textContent;
    confirm.textContent = `正在确认 ${num(ids.length)} 人…`;
    msg.hidden = true;
    const sum = { activated: 0, assigned: 0, queued: 0, already: 0, refused: [] };
    try {
      for (let i = 0; i < ids.length; i += MAX_PROPOSED) {
        const r = await request('POST', '/api/v1/orders/confirm', { body: { ids: ids.slice(i, i + MAX_PROPOSED) } });
        for (const k of ['activated', 'assigned', 'queued', 'already']) sum[k] += r[k] || 0;
        sum.refused.push(...(r.refused || []));
      }
    } catch (e) {
      if (!nav.alive()) return;
      confirm.textContent = label;
      confirm.disabled = false;
      msg.className = 'form-error o-msg';
      msg.textContent = `确认失败：${errorText(e)}`;
      msg.hidden = false;
      return;
    }
    if (!nav.alive()) return;
    // the list again, with the result above it
    const note = confirmSummary(sum);
    clear(body);
    body.append(note);
    proposedView(body, app, nav);
    const totals = document.getElementById('ord-totals');
    if (totals) { clear(totals); totals.hidden = false; loadTotals(totals, nav); }
  });
  update();
}

function confirmSummary(s) {
  const REFUSED = { not_found: '不存在', not_proposed: '已不是待确认状态', out_of_scope: '不在辖区' };
  const refused = s.refused.length
    ? h('p.o-refused#prop-refused', `未能确认 ${num(s.refused.length)} 人：`,
      s.refused.slice(0, 20).map(r => `#${r.id}（${REFUSED[r.code] || r.code}）`).join('、'),
      s.refused.length > 20 ? ' 等' : '')
    : null;
  return h('div.form-info.o-msg.o-summary#prop-summary', { role: 'status', dataset: {
    activated: s.activated, assigned: s.assigned, queued: s.queued, already: s.already, refused: s.refused.length } },
  h('p', '已确认 ', h('b#ps-activated', num(s.activated)), ' 人：分配房间 ', h('b#ps-assigned', num(s.assigned)),
    ' 人，排队等房 ', h('b#ps-queued', num(s.queued)), ' 人',
    s.already ? `，另有 ${num(s.already)} 人此前已确认` : '', '。'),
  refused);
}

function proposedGroup(caseId, orders, manage, update) {
  const byCat = {};
  for (const o of orders) byCat[o.category] = (byCat[o.category] || 0) + 1;
  const ga = h('input.grp-all', { type: 'checkbox', 'aria-label': `选中病例 #${caseId} 的全部建议` });
  const rows = h('ul.o-rows', orders.map(o => proposedRow(o, manage, update)));
  ga.addEventListener('change', () => { for (const x of rows.querySelectorAll('input.ord-pick')) x.checked = ga.checked; update(); });
  return h('section.ord-group', { dataset: { case: caseId } },
    h('div.o-group-head',
      manage ? h('label.check', ga, h('b', caseId ? `病例 #${caseId}` : '无关联病例')) : h('b', caseId ? `病例 #${caseId}` : '无关联病例'),
      h('span.muted.small.o-group-count', `${num(orders.length)} 人`,
        Object.entries(byCat).map(([c, n]) => ` · ${categoryZh(c)} ${num(n)}`).join('')),
      caseId ? h('a.small.o-case-link', { href: `#/case/${encodeURIComponent(caseId)}` }, '查看病例') : null),
    rows);
}

function personName(p) { return (p && p.name) || '—'; }

function proposedRow(o, manage, update) {
  const p = o.person || {};
  const pick = manage ? h('input.ord-pick', { type: 'checkbox', value: o.id, 'aria-label': `选中 ${personName(p)}`, onchange: update }) : null;
  return h('li.ord-row', { dataset: { id: o.id, person: p.id, category: o.category, kind: o.kind } },
    pick ? h('label.o-pick', pick) : null,
    h('div.o-row-main',
      h('div.o-row-line1',
        h('a.o-name', { href: personHref(p.id) }, personName(p)),
        h('span.mono.o-idn', p.id_number || ''),
        h('span.tag.o-cat', { dataset: { cat: o.category } }, categoryZh(o.category)),
        h('span.tag.o-kind', { dataset: { kind: o.kind } }, KIND_SHORT[o.kind] || kindZh(o))),
      h('div.o-row-line2.muted.small',
        p.grid ? h('span', p.grid.name || p.grid.code) : null,
        h('span', `${when(o.start_at)} 起 至 ${when(o.planned_end)}`),
        o.link_person ? h('span', `经 ${o.link_person.name || '#' + o.link_person.id}`) : null)));
}

// ---- orders in force

const CATEGORIES = [['', '全部类别'], ['close', '密接'], ['secondary', '次密接'], ['case', '病例'], ['arrival', '入境/来返'], ['other', '其他']];
const KINDS = [['', '全部方式'], ['central', '集中隔离'], ['home_isolation', '居家隔离'], ['home_monitoring', '居家健康监测']];

function activeView(body, query, app, nav) {
  const f = { category: query.get('category') || '', kind: query.get('kind') || '', queued: query.get('queued') === '1' };
  const cat = h('select#f-category', { 'aria-label': '类别' }, CATEGORIES.map(([v, l]) => h('option', { value: v, selected: v === f.category }, l)));
  const kind = h('select#f-kind', { 'aria-label': '管控方式' }, KINDS.map(([v, l]) => h('option', { value: v, selected: v === f.kind }, l)));
  const queued = h('input#f-queued', { type: 'checkbox', checked: f.queued });
  const go = () => {
    const q = new URLSearchParams({ tab: 'active' });
    if (cat.value) q.set('category', cat.value);
    if (kind.value) q.set('kind', kind.value);
    if (queued.checked) q.set('queued', '1');
    location.hash = `#/orders?${q}`;
  };
  cat.addEventListener('change', go);
  kind.addEventListener('change', go);
  queued.addEventListener('change', go);
  const count = h('span.muted.count#act-count');
  const ul = h('ul.o-rows#act-list');
  const more = h('button.btn.btn-block.o-more#act-more', { type: 'button', hidden: true }, '更多');
  const list = h('div.o-list-body', spinner('正在加载管控中的人员…'));
  body.append(h('section.card.list-card#active',
    h('div.card-head', h('h2', '管控中'), count),
    h('div.o-filters', cat, kind, h('label.check', queued, '只看等待房间')),
    list, h('div.card-foot', more)));
  let cursor = null, shown = 0;
  const page = async () => {
    const r = await get('/api/v1/orders', { status: 'active', category: f.category, kind: f.kind, queued: f.queued ? 1 : undefined, limit: PAGE, cursor });
    if (!nav.alive()) return;
    cursor = r.next_cursor;
    for (const o of r.items) { shown++; ul.append(activeRow(o)); }
    count.textContent = `已显示 ${num(shown)} 人${cursor ? '，还有更多' : ''}`;
    more.hidden = !cursor;
  };
  page().then(() => {
    if (!nav.alive()) return;
    clear(list);
    if (!shown) {
      list.append(h('p.muted.hint#act-none', f.category || f.kind || f.queued ? '没有符合条件的管控人员。' : '您的辖区目前没有管控中的人员。'));
      return;
    }
    list.append(ul);
  }).catch(e => {
    if (!nav.alive()) return;
    clear(list);
    if (e.status === 403) { noAccess(list, app.user, e); return; }
    app.showError(e, '加载管控人员失败');
    unavailable(list, e, '管控列表');
  });
  more.addEventListener('click', async () => {
    more.disabled = true;
    more.textContent = '加载中…';
    try { await page(); } catch (e) { if (nav.alive()) app.showError(e, '加载更多失败'); }
    more.disabled = false;
    more.textContent = '更多';
  });
}

// "第 3 / 7 天"
function dayOf(o, now = Date.now() / 1000) {
  const s = ts(o.start_at), e = ts(o.planned_end);
  if (s === null || e === null) return '';
  const n = Math.ceil((e - s) / DAY);
  const d = Math.floor((now - s) / DAY) + 1;
  if (d < 1) return '未开始';
  return d > n ? `已到期（共 ${n} 天）` : `第 ${d} / ${n} 天`;
}

function activeRow(o) {
  const p = o.person || {};
  const href = personHref(p.id);
  return h('li.ord-row', { dataset: { id: o.id, person: p.id, category: o.category, kind: o.kind, queued: o.queued_at ? '1' : '0' },
    onclick: ev => { if (!ev.target.closest('a')) location.hash = href; } },
  h('div.o-row-main',
    h('div.o-row-line1',
      h('a.o-name', { href }, personName(p)),
      h('span.mono.o-idn', p.id_number || ''),
      h('span.tag.o-cat', { dataset: { cat: o.category } }, categoryZh(o.category)),
      h('span.tag.o-kind', { dataset: { kind: o.kind } }, KIND_SHORT[o.kind] || kindZh(o)),
      o.phase === 2 ? h('span.tag', '第二阶段') : null,
      o.queued_at ? h('span.tag.o-queued', `等房 ${short(o.queued_at)} 起`) : null),
    h('div.o-row-line2.muted.small',
      p.grid ? h('span', p.grid.name || p.grid.code) : null,
      h('span', `${mmdd(o.start_at)} 至 ${when(o.planned_end)}`),
      h('span.o-dayno', dayOf(o)),
      o.stay && o.stay.room ? h('span', `${o.stay.site ? o.stay.site.name + ' ' : ''}${o.stay.room.number} 室`) : null)));
}

// ---------------------------------------------------------------- timeline

export async function renderPersonOrders(root, id, app, nav) {
  const box = h('section.o-timeline-page');
  root.append(box);
  box.append(h('nav.breadcrumb', h('a.crumb#tl-back', { href: '#/orders', onclick: ev => {
    if (history.length > 1) { ev.preventDefault(); history.back(); }
  } }, '‹ 管控')));
  if (!canReadControl(app.user)) { noAccess(box, app.user); return; }
  const wait = spinner('正在加载管控记录…');
  box.append(wait);
  let t;
  try {
    t = await get(`/api/v1/persons/${encodeURIComponent(id)}/orders`);
  } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    app.showError(e, '加载管控记录失败');
    box.append(h('div.panel.empty.o-fail', h('p', e.status === 404 ? '该人员不存在，或不在您的管辖范围内。' : errorText(e)),
      h('p', h('a.btn', { href: '#/orders' }, '返回管控'))));
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  const p = t.person || {};
  document.title = `${p.name || '人员'} · 管控记录 · 防控`;
  const orders = t.orders || [];
  const cases = t.cases || [];
  const cur = orders.find(o => o.status === 'active') || orders.find(o => o.status === 'proposed');
  box.append(h('div.card.o-person#tl-person', { dataset: { id: p.id } },
    h('div.o-person-head',
      h('h1#tl-name', p.name || '—'),
      h('span.mono#tl-idn', p.id_number || ''),
      cur ? h('span.o-status#tl-status', { dataset: { status: cur.status } }, `${STATUS_ZH[cur.status]} · ${kindZh(cur)}`)
        : h('span.o-status#tl-status', { dataset: { status: 'none' } }, '当前无管控')),
    h('div.o-person-meta.muted.small',
      p.grid ? h('span', `网格：${p.grid.name || ''} `, h('span.code', p.grid.code || '')) : null,
      p.phone ? h('span', `电话：${p.phone}`) : null,
      h('a#tl-person-link', { href: `#/person/${encodeURIComponent(p.id)}` }, '人员档案')),
    cases.length ? h('div.o-cases#tl-cases', cases.map(c => h('span.tag.o-case-tag', { dataset: { id: c.id } },
      `${c.classification === 'asymptomatic' ? '无症状感染者' : c.classification === 'suspected' ? '疑似病例' : '确诊病例'} · ${when(c.created_at)}`))) : null,
    legend()));
  if (!orders.length) {
    box.append(h('div.panel.empty#tl-none', h('p', '此人没有管控记录。')));
    return;
  }
  const list = h('div.o-tl#tl-orders');
  box.append(list);
  // newest on top: the order in force is what the reader wants first
  for (const o of orders.slice().reverse()) list.append(orderBlock(o, app, nav));
}

function legend() {
  const dot = (r, l) => h('span.o-leg', h('span.o-dot', { dataset: { result: r } }), l);
  return h('div.o-legend', { 'aria-label': '图例' },
    dot('negative', '阴性'), dot('positive', '阳性'), dot('pool_positive', '混管阳性'), dot('pending', '已采样待结果'),
    dot('missed', '未采样'), dot('future', '待检测'), dot('waived', '免检'));
}

// the state of a test day for its dot
function testState(x, now) {
  if (x.result) return x.result === 'negative' || x.result === 'positive' || x.result === 'pool_positive' ? x.result : 'invalid';
  if (!x.required) return 'waived';
  if (x.sampled_at) return 'pending';
  return ts(x.window_end) <= now ? 'missed' : 'future';
}
const STATE_ZH = { negative: '阴性', positive: '阳性', pool_positive: '混管阳性', invalid: '无效', pending: '已采样，待出结果', missed: '未采样', future: '待检测', waived: '免检（管控开始前已过）' };

function orderBlock(o, app, nav) {
  const now = Date.now() / 1000;
  const start = ts(o.start_at), planned = ts(o.planned_end), orig = ts(o.orig_end) ?? planned;
  const ended = ts(o.ended_at);
  const last = Math.max(planned, ended ?? 0, orig);
  const nDays = Math.max(1, Math.ceil((last - start) / DAY));
  const tests = new Map((o.tests || []).map(x => [x.day, x]));
  // the day row an instant belongs to (clamped to the order's rows)
  const dayAt = t => Math.min(nDays, Math.max(1, Math.floor((t - start) / DAY) + 1));
  const items = new Map();
  const put = (t, el) => { const d = dayAt(t); if (!items.has(d)) items.set(d, []); items.get(d).push({ t, el }); };
  for (const ev of o.events || []) {
    const t = ts(ev.at);
    put(t, h('li.o-item.o-event', { dataset: { kind: ev.kind, at: ev.at } },
      h('span.o-item-time', short(ev.at)), h('b', eventZh(ev.kind)),
      ev.detail ? h('span.o-item-detail', ev.detail) : null,
      ev.actor ? h('span.muted.small', ` · ${BY_ROLE_ZH[ev.actor] || ev.actor}`) : null));
  }
  for (const c of o.checks || []) {
    const t = ts(c.at);
    const fever = c.fever !== undefined ? !!c.fever : Number(c.temp_c) >= 37.3;
    const sym = (Array.isArray(c.symptoms) ? c.symptoms : String(c.symptoms || '').split(',').filter(Boolean)).map(s => SYMPTOM_ZH[s] || s);
    put(t, h('li.o-item.o-check', { dataset: { at: c.at, fever: fever ? '1' : '0' } },
      h('span.o-item-time', short(c.at)), h('span', '体温 '), h('b.o-temp', c.temp_c == null ? '—' : `${Number(c.temp_c).toFixed(1)}°C`),
      fever ? h('span.tag.o-fever', '发热') : null,
      sym.length ? h('span.o-item-detail', sym.join('、')) : null,
      c.by_role ? h('span.muted.small', ` · ${BY_ROLE_ZH[c.by_role] || c.by_role}`) : null));
  }
  const s = o.stay;
  if (s) {
    const where = `${s.site ? s.site.name : ''} ${s.room ? s.room.number + ' 室' : ''}`.trim();
    if (s.pickup_at) put(ts(s.pickup_at), h('li.o-item.o-stay', h('span.o-item-time', short(s.pickup_at)), h('b', '转运接送'), s.vehicle ? h('span.o-item-detail', s.vehicle) : null));
    if (s.arrived_at) put(ts(s.arrived_at), h('li.o-item.o-stay', h('span.o-item-time', short(s.arrived_at)), h('b', '到达隔离点'), h('span.o-item-detail', where)));
    if (s.left_at) put(ts(s.left_at), h('li.o-item.o-stay', h('span.o-item-time', short(s.left_at)), h('b', '离开隔离点'), h('span.o-item-detail', where)));
  }
  // the phase bar: served (start..end or now), then what is still planned
  const endServed = ended ?? Math.min(now, planned);
  const rows = [];
  const fold = nDays > MAX_DAYS;
  for (let d = 1; d <= nDays; d++) {
    if (fold && d > 3 && d < nDays - 3 && !tests.has(d) && !items.has(d)) {
      if (rows.length && rows[rows.length - 1].fold) continue;
      rows.push({ fold: true });
      continue;
    }
    const d0 = start + (d - 1) * DAY, d1 = start + d * DAY;
    const state = o.status === 'proposed' ? 'proposed'
      : d0 < endServed ? 'served' : (ended === null && d0 < planned ? 'planned' : 'after');
    const x = tests.get(d);
    const st = x ? testState(x, now) : null;
    const list = (items.get(d) || []).sort((a, b) => a.t - b.t).map(i => i.el);
    const today = ended === null && o.status === 'active' && now >= d0 && now < d1;
    rows.push(h('li.o-day', { dataset: { day: d, state, today: today ? '1' : '0' } },
      h('div.o-day-label', { title: `${local(d0)} 至 ${local(d1)}` }, h('b', `第 ${d} 天`), h('span.muted.small', local(d0).slice(5, 10))),
      h('div.o-track', h('span.o-seg'),
        orig < last && orig > d0 && orig <= d1 ? h('span.o-mark', { title: `原定 ${local(orig)} 期满`, style: `top:${(((orig - d0) / DAY) * 100).toFixed(1)}%` }) : null,
        x ? h('span.o-dot.tl-dot', { dataset: { result: st, day: d }, title: `第 ${d} 天核酸：${STATE_ZH[st]}${x.sampled_at ? `（采样 ${short(x.sampled_at)}）` : ''}` }) : null),
      h('div.o-day-body',
        x ? h('div.o-test', { dataset: { day: d, result: st } }, '核酸 ', h('b', STATE_ZH[st]),
          x.sampled_at ? h('span.muted.small', ` 采样 ${short(x.sampled_at)}`) : h('span.muted.small', ` 须在 ${short(x.window_end)} 前`)) : null,
        today ? h('span.tag.o-today', '今天') : null,
        list.length ? h('ul.o-items', list) : null)));
  }
  const reason = o.end_reason ? (END_ZH[o.end_reason] || o.end_reason) : '';
  const card = h('section.card.o-order.tl-order', { dataset: { id: o.id, status: o.status, kind: o.kind, phase: o.phase || 1 } },
    h('div.o-order-head',
      h('div.o-order-title',
        h('span.o-kind-bar', { dataset: { kind: o.kind } }),
        h('h2', kindZh(o)),
        h('span.tag.o-cat', { dataset: { cat: o.category } }, categoryZh(o.category)),
        o.phase === 2 ? h('span.tag', '第二阶段') : null,
        h('span.o-status', { dataset: { status: o.status } }, STATUS_ZH[o.status] || o.status)),
      h('div.o-order-meta.muted.small',
        h('span.tl-start', `开始 ${when(o.start_at)}`),
        h('span.tl-end', o.ended_at ? `结束 ${when(o.ended_at)}（${reason}）` : `计划至 ${when(o.planned_end)}`),
        o.orig_end && o.orig_end !== o.planned_end ? h('span', `原定 ${when(o.orig_end)}`) : null,
        o.case_id ? h('a', { href: `#/case/${encodeURIComponent(o.case_id)}` }, `病例 #${o.case_id}`) : null,
        o.link_person ? h('span', `经 ${o.link_person.name || '#' + o.link_person.id}`) : null,
        o.queued_at && !s ? h('span.tag.o-queued', `等待房间（${short(o.queued_at)} 起）`) : null,
        s ? h('span.o-stay-where', `${s.site ? s.site.name : ''} ${s.room ? `${s.room.number} 室（${s.room.floor} 层）` : ''}`) : null,
        o.policy_version ? h('span.code', o.policy_version) : null)),
    responsiblesLine(o),
    h('ol.o-days', { 'aria-label': '按天的管控记录' }, rows.map(r => (r.fold ? h('li.o-fold.muted.small', '…') : r))));
  if (canManageControl(app.user) && (o.status === 'active' || o.status === 'proposed')) card.append(actions(o, app, nav));
  return card;
}

function responsiblesLine(o) {
  const rs = o.responsibles || [];
  if (!rs.length) return null;
  return h('div.o-resp.small', h('span.muted', '五包一：'), rs.map(r => h('span.o-resp-item', { dataset: { role: r.role } },
    `${ROLE_ZH[r.role] || r.role} `, r.name ? h('b', r.name) : h('span.o-unassigned', '未落实'),
    r.phone ? h('span.mono.small', ` ${r.phone}`) : null)));
}

// extend / release early / cancel, each with a required reason
function actions(o, app, nav) {
  const box = h('div.o-actions');
  const form = h('form.o-act-form', { hidden: true, novalidate: true });
  let action = null;
  const reason = h('textarea.o-reason', { name: 'reason', rows: 2, maxlength: 200, placeholder: '必填：说明原因（记入审计）' });
  const until = h('input.o-until', { type: 'datetime-local', name: 'until' });
  const untilField = h('label.field.o-until-field', h('span.field-label', '延长至'), until);
  const msg = h('div.form-error', { role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary.o-act-submit', { type: 'submit' }, '确定');
  const title = h('b.o-act-title');
  const LABEL = { extend: '延长管控', release: '提前解除', cancel: '撤销管控' };
  const open = a => {
    action = a;
    title.textContent = LABEL[a];
    untilField.hidden = a !== 'extend';
    if (a === 'extend' && !until.value) until.value = local(ts(o.planned_end) + DAY).replace(' ', 'T');
    msg.hidden = true;
    form.hidden = false;
    reason.focus();
  };
  form.append(title, untilField, h('label.field', h('span.field-label', '原因'), reason), msg,
    h('div.o-act-buttons', submit, h('button.btn', { type: 'button', onclick: () => { form.hidden = true; } }, '取消')));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const say = t => { msg.textContent = t; msg.hidden = !t; };
    say('');
    const why = reason.value.trim();
    if (!why) { say('请填写原因。'); reason.focus(); return; }
    const body = { reason: why };
    if (action === 'extend') {
      if (!until.value) { say('请选择延长到的时间。'); until.focus(); return; }
      body.until = isoOf(until.value);
      if (Date.parse(body.until) <= Date.parse(o.planned_end) && Date.parse(body.until) <= Date.now()) { say('延长到的时间须晚于现在。'); return; }
    }
    submit.disabled = true;
    try {
      await request('POST', `/api/v1/orders/${encodeURIComponent(o.id)}/${action}`, { body });
    } catch (e) {
      if (!nav.alive()) return;
      submit.disabled = false;
      say(e.status === 409 ? `此管控当前状态不允许该操作（${e.code || e.message}）。` : e.status === 400 ? `请求有误：${e.message}` : errorText(e));
      return;
    }
    if (nav.alive()) app.go(location.hash);
  });
  if (o.status === 'active') {
    box.append(h('button.btn.btn-small.tl-act-extend', { type: 'button', onclick: () => open('extend') }, '延长'),
      h('button.btn.btn-small.tl-act-release', { type: 'button', onclick: () => open('release') }, '提前解除'));
  }
  box.append(h('button.btn.btn-small.tl-act-cancel', { type: 'button', onclick: () => open('cancel') }, '撤销'));
  return h('div.o-act-wrap', box, form);
}

