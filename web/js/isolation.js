// Isolation sites (隔离点):
//   #/isolation?date=YYYY-MM-DD        the board: totals, a card per site with
//                                      its occupancy, rooms free on each of
//                                      the next 7 days (ECharts), today's due
//                                      tests, releases due and the queue with
//                                      its waiting times
//   #/isolation/site/ID                one site: its rooms by floor, coloured
//                                      by state (free, occupied, cleaning,
//                                      out of service), occupants, and the
//                                      room status for the isolation team
//
// Every figure is the server's (GET /api/v1/isolation/board and
// /isolation/sites/{id}); the page only lays them out.  The board refreshes
// itself every minute.
import { get, request } from './api.js';
import { h, clear, num, spinner, errorText, duration } from './dom.js';
import { loadEcharts } from './chart.js';
import { canReadControl, personHref } from './orders.js';

const ISOLATION_ROLES = new Set(['command', 'isolation']);
const BOARD_ROLES = new Set(['command', 'tracer', 'isolation']);
export function canSeeBoard(user) { return !!user && BOARD_ROLES.has(user.role); }
export function canManageIsolation(user) { return !!user && ISOLATION_ROLES.has(user.role); }

const REFRESH_MS = 60000;
const ROOM_STATE_ZH = { free: '空闲', occupied: '已入住', cleaning: '清洁消毒', out_of_service: '停用', full: '已满' };
const ROOM_STATUS = [['ready', '可用'], ['cleaning', '清洁消毒'], ['out_of_service', '停用']];
const SITE_STATUS_ZH = { open: '启用', closed: '关闭' };

