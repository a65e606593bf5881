// Region tree browser: #/region and #/region/CODE.
import { get } from './api.js';
import { h, clear, num, spinner, errorText } from './dom.js';
import { populationChart, MAX_BARS } from './chart.js';
import { canSeePersons } from './persons.js';

const PAGE = 100;

const FIGURES = [
  ['population', '人口'],
  ['households', '户数'],
  ['venues', '场所'],
  ['grids', '网格'],
  ['children', '下级区域'],
];

export async function renderRegion(root, code, app, nav) {
  const box = h('section.region');
  root.append(box);
  box.append(spinner('正在加载区域…'));

  if (!code) return renderRoots(box, app, nav);

  let region, first;
  try {
    [region, first] = await Promise.all([
      get(`/api/v1/regions/${encodeURIComponent(code)}`),
      get('/api/v1/regions', { parent: code, limit: PAGE }),
    ]);
  } catch (e) {
    if (!nav.alive()) return;
    clear(box);
    app.showError(e, '加载区域失败');
    box.append(h('div.panel.empty',
      h('p', e.status === 404 ? '该区域不存在，或不在您的管辖范围内。' : errorText(e)),
      h('p', h('a.btn', { href: '#/region' }, '返回我的辖区'))));
    return;
  }
  if (!nav.alive()) return;
  app.region = region;
  clear(box);
  document.title = `${region.name} · 防控`;

  box.append(
    breadcrumb(region.path || [], region, app.user),
    h('div.region-head',
      h('div.region-title',
        h('h1', region.name),
        h('span.tag', region.level_name || ''),
        h('span.code', region.code)),
      canSeePersons(app.user) &&
        h('a.btn', { href: `#/persons?region=${encodeURIComponent(region.code)}` }, '在此区域查询人员')),
    figures(region),
  );
  renderChildren(box, region, first, app, nav);
}

async function renderRoots(box, app, nav) {
  let r;
  try {
    r = await get('/api/v1/regions');
  } catch (e) {
    if (!nav.alive()) return;
    clear(box);
    app.showError(e, '加载区域失败');
    box.append(h('div.panel.empty', h('p', errorText(e))));
    return;
  }
  if (!nav.alive()) return;
  if (r.items.length === 1) {
    location.replace(`#/region/${encodeURIComponent(r.items[0].code)}`);
    return;
  }
  clear(box);
  box.append(
    h('nav.breadcrumb', { 'aria-label': '区域路径' }, h('span.crumb-current', '全部辖区')),
    h('div.region-head', h('div.region-title', h('h1', '全部辖区'))),
  );
  if (!r.items.length) {
    box.append(h('div.panel.empty', h('p', '您的账号没有可查看的区域，请联系管理员。')));
    return;
  }
  const total = { population: 0, households: 0, venues: 0, grids: 0, children: r.items.length };
  for (const it of r.items) for (const k of ['population', 'households', 'venues', 'grids']) total[k] += it[k] || 0;
  box.append(figures(total));
  renderChildren(box, null, r, app, nav);
}

