// Health codes: the citizen's own code (#/code) and a person's code on the
// staff person page (as of now, or at a chosen moment).
//
// Every line a person sees comes from the server's answer: the colour, each
// active rule with its reason, evidence, start and end, the overrides with
// who requested and who approved them, and the appeals.  Nothing here
// decides a colour.
//
// Times.  The server may run on a clock of its own (a drill, a replay), so
// the QR code's countdown is measured from the server's "at" with the
// browser's clock only counting the seconds since the answer arrived:
// remaining = (token_expires - at) - elapsed.  The code and its QR image are
// fetched again shortly before the token expires.
import { get, getBlob, request } from './api.js';
import { h, clear, spinner, errorText, duration } from './dom.js';

export const COLOURS = { green: '绿码', yellow: '黄码', red: '红码' };
export const colourLabel = c => COLOURS[c] || c || '—';

const RULES = {
  case: '病例', order: '隔离管控', close: '密切接触者', secondary: '次密切接触者', fever: '发热',
  pool: '混管阳性待复核', arrival: '来自风险地区', periodic: '定期核酸超时', resident: '风险区居住',
  override: '人工赋码',
};
const ruleLabel = r => RULES[r] || r || '';

export const CATEGORIES = [
  ['data_error', '数据错误'],
  ['identity_mismatch', '身份信息错误'],
  ['result_error', '检测结果录入错误'],
  ['isolation_completed_early', '已解除管控未同步'],
  ['medical_judgement', '医学判断'],
];
const CATEGORY = Object.fromEntries(CATEGORIES);
export const categoryLabel = c => CATEGORY[c] || c || '—';

const RESULTS = { negative: '阴性', positive: '阳性', invalid: '无效', pool_positive: '混管阳性' };
const OVERRIDE_STATUS = { pending: '待审批', active: '生效中', refused: '已拒绝', revoked: '已撤销', expired: '已到期' };
export const overrideStatus = s => OVERRIDE_STATUS[s] || s || '—';
const APPEAL_STATUS = { open: '处理中', upheld: '维持原码', corrected: '已更正', withdrawn: '已撤回' };
export const appealStatus = s => APPEAL_STATUS[s] || s || '—';

// Roles that may read a person's code (PERM_READ_CODES); the API decides.
const CODE_ROLES = new Set(['command', 'tracer', 'isolation', 'tester', 'grid']);
export function canReadCodes(user) { return !!user && CODE_ROLES.has(user.role); }
export function isCitizen(user) { return !!user && user.role === 'citizen'; }

// "2022-06-08T10:00:00+08:00" -> "2022-06-08 10:00" (times are China Standard Time)
export function when(iso) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso || '');
  return m ? `${m[1]} ${m[2]}` : (iso || '—');
}
// ISO time -> ms since the epoch (NaN when absent)
export const ms = iso => (iso ? Date.parse(iso) : NaN);

// A user named in an answer: "wang.tester" or {username, role_label}.
export function who(u) {
  if (u === undefined || u === null || u === '') return '—';
  if (typeof u !== 'object') return String(u);
  const name = u.username || u.name || (u.id != null ? `#${u.id}` : '—');
  const role = u.role_zh || u.role_label;
  return role ? `${name}（${role}）` : name;
}

export function colourBadge(c, id) {
  return h(`span.colour-badge${id ? '#' + id : ''}`, { dataset: { colour: c || '' } }, colourLabel(c));
}

// "自 2022-06-01 10:00 起 · 至 2022-06-08 10:00 结束" / "结束时间未定"
function ruleTime(r) {
  const from = r.start ? `自 ${when(r.start)} 起` : '';
  const to = r.end ? `至 ${when(r.end)} 结束` : '结束时间未定';
  return [from, to].filter(Boolean).join(' · ');
}