/* Tooltips are HTML: every name from the database goes through esc(). */
const esc = v => String(v ?? '').replace(/[&<>"']/g, ch => `&#${ch.charCodeAt(0)};`);
const when = s => (s ? s.slice(0, 16).replace('T', ' ') : '—');
const short = s => (s ? s.slice(5, 16).replace('T', ' ') : '—');
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(0)}%` : '—');
const siteHref = id => `#/isolation/site/${encodeURIComponent(id)}`;
// today's date in China Standard Time
const todayCn = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

function noAccess(root, user, e) {
  root.append(h('div.panel.notice#no-isolation-access', { role: 'note' },
    h('h2', '无隔离点权限'),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能查看隔离点看板。`),
    h('p.muted', '隔离点看板向指挥部、流调溯源组和转运隔离组开放；网格员请在“管控”中查看本网格的管控人员。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

function cleanups(nav) {
  const fns = [];
  nav.onCleanup(() => { for (const f of fns) { try { f(); } catch { /* ignore */ } } });
  return fn => fns.push(fn);
}

function personCell(p) {
  if (!p) return h('span', '—');
  return h('span.i-person', h('a.i-pname', { href: personHref(p.id) }, p.name || '—'), p.id_number ? h('span.mono.small', ` ${p.id_number}`) : null);
}

// ---------------------------------------------------------------- board

export function renderIsolation(root, query, app, nav) {
  const box = h('section.isolation');
  root.append(box);
  document.title = '隔离点 · 防控';
  const date = /^\d{4}-\d{2}-\d{2}$/.test(query.get('date') || '') ? query.get('date') : '';
  const dateIn = h('input#iso-date', { type: 'date', value: date || todayCn(), 'aria-label': '日期' });
  dateIn.addEventListener('change', () => { location.hash = `#/isolation${dateIn.value ? `?date=${dateIn.value}` : ''}`; });
  const asof = h('span.muted.small#iso-asof');
  box.append(h('div.region-head',
    h('div.region-title', h('h1', '隔离点看板'), h('span.muted.small', '应隔尽隔 · 一人一间')),
    h('div.i-tools', dateIn, asof,
      h('button.btn.btn-small#iso-refresh', { type: 'button', onclick: () => app.go(location.hash) }, '刷新'))));
  if (!canReadControl(app.user)) { noAccess(box, app.user); return; }
  const onCleanup = cleanups(nav);
  const body = h('div.i-board-body', spinner('正在加载隔离点看板…'));
  box.append(body);
  let chart = null;
  onCleanup(() => { if (chart) chart.dispose(); });
  const load = async first => {
    let b;
    try { b = await get('/api/v1/isolation/board', { date: date || undefined }); } catch (e) {
      if (!nav.alive()) return;
      if (!first) { app.showError(e, '刷新看板失败'); return; }
      clear(body);
      if (e.status === 403) { noAccess(body, app.user, e); return; }
      app.showError(e, '加载隔离点看板失败');
      body.append(h('div.panel.empty.i-fail', { role: 'alert' },
        h('p', e.status === 404 ? '隔离点看板暂不可用（服务器尚未提供此功能）。' : errorText(e))));
      return;
    }
    if (!nav.alive()) return;
    if (chart) { chart.dispose(); chart = null; }
    clear(body);
    asof.textContent = `${b.date || ''} · 更新于 ${new Date(Date.now() + 8 * 3600e3).toISOString().slice(11, 16)}`;
    chart = renderBoard(body, b, app, nav);
  };
  load(true);
  const timer = setInterval(() => load(false), REFRESH_MS);
  onCleanup(() => clearInterval(timer));
}

function fig(key, label, value, note, href) {
  const v = h(`div.figure-value#if-${key}`, value);
  return h('div.figure', { dataset: { fig: key } }, h('div.figure-label', label), href ? h('a.o-fig-link', { href }, v) : v,
    note ? h('div.figure-note', note) : null);
}

function renderBoard(body, b, app, nav) {
  const t = b.totals || {};
  const sites = b.sites || [];
  const rooms = sites.reduce((a, s) => a + (s.rooms || 0), 0);
  const occupied = sites.reduce((a, s) => a + (s.occupied || 0), 0);
  const free = sites.reduce((a, s) => a + (s.free || 0), 0);
  body.append(h('div.figures.i-totals#iso-totals',
    fig('active', '管控中', num(t.active), null, '#/orders?tab=active'),
    fig('central', '集中隔离', num(t.central), null, '#/orders?tab=active&kind=central'),
    fig('home', '居家', num(t.home)),
    fig('queued', '等待房间', num(t.queued), null, '#/orders?tab=active&queued=1'),
    fig('proposed', '待确认', num(t.proposed), null, '#/orders?tab=proposed')));
  body.append(h('div.figures.i-rooms-figs#iso-room-totals',
    fig('rooms', '房间', num(rooms), `${num(sites.length)} 个隔离点`),
    fig('occupied', '已入住', num(occupied), `入住率 ${pct(occupied, rooms)}`),
    fig('free', '空闲', num(free))));

  // sites
  const sitesCard = h('section.card.list-card#iso-sites-card',
    h('div.card-head', h('h2', '隔离点'), h('span.muted.count', `${num(sites.length)} 个`)));
  if (!sites.length) {
    sitesCard.append(h('p.muted.hint#iso-sites-none', '您的辖区还没有集中隔离点。',
      canManageIsolation(app.user) ? ' 可在下方添加。' : ''));
  } else {
    sitesCard.append(h('ul.i-sites#iso-sites', sites.map(siteCard)));
  }
  let chart = null;
  const chartEl = h('div.i-chart#iso-free-chart', { role: 'img', 'aria-label': '未来 7 天各隔离点空闲房间数' });
  const chartCard = h('section.card.i-chart-card',
    h('div.card-head', h('h2', '未来 7 天空闲房间'), h('p.muted.chart-note', '某日空闲：当日零时起全天可用的房间（按在住人员的计划解除时间推算）')),
    chartEl);
  const handle = { dispose() { if (chart) chart.dispose(); chart = null; } };
  if (!sites.length) {
    chartEl.append(h('p.muted.empty', '没有隔离点。'));
  } else {
    drawFree(chartEl, sites, nav).then(c => { chart = c; }).catch(e => {
      if (!nav.alive()) return;
      clear(chartEl);
      chartEl.style.height = 'auto';
      chartEl.append(h('p.muted.empty', `图表无法显示（${e.message || e}）；空闲房间见下表。`));
    });
    chartCard.append(freeTable(sites));
  }
  body.append(h('div.i-top', sitesCard, chartCard));
  body.append(h('div.i-lists', testsCard(b.tests_due || [], b.date), releasesCard(b.releases_due || [], b.date), queueCard(b.queue || [])));
  if (canManageIsolation(app.user)) body.append(siteForm(app, nav));
  return handle;
}

function siteCard(s) {
  const rooms = s.rooms || 0, occ = s.occupied || 0, free = s.free || 0;
  const other = Math.max(0, rooms - occ - free);
  const w = v => (rooms ? ((100 * v) / rooms).toFixed(2) : 0);
  return h('li.i-site', { dataset: { id: s.id } },
    h('div.i-site-head', h('a.i-site-name', { href: siteHref(s.id) }, s.name),
      s.region ? h('span.muted.small', s.region.name || s.region.code || '') : null,
      s.status && s.status !== 'open' ? h('span.tag', SITE_STATUS_ZH[s.status] || s.status) : null),
    h('div.i-occ', { role: 'img', 'aria-label': `房间 ${rooms}，已入住 ${occ}，空闲 ${free}，不可用 ${other}` },
      h('span.i-occ-occ', { style: `width:${w(occ)}%` }),
      h('span.i-occ-other', { style: `width:${w(other)}%` }),
      h('span.i-occ-free', { style: `width:${w(free)}%` })),
    h('div.i-site-figs',
      h('span', '房间 ', h('b.i-rooms', num(rooms))),
      h('span', '已入住 ', h('b.i-occupied', num(occ))),
      h('span', '空闲 ', h('b.i-free', num(free))),
      other ? h('span.muted', '清洁/停用 ', h('b.i-other', num(other))) : null,
      h('span.muted', `入住率 ${pct(occ, rooms)}`)));
}

function freeTable(sites) {
  const dates = (sites[0].free_by_date || []).map(x => x.date);
  return h('div.table-wrap.i-free-wrap', h('table.table.i-free-table#iso-free-table',
    h('thead', h('tr', h('th', '隔离点'), dates.map(d => h('th.num', d.slice(5))))),
    h('tbody', sites.map(s => h('tr', { dataset: { id: s.id } }, h('td.name', s.name),
      (s.free_by_date || []).map(x => h('td.num', { dataset: { date: x.date } }, num(x.free))))))));
}

const PALETTE = ['#1f6fb2', '#2bb3a3', '#e0a800', '#8e5bb5', '#d9822b', '#3b9b4a', '#c2417a', '#5b6b7f'];

async function drawFree(el, sites, nav) {
  el.append(spinner('正在绘制图表…'));
  const echarts = await loadEcharts();
  if (!nav.alive()) return null;
  clear(el);
  const dates = (sites[0].free_by_date || []).map(x => x.date);
  el.style.height = '260px';
  const chart = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
  const ro = window.ResizeObserver ? new ResizeObserver(() => chart.resize()) : null;
  if (ro) ro.observe(el);
  const narrow = el.clientWidth < 480;
  chart.setOption({
    animationDuration: 300,
    color: PALETTE,
    legend: { top: 0, type: 'scroll', itemWidth: 14, itemHeight: 10, textStyle: { color: '#33475b' } },
    grid: { left: 8, right: narrow ? 8 : 16, top: 32, bottom: 8, containLabel: true },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
      formatter: ps => `<b>${esc(ps[0].axisValue)}</b><br>` + ps.map(p => `${p.marker}${esc(p.seriesName)} 空闲 <b>${num(p.value)}</b> 间`).join('<br>')
        + (ps.length > 1 ? `<br>合计 <b>${num(ps.reduce((a, p) => a + (p.value || 0), 0))}</b> 间` : ''),
    },
    xAxis: { type: 'category', data: dates.map(d => d.slice(5)), axisTick: { show: false }, axisLabel: { color: '#5b6b7f' } },
    yAxis: { type: 'value', minInterval: 1, axisLabel: { color: '#5b6b7f' }, splitLine: { lineStyle: { color: '#e6ebf1' } } },
    series: sites.map(s => ({
      name: s.name, type: 'bar', stack: 'free', barMaxWidth: 36,
      data: (s.free_by_date || []).map(x => x.free),
    })),
  });
  el.dataset.sites = String(sites.length);
  el.dataset.dates = dates.join(',');
  return { dispose() { if (ro) ro.disconnect(); chart.dispose(); } };
}

function listCard(id, title, count, empty, rows) {
  return h(`section.card.list-card.i-list#${id}`,
    h('div.card-head', h('h2', title), h(`span.muted.count#${id}-count`, `${num(count)} 人`)),
    count ? h('ul.i-rows', rows) : h('p.muted.hint.i-none', empty));
}

// the person's grid by name when the answer has it, else its code
function gridOf(x) {
  const g = (x.person && x.person.grid) || x.grid;
  if (!g) return null;
  if (typeof g === 'string') return h('span.code', g);
  return h('span', g.name || '', g.code ? h('span.code', ` ${g.code}`) : null);
}

function testsCard(items, date) {
  return listCard('iso-tests', '今日应检', items.length, `${date || '今天'}没有待采样的管控人员。`, items.map(x =>
    h('li.i-row', { dataset: { order: x.order_id, day: x.day } },
      h('div.i-row-line1', personCell(x.person), h('span.tag', `第 ${x.day} 天`)),
      h('div.i-row-line2.muted.small',
        h('span', `须在 ${short(x.window_end)} 前采样`),
        x.site ? h('span', x.site.name || '') : h('span', '居家'),
        gridOf(x)))));
}

function releasesCard(items, date) {
  return listCard('iso-releases', '今日到期', items.length, `${date || '今天'}没有到期的管控。`, items.map(x =>
    h('li.i-row', { dataset: { order: x.order_id, releasable: x.releasable ? '1' : '0' } },
      h('div.i-row-line1', personCell(x.person),
        x.releasable ? h('span.tag.i-ok', '可解除') : h('span.tag.i-wait', '待核酸')),
      h('div.i-row-line2.muted.small',
        h('span', `计划 ${short(x.planned_end)} 解除`),
        !x.releasable && x.missing && x.missing.length ? h('span.i-missing', `缺第 ${x.missing.join('、')} 天核酸阴性结果`) : null))));
}

function queueCard(items) {
  const sorted = items.slice().sort((a, b) => (b.waiting_s || 0) - (a.waiting_s || 0));
  return listCard('iso-queue', '等待房间', items.length, '没有排队等待房间的人员。', sorted.map(x =>
    h('li.i-row', { dataset: { order: x.order_id, waiting: x.waiting_s } },
      h('div.i-row-line1', personCell(x.person), h('b.i-wait-time', { dataset: { long: x.waiting_s >= 4 * 3600 ? '1' : '0' } }, `已等 ${duration(x.waiting_s || 0)}`)),
      h('div.i-row-line2.muted.small', h('span', `${short(x.queued_at)} 起排队`)))));
}

// a new site with floors x rooms
function siteForm(app, nav) {
  const name = h('input#is-name', { maxlength: 60, autocomplete: 'off', placeholder: '如：汉滨区某酒店隔离点' });
  const region = h('input#is-region', { maxlength: 15, inputmode: 'numeric', autocomplete: 'off', placeholder: '区划代码，如 610902' });
  const address = h('input#is-address', { maxlength: 120, autocomplete: 'off' });
  const floors = h('input#is-floors', { type: 'number', min: 1, max: 50, value: 3, inputmode: 'numeric' });
  const per = h('input#is-per', { type: 'number', min: 1, max: 100, value: 10, inputmode: 'numeric' });
  const msg = h('div.form-error', { role: 'alert', hidden: true });
  const say = (t, ok) => { msg.textContent = t; msg.className = ok ? 'form-info' : 'form-error'; msg.hidden = !t; };
  const submit = h('button.btn#is-submit', { type: 'submit' }, '添加隔离点');
  if (app.user && app.user.scope) region.value = app.user.scope;
  return h('details.card.i-site-form#iso-site-form', h('summary.card-head', h('h2', '添加隔离点')),
    h('form.card-body.i-form', { novalidate: true, onsubmit: async ev => {
      ev.preventDefault();
      say('');
      if (!name.value.trim()) { say('请填写隔离点名称。'); name.focus(); return; }
      if (!/^\d{2,15}$/.test(region.value.trim())) { say('请填写隔离点所在区域的区划代码。'); region.focus(); return; }
      const F = Number(floors.value), K = Number(per.value);
      if (!(F >= 1 && K >= 1)) { say('楼层数和每层房间数应为正整数。'); return; }
      submit.disabled = true;
      try {
        const s = await request('POST', '/api/v1/isolation/sites', { body: {
          name: name.value.trim(), region: region.value.trim(), address: address.value.trim() || undefined,
          floors: F, rooms_per_floor: K } });
        if (!nav.alive()) return;
        location.hash = siteHref(s.id);
      } catch (e) {
        if (!nav.alive()) return;
        say(e.status === 409 ? '已有同名的隔离点。' : e.status === 404 ? '该区域不存在或不在您的管辖范围内。' : e.status === 400 ? `请求有误：${e.message}` : errorText(e));
      } finally {
        submit.disabled = false;
      }
    } },
    h('div.i-form-grid',
      h('label.field', h('span.field-label', '名称'), name),
      h('label.field', h('span.field-label', '所在区域'), region),
      h('label.field', h('span.field-label', '地址（可空）'), address),
      h('label.field', h('span.field-label', '楼层数'), floors),
      h('label.field', h('span.field-label', '每层房间数'), per)),
    h('p.field-hint', '房间按楼层编号：101、102……（每间默认带独立卫生间，住 1 人）。'),
    msg, h('div.form-actions', submit)));
}

// ---------------------------------------------------------------- one site

function roomState(r) {
  const occ = (r.occupants || []).length;
  if (occ) return occ >= (r.capacity || 1) ? 'occupied' : 'occupied';
  if (r.status === 'cleaning') return 'cleaning';
  if (r.status === 'out_of_service') return 'out_of_service';
  return 'free';
}

export async function renderSite(root, id, app, nav) {
  const box = h('section.i-site-page');
  root.append(box);
  box.append(h('nav.breadcrumb', h('a.crumb#site-back', { href: '#/isolation' }, '‹ 隔离点看板')));
  if (!canReadControl(app.user)) { noAccess(box, app.user); return; }
  const wait = spinner('正在加载隔离点…');
  box.append(wait);
  let s;
  try { s = await get(`/api/v1/isolation/sites/${encodeURIComponent(id)}`); } catch (e) {
    if (!nav.alive()) return;
    wait.remove();
    if (e.status === 403) { noAccess(box, app.user, e); return; }
    app.showError(e, '加载隔离点失败');
    box.append(h('div.panel.empty.i-fail', h('p', e.status === 404 ? '该隔离点不存在，或不在您的管辖范围内。' : errorText(e)),
      h('p', h('a.btn', { href: '#/isolation' }, '返回看板'))));
    return;
  }
  if (!nav.alive()) return;
  wait.remove();
  document.title = `${s.name} · 隔离点 · 防控`;
  const rooms = s.rooms || [];
  const counts = { free: 0, occupied: 0, cleaning: 0, out_of_service: 0 };
  for (const r of rooms) counts[roomState(r)]++;
  const persons = rooms.reduce((a, r) => a + (r.occupants || []).length, 0);
  box.append(h('div.region-head',
    h('div.region-title', h('h1#site-name', s.name),
      s.region ? h('span.muted.small', s.region.name || s.region.code) : null,
      s.address ? h('span.muted.small', s.address) : null)));
  const legendItem = (k) => h('span.i-leg', { dataset: { state: k } }, h('span.i-leg-sw'), ROOM_STATE_ZH[k], ' ', h(`b#sr-${k}`, num(counts[k])));
  box.append(h('div.card.i-site-sum',
    h('div.i-site-figs', h('span', '房间 ', h('b#sr-rooms', num(rooms.length))), h('span', '在住 ', h('b#sr-persons', num(persons)), ' 人')),
    h('div.i-legend', ['free', 'occupied', 'cleaning', 'out_of_service'].map(legendItem))));
  const detail = h('div.card.i-room-detail#room-detail', { hidden: true });
  if (!rooms.length) {
    box.append(h('div.panel.empty#site-no-rooms', h('p', '此隔离点还没有房间。')));
  } else {
    const floors = new Map();
    for (const r of rooms) { if (!floors.has(r.floor)) floors.set(r.floor, []); floors.get(r.floor).push(r); }
    const keys = [...floors.keys()].sort((a, b) => b - a); // top floor first, as the building stands
    box.append(h('section.card.i-floors#site-rooms', keys.map(f => h('div.iso-floor', { dataset: { floor: f } },
      h('div.i-floor-label', `${f} 层`),
      h('div.i-room-grid', floors.get(f).sort((a, b) => String(a.number).localeCompare(String(b.number), 'zh', { numeric: true }))
        .map(r => {
          const st = roomState(r);
          const occ = r.occupants || [];
          return h('button.iso-room', { type: 'button', dataset: { id: r.id, state: st, number: r.number },
            title: `${r.number} 室 · ${ROOM_STATE_ZH[st]}${occ.length ? ' · ' + occ.map(o => o.person ? o.person.name : '').join('、') : ''}`,
            onclick: () => showRoom(detail, r, st, app, nav) },
          h('span.i-room-no', r.number),
          h('span.i-room-sub', occ.length ? (occ[0].person ? occ[0].person.name : '在住') + (occ.length > 1 ? ` 等${occ.length}人` : '') : ROOM_STATE_ZH[st]),
          r.bathroom === false || r.bathroom === 0 ? h('span.i-room-nobath', { title: '无独立卫生间' }, '公卫') : null);
        }))))), detail);
  }
  const staff = s.staff || [];
  box.append(h('section.card.list-card#site-staff', h('div.card-head', h('h2', '工作人员'), h('span.muted.count', `${num(staff.length)} 人`)),
    staff.length ? h('ul.i-rows', staff.map(x => h('li.i-row', h('b', x.name), h('span.muted.small', ` ${x.role || ''}`), x.phone ? h('span.mono.small', ` ${x.phone}`) : null)))
      : h('p.muted.hint', '还没有登记工作人员。')));
}

function showRoom(detail, r, st, app, nav) {
  clear(detail);
  detail.hidden = false;
  const occ = r.occupants || [];
  detail.append(h('div.card-head', h('h2', `${r.number} 室`), h('span.i-leg', { dataset: { state: st } }, h('span.i-leg-sw'), ROOM_STATE_ZH[st])),
    h('div.card-body',
      h('p.muted.small', `${r.floor} 层 · ${r.bathroom === false || r.bathroom === 0 ? '无独立卫生间' : '独立卫生间'} · 可住 ${r.capacity || 1} 人`),
      occ.length ? h('ul.i-rows#room-occupants', occ.map(o => h('li.i-row', { dataset: { order: o.order_id } },
        personCell(o.person), h('span.muted.small', ` 预计 ${when(o.planned_leave)} 离开`))))
        : h('p.muted.small', '无人入住。'),
      canManageIsolation(app.user) && !occ.length ? statusForm(r, app, nav) : null));
  detail.scrollIntoView({ block: 'nearest' });
}

function statusForm(r, app, nav) {
  const sel = h('select#room-status', { 'aria-label': '房间状态' }, ROOM_STATUS.map(([v, l]) => h('option', { value: v, selected: v === r.status }, l)));
  const msg = h('span.small.i-status-msg', { role: 'status' });
  const btn = h('button.btn.btn-small#room-status-save', { type: 'button', onclick: async () => {
    btn.disabled = true;
    try {
      await request('POST', `/api/v1/isolation/rooms/${encodeURIComponent(r.id)}`, { body: { status: sel.value } });
      if (nav.alive()) app.go(location.hash);
    } catch (e) {
      if (!nav.alive()) return;
      msg.textContent = errorText(e);
      btn.disabled = false;
    }
  } }, '保存');
  return h('div.i-status', h('span.field-label', '房间状态'), sel, btn, msg);
}