function breadcrumb(path, region, user) {
  const scope = (user && user.scope) || '';
  const items = [h('a.crumb', { href: '#/region' }, '辖区')];
  for (const p of path) {
    // ancestors above the user's own scope are shown but cannot be opened
    const above = scope && scope.startsWith(p.code) && scope !== p.code;
    items.push(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'));
    items.push(above
      ? h('span.crumb.crumb-off', p.name)
      : h('a.crumb', { href: `#/region/${encodeURIComponent(p.code)}` }, p.name));
  }
  items.push(h('span.crumb-sep', { 'aria-hidden': 'true' }, '›'));
  items.push(h('span.crumb-current', { 'aria-current': 'page' }, region.name));
  return h('nav.breadcrumb#breadcrumb', { 'aria-label': '区域路径' }, items);
}

function figures(r) {
  return h('div.figures#figures',
    FIGURES.map(([k, label]) => h('div.figure', { dataset: { fig: k } },
      h('div.figure-label', label),
      h('div.figure-value', num(r[k])))));
}

function renderChildren(box, region, first, app, nav) {
  const items = [];
  const childLevel = first.items[0] ? first.items[0].level_name : '';
  const total = region ? region.children : first.items.length;

  if (!first.items.length) {
    box.append(h('div.panel.empty#children-empty',
      h('p', region && region.level >= 6 ? '网格是最小的管理单元，没有下级区域。' : '没有下级区域。')));
    return;
  }

  const chartEl = h('div.chart#pop-chart', { role: 'img', 'aria-label': '各下级区域人口柱状图' });
  const chartNote = h('p.muted.chart-note');
  const chartCard = h('section.card.chart-card',
    h('div.card-head', h('h2', `人口分布${childLevel ? '（按' + childLevel + '）' : ''}`), chartNote),
    chartEl);

  const tbody = h('tbody');
  const table = h('table.table.rtable#children-table',
    h('thead', h('tr',
      h('th', '名称'),
      FIGURES.map(([, label]) => h('th.num', label)))),
    tbody);
  const more = h('button.btn#children-more', { type: 'button', hidden: true }, '更多');
  const count = h('span.muted.count');
  const listCard = h('section.card.list-card',
    h('div.card-head', h('h2', `下级区域${childLevel ? ' · ' + childLevel : ''}`), count),
    h('div.table-wrap', table),
    h('div.card-foot', more));

  box.append(h('div.region-body', chartCard, listCard));

  let chart = null;
  let chartFailed = false;
  nav.onCleanup(() => { if (chart) chart.dispose(); });

  const go = code => { location.hash = `#/region/${encodeURIComponent(code)}`; };

  function addRows(rows) {
    for (const c of rows) {
      items.push(c);
      const name = h('a.rname', { href: `#/region/${encodeURIComponent(c.code)}` }, c.name);
      tbody.append(h('tr', { dataset: { code: c.code }, onclick: ev => { if (ev.target.tagName !== 'A') go(c.code); } },
        h('td.name', { 'data-label': '名称' }, name, h('span.code', c.code)),
        FIGURES.map(([k, label]) => h('td.num', { 'data-label': label, dataset: { fig: k } }, num(c[k])))));
    }
    count.textContent = total && total > items.length ? `已显示 ${num(items.length)} / ${num(total)}` : `共 ${num(items.length)} 个`;
    chartNote.textContent = items.length > MAX_BARS
      ? `人口最多的 ${MAX_BARS} 个（共 ${num(total || items.length)} 个）`
      : (total && total > items.length ? `已加载 ${num(items.length)} 个，点击“更多”加载其余` : '点击条形可进入该区域');
    if (chart) chart.update(items);
  }

  let cursor = first.next_cursor;
  const setMore = () => { more.hidden = !cursor; more.disabled = false; more.textContent = '更多'; };
  more.addEventListener('click', async () => {
    more.disabled = true;
    more.textContent = '加载中…';
    try {
      const r = await get('/api/v1/regions', { parent: region ? region.code : undefined, limit: PAGE, cursor });
      if (!nav.alive()) return;
      cursor = r.next_cursor;
      addRows(r.items);
    } catch (e) {
      if (!nav.alive()) return;
      app.showError(e, '加载更多区域失败');
    }
    setMore();
  });

  addRows(first.items);
  setMore();

  chartEl.append(spinner('正在绘制图表…'));
  populationChart(chartEl, { onPick: go }).then(c => {
    if (!nav.alive()) { c.dispose(); return; }
    chartEl.querySelector('.loading')?.remove();
    chart = c;
    chart.update(items);
  }).catch(e => {
    if (!nav.alive() || chartFailed) return;
    chartFailed = true;
    clear(chartEl);
    chartEl.style.height = 'auto';
    chartEl.append(h('p.muted.empty', '图表无法显示；下方表格数据不受影响。'));
    app.showError(e.message || String(e));
  });
}