// The rules active at the code's time, most severe first.
export function rulesList(rules, id) {
  if (!rules || !rules.length) {
    return h(`p.muted.hint.rules-none${id ? '#' + id + '-none' : ''}`, '没有触发任何管控规则，按规则为绿码。');
  }
  return h(`ul.rules${id ? '#' + id : ''}`, rules.map(r => h('li.rule', { dataset: { rule: r.rule || '', colour: r.colour || '' } },
    h('div.rule-head',
      h('span.colour-dot', { dataset: { colour: r.colour || '' }, title: colourLabel(r.colour), 'aria-hidden': 'true' }),
      h('span.rule-name', ruleLabel(r.rule)),
      h('span.colour-word', colourLabel(r.colour))),
    h('p.reason-zh', r.reason_zh || ''),
    r.reason_en ? h('p.reason-en', { lang: 'en' }, r.reason_en) : null,
    r.evidence ? h('p.rule-evidence', h('span.muted', '依据：'), r.evidence) : null,
    h('p.rule-time', { dataset: { end: r.end || '' } }, ruleTime(r)))));
}

function overrideItems(list) {
  return list.map(o => h('li.override', { dataset: { id: o.id ?? '', status: o.status || '' } },
    h('div.ov-head', colourBadge(o.colour), h('b', o.category_zh || categoryLabel(o.category)),
      h('span.tag', overrideStatus(o.status))),
    o.reason ? h('p.ov-reason', o.reason) : null,
    h('p.ov-who.small',
      h('span', '申请：', who(o.requested_by), o.requested_at ? ` · ${when(o.requested_at)}` : ''),
      h('span', '批准：', o.approved_by ? who(o.approved_by) : '—', o.approved_at ? ` · ${when(o.approved_at)}` : '')),
    o.closed_by ? h('p.ov-closed.small.muted', `${o.status === 'refused' ? '拒绝' : '撤销'}：${who(o.closed_by)}${o.closed_at ? ' · ' + when(o.closed_at) : ''}`) : null,
    h('p.ov-end.small', o.start ? `自 ${when(o.start)} 起 · ` : '', `至 ${when(o.end || o.end_at)} 结束`)));
}

export function overridesList(list, id) {
  if (!list || !list.length) return h(`p.muted.small#${id}-none`, '没有人工赋码记录。');
  return h(`ul.plain-list#${id}`, overrideItems(list));
}

function appealItem(a, onWithdraw) {
  const open = a.status === 'open';
  return h('li.appeal', { dataset: { id: a.id ?? '', status: a.status || '' } },
    h('div.ap-head', h('b', `纠错申请 #${a.id ?? ''}`), h('span.tag.ap-status', appealStatus(a.status)),
      a.colour ? h('span.small.muted', '申请时为 ', colourLabel(a.colour)) : null),
    a.text ? h('p.ap-text', a.text) : null,
    h('p.small.muted', `提交于 ${when(a.filed_at)}`,
      open && a.due_at ? ` · 应于 ${when(a.due_at)} 前答复` : '',
      a.owner ? ` · 经办：${who(a.owner)}` : ''),
    !open && a.status !== 'withdrawn'
      ? h('p.ap-outcome', h('b', '处理结果：'), appealStatus(a.status), a.outcome ? `。${a.outcome}` : '',
        a.decided_at ? h('span.small.muted', ` （${a.decided_by ? who(a.decided_by) + ' · ' : ''}${when(a.decided_at)} 答复）`) : null)
      : null,
    open && onWithdraw ? h('button.btn.btn-small.ap-withdraw', { type: 'button', onclick: ev => onWithdraw(a, ev.currentTarget) }, '撤回申请') : null);
}

export function appealsList(list, id, onWithdraw) {
  if (!list || !list.length) return h(`p.muted.small#${id}-none`, '没有纠错申请。');
  return h(`ul.plain-list#${id}`, list.map(a => appealItem(a, onWithdraw)));
}

