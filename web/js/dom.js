// Small DOM and formatting helpers.

// h('div.card#x', {onclick, dataset: {...}, ...attrs}, ...children)
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

const nf = new Intl.NumberFormat('zh-CN');
export function num(n) {
  if (n === undefined || n === null || n === '' || Number.isNaN(Number(n))) return '—';
  return nf.format(Number(n));
}

// "14 分钟" / "45 秒" / "1 小时 5 分钟"
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} 秒`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m} 分钟`;
  const hh = Math.floor(m / 60), mm = m % 60;
  return mm ? `${hh} 小时 ${mm} 分钟` : `${hh} 小时`;
}

// A user-facing sentence for an API error.
export function errorText(e) {
  if (!e) return '未知错误';
  const status = e.status;
  const detail = e.message && e.status ? `（${e.message}）` : '';
  switch (status) {
    case 0: return e.message;
    case 400: return `请求有误${detail}`;
    case 401: return '登录已失效，请重新登录';
    case 403: return `无权执行此操作${detail}`;
    case 404: return `未找到该记录，或不在您的管辖范围内${detail}`;
    case 409: return `数据冲突${detail}`;
    case 422: return `数据校验未通过${detail}`;
    case 429: return e.retryAfter != null
      ? `请求过于频繁，请 ${duration(e.retryAfter)}后再试`
      : '请求过于频繁，请稍后再试';
    case 503: return e.retryAfter != null
      ? `服务繁忙，请 ${duration(e.retryAfter)}后再试`
      : '服务繁忙，请稍后再试';
    default:
      if (status >= 500) return `服务器错误 ${status}${detail}`;
      return e.message || String(e);
  }
}

export function spinner(text = '加载中…') {
  return h('div.loading', { role: 'status' }, h('span.spin', { 'aria-hidden': 'true' }), text);
}

export const LEVEL_NAMES = ['', '省', '市', '区县', '乡镇街道', '社区村', '网格'];
