// The public risk-area page (web/risk.html): no login.  Lists the areas in
// force from GET /api/v1/risk-areas, high first, grouped by county, with
// the countdown to the next automatic change in days and hours.  The
// countdown counts from the server's seconds_left at the time of the
// answer (not the device's clock, which may be wrong); the list reloads
// every 60 s.
import { h, clear } from './dom.js';

const REFRESH_MS = 60000;
const LEVELS = [
  { key: 'high', zh: '高风险区', en: 'High risk' },
  { key: 'medium', zh: '中风险区', en: 'Medium risk' },
];
const NEXT_ZH = { medium: '降为中风险', low: '降为低风险' };

let data = null, fetchedAt = 0;

// "3天4小时" (whole hours, rounded up so that 0 shows only when due)
export function daysHours(seconds) {
  const s = Math.max(0, seconds);
  const hours = Math.ceil(s / 3600);
  const d = Math.floor(hours / 24), hh = hours % 24;
  if (!d) return `${hh}小时`;
  return hh ? `${d}天${hh}小时` : `${d}天`;
}

// "2022-03-01 08:00" from an ISO time with +08:00
function localTime(iso) {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}

function areaName(a) {
  return a.region.name + (a.building ? ` ${a.building}` : '');
}

function areaItem(a) {
  const elapsed = Math.floor((Date.now() - fetchedAt) / 1000);
  const c = a.countdown;
  return h('li.area', { dataset: { id: a.id, region: a.region.code, level: a.level } },
    h('div.name', areaName(a)),
    h('div.path', a.region.path + (a.building ? ` ${a.building}` : '')),
    h('div.since', `自 ${localTime(a.start_at)} 起`),
    c ? h('div.countdown', '预计 ', h('b.left', daysHours(c.seconds_left - elapsed)), ` 后${NEXT_ZH[c.next_level] || ''}`,
      h('span.due', `（${localTime(c.due_at)}，已连续 ${c.days_without_infection} 天无新增感染）`))
      : h('div.countdown', '暂停自动调整'));
}

function render() {
  const list = document.getElementById('list');
  clear(list);
  if (!data) return;
  const counts = data.counts || {};
  document.getElementById('count-high').textContent = String(counts.high ?? 0);
  document.getElementById('count-medium').textContent = String(counts.medium ?? 0);
  const medium = data.policy && data.policy.medium_level !== false;
  document.getElementById('tile-medium').hidden = !medium && !counts.medium;
  document.getElementById('policy').textContent = data.policy && data.policy.title
    ? `依据：${data.policy.title}` : '';
  for (const L of LEVELS) {
    const items = data.items.filter(a => a.level === L.key);
    if (L.key === 'medium' && !medium && !items.length) continue;
    const sec = h(`section.level-${L.key}`, { dataset: { level: L.key } },
      h('h2', h('span.badge', L.zh), h('span.count', `${items.length} 个`)));
    if (!items.length) {
      sec.append(h('p.empty', `当前无${L.zh}`));
    } else {
      // grouped by county, in the order the server sorted them
      const groups = new Map();
      for (const a of items) {
        const k = a.region.county ? a.region.county.code : '';
        if (!groups.has(k)) groups.set(k, { name: a.region.county ? a.region.county.name : '其他', items: [] });
        groups.get(k).items.push(a);
      }
      for (const [code, g] of groups) {
        sec.append(h('h3', { dataset: { county: code } }, `${g.name}（${g.items.length}）`),
          h('ul.areas', g.items.map(areaItem)));
      }
    }
    list.append(sec);
  }
}

async function load() {
  const status = document.getElementById('status');
  try {
    const r = await fetch('/api/v1/risk-areas', { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    data = await r.json();
    fetchedAt = Date.now();
    status.className = '';
    status.textContent = `更新于 ${localTime(data.as_of)}`;
    render();
  } catch (e) {
    status.className = 'error';
    status.textContent = `加载失败，稍后自动重试（${e.message}）`;
  }
}

if (typeof document !== 'undefined') {
  load();
  setInterval(load, REFRESH_MS);
}