function testsTable(tests) {
  if (!tests || !tests.length) return h('p.muted.small#code-tests-none', '暂无核酸检测记录。');
  return h('div.table-wrap', h('table.table.rtable#code-tests',
    h('thead', h('tr', h('th', '采样时间'), h('th', '出结果'), h('th', '结果'), h('th', '混管'))),
    h('tbody', tests.map(t => h('tr', { dataset: { result: t.result || '' } },
      h('td.name', { 'data-label': '采样时间' }, h('span.muted.small', '采样 '), when(t.sampled_at)),
      h('td', { 'data-label': '出结果' }, when(t.resulted_at)),
      h('td.test-result', { 'data-label': '结果', dataset: { result: t.result || '' } }, RESULTS[t.result] || t.result || '—'),
      h('td', { 'data-label': '混管' }, t.pooled > 1 ? `${t.pooled} 合 1` : '单管'))))));
}

function section(id, title, ...body) {
  return h(`section.card.code-section#${id}`, h('div.card-head', h('h2', title)), h('div.card-body', ...body));
}

function noCode(root, user, e) {
  root.append(h('div.panel.notice#no-code-access', { role: 'note' },
    h('h2', '无法显示健康码'),
    h('p', isCitizen(user)
      ? '您的账号尚未关联到本人身份信息，请联系所在社区（网格员）核对。'
      : `您当前的角色${user ? '「' + (user.role_label || user.role) + '」' : ''}没有个人健康码。`),
    e && e.message ? h('p.muted.small', `服务器答复：${e.message}`) : null));
}

// ---------------------------------------------------------------- 我的健康码

const REFRESH_BEFORE = 20; // seconds before the token expires
const RETRY_AFTER = 15;    // seconds after a failed refresh

export function renderMyCode(root, app, nav) {
  const box = h('section.mycode');
  root.append(box);
  document.title = '我的健康码 · 防控';
  const body = h('div.mycode-body');
  const form = appealForm(app, nav, () => load());
  box.append(body, form.el);
  body.append(spinner('正在加载健康码…'));

  let data = null, loadedAt = 0, qrUrl = null, timer = null, busy = false, retryAt = 0;
  const countdown = h('p.countdown#code-countdown', { 'aria-live': 'off' });
  const qrImg = h('img#code-qr', { alt: '健康码二维码（出示给场所工作人员扫描）', width: 232, height: 232 });
  const qrBox = h('div.qr-box', qrImg, h('div.qr-expired', '二维码已过期，正在刷新…'));

  nav.onCleanup(() => {
    clearInterval(timer);
    if (qrUrl) URL.revokeObjectURL(qrUrl);
  });

  // seconds until the token expires, by the server's clock
  const remaining = () => (data ? (ms(data.token_expires) - ms(data.at)) / 1000 - (performance.now() - loadedAt) / 1000 : 0);

  function tick() {
    if (!data || !nav.alive()) return;
    const left = remaining();
    const expired = left <= 0;
    qrBox.classList.toggle('expired', expired);
    countdown.dataset.left = String(Math.max(0, Math.floor(left)));
    countdown.textContent = expired
      ? '二维码已过期，正在刷新…'
      : `二维码 ${duration(left)}后自动刷新 · 截图无效，请以实时页面为准`;
    const now = performance.now();
    if (!busy && left <= REFRESH_BEFORE && now >= retryAt) load();
  }

  async function load() {
    busy = true;
    let d, img;
    try {
      [d, img] = await Promise.all([get('/api/v1/me/code'), getBlob('/api/v1/me/code/qr.png')]);
    } catch (e) {
      busy = false;
      if (!nav.alive()) return;
      retryAt = performance.now() + RETRY_AFTER * 1000;
      if (!data) {
        clear(body);
        if (e.status === 403) { form.el.remove(); noCode(body, app.user, e); return; }
        app.showError(e, '加载健康码失败');
        body.append(h('div.panel.empty', h('p', errorText(e)),
          h('p', h('button.btn#code-retry', { type: 'button', onclick: () => { clear(body); body.append(spinner()); load(); } }, '重试'))));
      } else {
        countdown.textContent = `刷新失败（${errorText(e)}），${RETRY_AFTER} 秒后重试`;
      }
      return;
    }
    busy = false;
    if (!nav.alive()) return;
    data = d;
    loadedAt = performance.now();
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    qrUrl = URL.createObjectURL(img);
    qrImg.src = qrUrl;
    draw();
    form.setOpen((d.appeals || []).some(a => a.status === 'open'));
    tick();
    if (!timer) timer = setInterval(tick, 1000);
  }

  async function withdraw(a, btn) {
    btn.disabled = true;
    try {
      await request('POST', `/api/v1/me/appeals/${encodeURIComponent(a.id)}/withdraw`, { body: {} });
    } catch (e) {
      btn.disabled = false;
      if (nav.alive()) app.showError(e, '撤回失败');
      return;
    }
    if (nav.alive()) load();
  }

  function draw() {
    const d = data;
    clear(body);
    const p = d.person || {};
    body.append(
      h('div.code-card#code-card', { dataset: { colour: d.colour || '' } },
        h('div.code-who',
          h('span.code-name#code-name', p.name || ''),
          h('span.code-idn.mono#code-idn', p.id_number || '')),
        h('div.code-colour#code-colour', d.colour_zh || colourLabel(d.colour)),
        qrBox,
        countdown,
        d.overridden
          ? h('p.code-override#code-overridden', '人工赋码', d.computed ? `（按规则为${colourLabel(d.computed)}）` : '', '，详见下方“人工赋码”')
          : null,
        h('dl.code-meta',
          h('dt', '赋码时间'), h('dd#code-at', when(d.at)),
          h('dt', '防控政策'), h('dd#code-policy', d.policy_version || '—'),
          h('dt', '下次变化'), h('dd#code-next', d.next_change ? `预计 ${when(d.next_change)}` : '暂无（规则未定结束时间）'))),
      section('code-rules-card', '赋码依据 · Why this colour', rulesList(d.rules, 'code-rules'),
        h('p.muted.small', '如对赋码有异议，可在页面底部提交纠错申请。')),
      section('code-tests-card', '近期核酸检测', testsTable(d.tests)),
      section('code-overrides-card', '人工赋码', overridesList(d.overrides, 'code-overrides'),
        h('p.muted.small', '人工赋码须由两名卫生健康工作人员分别申请和批准，并有结束时间。')),
      section('code-appeals-card', '我的纠错申请', appealsList(d.appeals, 'code-appeals', withdraw)));
  }

  load();
}

