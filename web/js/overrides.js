// Staff pages of the health code: 赋码复核 (#/overrides: request, approve,
// refuse and revoke manual overrides), 纠错 (#/appeals: the open appeals
// with their owner and deadline, and the decision form), and the policy in
// force shown under every page (an admin may switch it).
//
// The server is the authority on every rule of an override (two distinct
// approvers with health roles, a category from the fixed list, an end no
// later than the policy maximum, a city-level approver for many persons):
// a refusal is shown with the server's own message, not second-guessed.
import { get, request } from './api.js';
import { h, clear, num, spinner, errorText, duration } from './dom.js';
import { CATEGORIES, categoryLabel, colourBadge, colourLabel, who, when, ms, isoOf, appealStatus, rulesList } from './code.js';

const HEALTH_ROLES = new Set(['command', 'tracer', 'isolation', 'tester']);
export function isHealth(user) { return !!user && HEALTH_ROLES.has(user.role); }

const ID_RE = /^\d{17}[\dX]$/;
const items = r => (Array.isArray(r) ? r : (r && (r.items || r.overrides || r.appeals)) || []);

function noAccess(root, user, what, e) {
  root.append(h('div.panel.notice#no-health-access', { role: 'note' },
    h('h2', `无${what}权限`),
    h('p', `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}不能办理${what}。`),
    h('p.muted', '人工赋码和纠错仅由指挥部、流调溯源组、转运隔离组和核酸检测组办理。'),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

// A message box: say(text) / say(text, 'ok') / say('') hides it.
function msgBox(id) {
  const el = h(`div.form-error#${id}`, { role: 'alert', hidden: true });
  const say = (t, kind = 'error') => { el.textContent = t; el.className = kind === 'ok' ? 'form-info' : 'form-error'; el.hidden = !t; };
  return { el, say };
}
// the server's words for a refusal (they name the rule that refused)
// with a Chinese gloss of the rules users meet most
const GLOSS = [
  [/you requested|same user|distinct|second health-role user/i, '不能审批本人发起的申请，须由另一名卫生健康工作人员审批'],
  [/city-level/i, '涉及人数超过阈值，须由市级人员审批'],
  [/maximum of|beyond the maximum|too long|max/i, '结束时间超过政策允许的最长期限'],
  [/not pending|nothing to revoke/i, '该申请已被处理'],
  [/would have ended|in the past/i, '结束时间已过'],
  [/category/i, '原因类别无效'],
  [/unknown|not found/i, '身份证号不存在或不在管辖范围内'],
];
function refusal(e) {
  if (![400, 403, 404, 409, 422].includes(e.status)) return errorText(e);
  const g = GLOSS.find(([re]) => re.test(e.message || ''));
  return `${g ? g[1] : errorText(e).replace(/（.*）$/, '')}（服务器答复：${e.message}）`;
}

// ---------------------------------------------------------------- 赋码复核

export function renderOverrides(root, app, nav) {
  const box = h('section.overrides');
  root.append(box);
  document.title = '赋码复核 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '赋码复核'), h('span.muted.small', 'Code overrides'))));
  if (!isHealth(app.user)) { noAccess(box, app.user, '赋码复核'); return; }
  const action = msgBox('ovr-action-msg');
  const pending = h('div#ovr-pending-box');
  const active = h('div#ovr-active-box');
  const reload = () => Promise.all([loadList('pending', pending), loadList('active', active)]);
  box.append(h('div.ovr-body', requestForm(reload), h('div.ovr-lists', action.el, pending, active)));
  reload();

  async function loadList(status, el) {
    clear(el);
    el.append(spinner());
    let r;
    try { r = await get('/api/v1/overrides', { status, limit: 100 }); } catch (e) {
      if (!nav.alive()) return;
      clear(el);
      if (e.status === 403) { clear(box); noAccess(box, app.user, '赋码复核', e); return; }
      el.append(h('div.panel.empty', h('p', errorText(e))));
      return;
    }
    if (!nav.alive()) return;
    clear(el);
    const list = items(r);
    const title = status === 'pending' ? '待审批' : '生效中';
    el.append(h(`section.card.list-card#ovr-${status}`,
      h('div.card-head', h('h2', title), h('span.muted.count', `${num(list.length)} 条${r && r.next_cursor ? '，还有更多' : ''}`)),
      list.length
        ? h('ul.ovr-list', list.map(o => overrideRow(o, status)))
        : h('p.muted.hint', status === 'pending' ? '没有待审批的申请。' : '没有生效中的人工赋码。')));
  }

  function overrideRow(o, status) {
    const mine = o.requested_by && app.user && (o.requested_by === app.user.username || o.requested_by.username === app.user.username);
    const rowMsg = h('p.row-msg', { role: 'alert', hidden: true });
    const act = (verb, label, cls) => h(`button.btn.btn-small.ovr-${verb}${cls ? '.' + cls : ''}`, { type: 'button', onclick: ev => decide(o, verb, label, ev.currentTarget, rowMsg) }, label);
    const persons = Array.isArray(o.persons) ? o.persons : null;
    const count = persons ? persons.length : (o.persons ?? o.person_count);
    return h('li.ovr-item', { dataset: { id: o.id, status: o.status || status } },
      h('div.ov-head', h('b', `#${o.id}`), colourBadge(o.colour), h('span', o.category_zh || categoryLabel(o.category)),
        count != null ? h('span.tag', `${num(count)} 人`) : null,
        h('span.small.muted', `至 ${when(o.end_at || o.end)} 结束`)),
      o.reason ? h('p.ov-reason', o.reason) : null,
      persons ? h('p.small.ov-persons', persons.slice(0, 20).map(p => (typeof p === 'object' ? `${p.name || ''} ${p.id_number || ''}`.trim() : String(p))).join('、'),
        persons.length > 20 ? ` 等 ${num(persons.length)} 人` : '') : null,
      h('p.small.muted',
        `申请：${who(o.requested_by)}${o.requested_at ? ' · ' + when(o.requested_at) : ''}`,
        o.approved_by ? `　批准：${who(o.approved_by)}${o.approved_at ? ' · ' + when(o.approved_at) : ''}` : '',
        mine && status === 'pending' ? h('span.mine', '（您发起的申请，须由另一名工作人员审批）') : null),
      h('div.ovr-actions', status === 'pending'
        ? [act('approve', '批准', 'btn-primary'), act('refuse', '拒绝')]
        : [act('revoke', '撤销')]),
      rowMsg);
  }

  async function decide(o, verb, label, btn, rowMsg) {
    action.say('');
    rowMsg.hidden = true;
    btn.disabled = true;
    try {
      await request('POST', `/api/v1/overrides/${encodeURIComponent(o.id)}/${verb}`, { body: {} });
    } catch (e) {
      btn.disabled = false;
      if (!nav.alive()) return;
      const t = `${label}未成功：${refusal(e)}`;
      rowMsg.textContent = t;
      rowMsg.hidden = false;
      return;
    }
    if (!nav.alive()) return;
    action.say(`申请 #${o.id} 已${label}。`, 'ok');
    reload();
  }
}

function requestForm(onDone) {
  const ids = h('textarea#ovr-ids', { name: 'id_numbers', rows: 4, placeholder: '每行一个 18 位身份证号', spellcheck: 'false', autocomplete: 'off' });
  const colour = h('select#ovr-colour', { name: 'colour' },
    ['green', 'yellow', 'red'].map(c => h('option', { value: c }, colourLabel(c))));
  const cat = h('select#ovr-category', { name: 'category' },
    h('option', { value: '' }, '请选择原因类别'),
    CATEGORIES.map(([v, l]) => h('option', { value: v }, l)));
  const reason = h('textarea#ovr-reason', { name: 'reason', rows: 3, maxlength: 500, placeholder: '说明核实情况和依据，如：某检测机构 6 月 3 日结果录入错误，已复核为阴性。' });
  const end = h('input#ovr-end', { type: 'datetime-local', name: 'end_at' });
  const m = msgBox('ovr-msg');
  const submit = h('button.btn.btn-primary#ovr-submit', { type: 'submit' }, '提交申请');
  const form = h('form.card.ovr-form#ovr-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    m.say('');
    const list = [...new Set(ids.value.split(/[\s,，;；]+/).map(s => s.trim().toUpperCase()).filter(Boolean))];
    const bad = list.filter(s => !ID_RE.test(s));
    if (!list.length) { m.say('请填写至少一个身份证号（每行一个）。'); ids.focus(); return; }
    if (bad.length) { m.say(`身份证号格式不正确：${bad.slice(0, 5).join('、')}${bad.length > 5 ? ' 等' : ''}`); ids.focus(); return; }
    if (!cat.value) { m.say('请选择原因类别。'); cat.focus(); return; }
    if (!reason.value.trim()) { m.say('请填写具体理由。'); reason.focus(); return; }
    if (!end.value) { m.say('请填写结束时间。'); end.focus(); return; }
    submit.disabled = true;
    submit.textContent = '提交中…';
    try {
      const r = await request('POST', '/api/v1/overrides', { body: {
        id_numbers: list, colour: colour.value, category: cat.value, reason: reason.value.trim(), end_at: isoOf(end.value),
      } });
      ids.value = '';
      reason.value = '';
      m.say(`已提交申请${r && r.id != null ? ' #' + r.id : ''}（${num(list.length)} 人），须由另一名卫生健康工作人员批准后生效。`, 'ok');
      onDone();
    } catch (e) {
      m.say(`未能提交：${refusal(e)}`);
    } finally {
      submit.disabled = false;
      submit.textContent = '提交申请';
    }
  } },
    h('div.card-head', h('h2', '申请人工赋码')),
    h('div.card-body.ovr-grid',
      h('label.field.wide', h('span.field-label', '身份证号（每行一个）'), ids),
      h('label.field', h('span.field-label', '赋码颜色'), colour),
      h('label.field', h('span.field-label', '原因类别'), cat),
      h('label.field.wide', h('span.field-label', '具体理由'), reason),
      h('label.field', h('span.field-label', '结束时间'), end),
      h('p.field-hint.wide', '人工赋码须由两名不同的卫生健康工作人员申请和批准；结束时间不得超过政策规定的最长期限；一次涉及人数超过政策阈值时须由市级人员批准。全部操作记入审计日志，本人可在“我的健康码”中看到。'),
      m.el,
      h('div.form-actions.wide', submit)));
  return form;
}

// ---------------------------------------------------------------- 纠错

export function renderAppeals(root, app, nav) {
  const box = h('section.appeals');
  root.append(box);
  document.title = '纠错 · 防控';
  box.append(h('div.region-head', h('div.region-title', h('h1', '纠错申请'), h('span.muted.small', 'Appeals'))));
  if (!isHealth(app.user)) { noAccess(box, app.user, '纠错处理', null); return; }
  const action = msgBox('ap-action-msg');
  const list = h('div#ap-list-box');
  // 全部待处理 / 我经办的 / 已超期 (the server filters)
  const FILTERS = [['all', '全部待处理', {}], ['mine', '我经办的', { mine: 1 }], ['overdue', '已超期', { overdue: 1 }]];
  let filter = 'all';
  const seg = h('div.seg#ap-filter', { role: 'group', 'aria-label': '筛选' },
    FILTERS.map(([v, l]) => h('button.seg-btn', { type: 'button', dataset: { v }, 'aria-pressed': String(v === filter), onclick: () => {
      filter = v;
      for (const b of seg.children) b.setAttribute('aria-pressed', String(b.dataset.v === v));
      load();
    } }, l)));
  box.append(h('div.ap-tools', seg), action.el, list);
  let timer = null;
  nav.onCleanup(() => clearInterval(timer));
  load();

  async function load() {
    clearInterval(timer);
    clear(list);
    list.append(spinner());
    let r;
    const extra = FILTERS.find(f => f[0] === filter)[2];
    try { r = await get('/api/v1/appeals', { status: 'open', limit: 100, ...extra }); } catch (e) {
      if (!nav.alive()) return;
      clear(list);
      if (e.status === 403) { clear(box); noAccess(box, app.user, '纠错处理', e); return; }
      list.append(h('div.panel.empty', h('p', errorText(e))));
      return;
    }
    if (!nav.alive()) return;
    clear(list);
    const all = items(r);
    // Overdue is the server's word (its clock may not be the browser's: a
    // drill on a replayed clock).  An overdue appeal says so next to its
    // deadline; an open one counts down only while the browser's clock
    // agrees that the deadline is ahead.
    const serverNow = ms(r && (r.now || r.at)) || Date.now();
    const t0 = performance.now();
    const overdue = a => (typeof a.overdue === 'boolean' ? a.overdue : ms(a.due_at) <= serverNow);
    const late = all.filter(overdue).length;
    const dues = [];
    list.append(h('section.card.list-card#ap-open',
      h('div.card-head', h('h2', FILTERS.find(f => f[0] === filter)[1]),
        h('span.muted.count', `${num(all.length)} 件`, late ? h('b.overdue-count#ap-overdue-count', `，其中 ${num(late)} 件已超期`) : '')),
      all.length
        ? h('ul.ap-list#ap-list', all.map(a => appealRow(a, overdue(a), dues)))
        : h('p.muted.hint#ap-none', filter === 'overdue' ? '没有超期的纠错申请。' : '没有待处理的纠错申请。')));
    const tick = () => {
      const now = serverNow + (performance.now() - t0);
      for (const [el, due, late0] of dues) {
        const left = (due - now) / 1000;
        el.textContent = late0 ? '（已超期）' : left > 0 ? `（剩余 ${duration(left)}）` : '';
      }
    };
    tick();
    timer = setInterval(tick, 30000);
  }

  function appealRow(a, late, dues) {
    const p = a.person || {};
    const dueEl = h('span.ap-due');
    if (a.due_at) dues.push([dueEl, ms(a.due_at), late]);
    const outcome = h('select.ap-outcome-sel', { name: 'outcome', 'aria-label': '处理结果' },
      h('option', { value: 'upheld' }, '维持原码（规则无误）'),
      h('option', { value: 'corrected' }, '已更正（数据已修正）'));
    const text = h('textarea.ap-decide-text', { name: 'text', rows: 2, maxlength: 1000, placeholder: '答复内容：核查了什么、结论是什么（本人可见）' });
    const rowMsg = h('p.row-msg', { role: 'alert', hidden: true });
    const btn = h('button.btn.btn-small.btn-primary.ap-decide', { type: 'submit' }, '提交答复');
    return h('li.ap-item', { class: late ? 'ap-item overdue' : 'ap-item', dataset: { id: a.id, overdue: String(late) } },
      h('div.ap-head',
        h('b', `#${a.id}`),
        h('span.ap-person', p.name || (a.person_id != null ? `人员 ${a.person_id}` : '')), p.id_number ? h('span.code', p.id_number) : null,
        a.colour ? colourBadge(a.colour) : null,
        late ? h('span.tag.tag-overdue', '已超期') : null),
      a.text ? h('p.ap-text', a.text) : null,
      a.rules && a.rules.length ? h('details.ap-rules', h('summary', `申请时的赋码依据（${a.rules.length} 条）`), rulesList(a.rules)) : null,
      h('p.small.muted',
        `提交于 ${when(a.filed_at)} · 经办：${a.owner ? who(a.owner) : '未分派'}`,
        a.due_at ? ` · 时限 ${when(a.due_at)} ` : '', a.due_at ? dueEl : null,
        a.status && a.status !== 'open' ? ` · ${appealStatus(a.status)}` : ''),
      h('form.ap-decide-form', { novalidate: true, onsubmit: async ev => {
        ev.preventDefault();
        rowMsg.hidden = true;
        if (!text.value.trim()) { rowMsg.textContent = '请填写答复内容。'; rowMsg.hidden = false; text.focus(); return; }
        btn.disabled = true;
        try {
          await request('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/decide`, { body: { outcome: outcome.value, text: text.value.trim() } });
        } catch (e) {
          btn.disabled = false;
          if (!nav.alive()) return;
          rowMsg.textContent = `未能提交：${refusal(e)}`;
          rowMsg.hidden = false;
          return;
        }
        if (!nav.alive()) return;
        action.say(`纠错申请 #${a.id} 已答复（${appealStatus(outcome.value)}）。`, 'ok');
        load();
      } }, outcome, text, btn),
      rowMsg);
  }
}

// ---------------------------------------------------------------- policy in force

// Fills the footer bar with the policy in force; an admin gets a switch
// with an explicit confirmation step (every colour is recomputed).
export async function renderPolicyBar(bar, app) {
  clear(bar);
  if (!app.user) { bar.hidden = true; return; }
  let p;
  try { p = await get('/api/v1/policy'); } catch (e) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  const info = h('span.policy-info',
    '防控政策：', h('b#policy-title', p.title || p.name),
    h('span.code#policy-version', p.version || ''),
    p.effective ? h('span.muted', ` · 生效 ${when(p.effective)}`) : null);
  bar.append(info);
  if (!app.user || app.user.role !== 'admin') return;
  const sel = h('select#policy-select', { 'aria-label': '选择政策' },
    (p.available || []).map(n => h('option', { value: n, selected: n === p.name ? true : undefined }, n)));
  const m = h('span.policy-msg#policy-msg', { role: 'status' });
  const confirmBox = h('span.policy-confirm#policy-confirm', { hidden: true });
  const go = h('button.btn.btn-small#policy-switch', { type: 'button', onclick: () => {
    m.textContent = '';
    if (sel.value === p.name) { m.textContent = '已是当前政策。'; return; }
    clear(confirmBox);
    confirmBox.append(`切换到 ${sel.value} 后，全市健康码将按新政策重新计算，并记入审计日志。`,
      h('button.btn.btn-small.btn-primary#policy-confirm-yes', { type: 'button', onclick: async ev => {
        ev.currentTarget.disabled = true;
        try {
          await request('PUT', '/api/v1/policy', { body: { name: sel.value } });
        } catch (e) {
          confirmBox.hidden = true;
          m.textContent = `切换失败：${refusal(e)}`;
          return;
        }
        renderPolicyBar(bar, app);
      } }, '确认切换'),
      h('button.btn.btn-small#policy-confirm-no', { type: 'button', onclick: () => { confirmBox.hidden = true; } }, '取消'));
    confirmBox.hidden = false;
  } }, '切换政策');
  bar.append(h('span.policy-admin', sel, go, confirmBox, m));
}
