// The JSON API client: bearer token in sessionStorage, errors as ApiError.

const TOKEN_KEY = 'fk.token';
const USER_KEY = 'fk.user';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.retryAfter = retryAfter; // seconds, or null
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
// Called on a 403 password_change_required: the initial password must be
// changed before the session may do anything else.
let onPasswordChange = () => {};
export function setPasswordChangeHandler(fn) { onPasswordChange = fn; }

export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  let user = null;
  try { user = JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'); } catch { user = null; }
  return { token, user };
}

function saveSession(token, user) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

function retryAfterSeconds(h) {
  if (!h) return null;
  if (/^\d+$/.test(h.trim())) return Number(h.trim());
  const t = Date.parse(h);
  return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

// request('GET', '/api/v1/regions', {query: {parent: '6109'}}) -> parsed JSON
// (with blob: true the body of a successful answer as a Blob, e.g. an image
// that needs the bearer token and so cannot be an <img src>)
export async function request(method, path, { query, body, auth = true, blob = false } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { accept: 'application/json' };
  const s = session();
  if (auth && s) headers.authorization = `Bearer ${s.token}`;
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试');
  }
  if (blob && res.ok) return res.blob();
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(res.status, e.code, e.message || `服务器返回 ${res.status}`,
      retryAfterSeconds(res.headers.get('retry-after')));
    // a wrong old password in a password change is a 401 that keeps the session
    if (res.status === 401 && auth && err.code !== 'wrong_password') {
      clearSession();
      onUnauthorized(err);
    }
    if (res.status === 403 && err.code === 'password_change_required') {
      const s = session();
      if (s && s.user) saveSession(s.token, { ...s.user, password_change_required: true });
      onPasswordChange(err);
    }
    throw err;
  }
  return data;
}

export const get = (path, query) => request('GET', path, { query });
export const getBlob = (path, query) => request('GET', path, { query, blob: true });

export async function login(username, password) {
  const r = await request('POST', '/api/v1/sessions', { body: { username, password }, auth: false });
  const user = { ...r.user, password_change_required: r.password_change_required === true };
  saveSession(r.token, user);
  return user;
}

// Changes the signed-in user's password; the server ends the user's other
// sessions and clears password_change_required.
export async function changePassword(oldPassword, newPassword) {
  await request('POST', '/api/v1/me/password', {
    body: { old_password: oldPassword, new_password: newPassword },
  });
  const s = session();
  if (s && s.user) saveSession(s.token, { ...s.user, password_change_required: false });
}

export async function logout() {
  try {
    await request('DELETE', '/api/v1/sessions/current', { auth: true });
  } finally {
    clearSession();
  }
}

export async function refreshMe() {
  const me = await get('/api/v1/me');
  const s = session();
  if (s) saveSession(s.token, me);
  return me;
}