// The appeal form under the citizen's code; onDone reloads the code.
function appealForm(app, nav, onDone) {
  const text = h('textarea#appeal-text', { name: 'text', rows: 4, maxlength: 1000,
    placeholder: '请说明您认为赋码有误的原因，例如：检测结果已出但未显示、并未到过该场所、已解除隔离等。' });
  const msg = h('div.form-error#appeal-msg', { role: 'alert', hidden: true });
  const submit = h('button.btn.btn-primary#appeal-submit', { type: 'submit' }, '提交纠错申请');
  const note = h('p.field-hint#appeal-open-note', { hidden: true }, '您已有处理中的纠错申请；新的申请会一并交由经办人处理。');
  const say = (t, kind = 'error') => { msg.textContent = t; msg.className = kind === 'ok' ? 'form-info' : 'form-error'; msg.hidden = !t; };
  const el = h('form.card.appeal-form#appeal-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    const t = text.value.trim();
    if (!t) { say('请填写纠错理由。'); text.focus(); return; }
    submit.disabled = true;
    submit.textContent = '提交中…';
    say('');
    try {
      const r = await request('POST', '/api/v1/me/appeals', { body: { text: t } });
      if (!nav.alive()) return;
      text.value = '';
      say(`已提交纠错申请${r && r.id != null ? ' #' + r.id : ''}${r && r.due_at ? `，将于 ${when(r.due_at)} 前答复` : ''}。`, 'ok');
      onDone();
    } catch (e) {
      if (nav.alive()) say(e.status === 422 || e.status === 409 || e.status === 400 ? `未能提交：${e.message}` : `未能提交：${errorText(e)}`);
    } finally {
      submit.disabled = false;
      submit.textContent = '提交纠错申请';
    }
  } },
    h('div.card-head', h('h2', '提交纠错申请 · Appeal')),
    h('div.card-body',
      h('label.field', h('span.field-label', '纠错理由'), text),
      note,
      h('p.field-hint', '申请提交后由防控工作人员在规定时限内核查答复；处理期间健康码按现有规则显示。'),
      msg,
      h('div.form-actions', submit)));
  return { el, setOpen: open => { note.hidden = !open; } };
}

// ---------------------------------------------------------------- staff: a person's code

// datetime-local "2022-06-08T10:00" <-> ISO with the China offset
export const isoOf = v => (v ? `${v}:00+08:00` : '');
export const localOf = iso => { const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})/.exec(iso || ''); return m ? m[1] : ''; };

// Appends the person's code to the person page (box); id as in #/person/{id}.
export function renderPersonCode(box, id, app, nav) {
  if (!canReadCodes(app.user)) return;
  const atIn = h('input#pcode-at', { type: 'datetime-local', name: 'at', 'aria-label': '查看某一时刻的码' });
  const content = h('div.pcode-body');
  const msg = h('div.form-error#pcode-msg', { role: 'alert', hidden: true });
  const card = h('section.card.pcode-card#person-code',
    h('div.card-head', h('h2', '健康码'), h('span.muted.small#pcode-when', '当前')),
    h('form.pcode-at', { novalidate: true, onsubmit: ev => { ev.preventDefault(); load(atIn.value ? isoOf(atIn.value) : ''); } },
      h('label.field', h('span.field-label', '查看某一时刻的码（历史）'), atIn),
      h('div.pcode-btns',
        h('button.btn.btn-small.btn-primary#pcode-go', { type: 'submit' }, '查看'),
        h('button.btn.btn-small#pcode-now', { type: 'button', onclick: () => { atIn.value = ''; load(''); } }, '现在'))),
    msg, content);
  box.append(card);

  let seq = 0;
  async function load(at) {
    const my = ++seq;
    msg.hidden = true;
    clear(content);
    content.append(spinner('正在计算健康码…'));
    let d;
    try {
      d = await get(`/api/v1/persons/${encodeURIComponent(id)}/code`, { at: at || undefined });
    } catch (e) {
      if (!nav.alive() || my !== seq) return;
      clear(content);
      msg.textContent = e.status === 403 ? '您的角色不能查看健康码。' : e.status === 404 ? '未找到该人员，或不在您的管辖范围内。' : errorText(e);
      msg.hidden = false;
      return;
    }
    if (!nav.alive() || my !== seq) return;
    clear(content);
    card.querySelector('#pcode-when').textContent = at ? `${when(d.at)} 时的码（历史）` : `当前 · ${when(d.at)}`;
    if (!atIn.value && d.at) atIn.value = localOf(d.at);
    content.append(
      h('div.pcode-top',
        colourBadge(d.colour, 'pcode-colour'),
        d.overridden ? h('span.tag#pcode-overridden', `人工赋码（按规则为${colourLabel(d.computed)}）`) : null,
        h('span.small.muted#pcode-policy', `政策 ${d.policy_version || '—'}`),
        h('span.small.muted#pcode-next', d.next_change ? `下次变化 ${when(d.next_change)}` : '')),
      rulesList(d.rules, 'pcode-rules'),
      h('details.pcode-more', { open: (d.overrides && d.overrides.length) || (d.appeals && d.appeals.length) ? true : undefined },
        h('summary', `人工赋码 ${(d.overrides || []).length} · 纠错申请 ${(d.appeals || []).length}`),
        h('h3', '人工赋码'), overridesList(d.overrides, 'pcode-overrides'),
        h('h3', '纠错申请'), appealsList(d.appeals, 'pcode-appeals')));
  }
  load('');
}
