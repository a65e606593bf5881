// Login page.
import { login } from './api.js';
import { h, duration, errorText } from './dom.js';

export function renderLogin(root, { expired, done }) {
  const msg = h('div.form-error#login-error', { role: 'alert', hidden: true });
  const user = h('input#login-user', {
    name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none',
    spellcheck: 'false', maxlength: 64,
  });
  const pass = h('input#login-pass', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 256,
  });
  const btn = h('button.btn.btn-primary.btn-block#login-submit', { type: 'submit' }, '登录');
  let timer = null;

  function say(text, kind = 'error') {
    msg.textContent = text;
    msg.className = kind === 'info' ? 'form-info' : 'form-error';
    msg.hidden = !text;
  }

  function lockFor(seconds) {
    clearInterval(timer);
    let left = seconds;
    const tick = () => {
      if (!root.isConnected || left <= 0) {
        clearInterval(timer);
        btn.disabled = false;
        btn.textContent = '登录';
        if (root.isConnected) say('现在可以重新尝试登录。', 'info');
        return;
      }
      say(`登录失败次数过多，已暂时限制登录。请 ${duration(left)}后再试。`);
      btn.disabled = true;
      btn.textContent = `请等待 ${duration(left)}`;
      left--;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  const form = h('form.login-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    const u = user.value.trim();
    if (!u || !pass.value) {
      say(!u ? '请输入用户名' : '请输入密码');
      (!u ? user : pass).focus();
      return;
    }
    btn.disabled = true;
    btn.textContent = '登录中…';
    say('');
    try {
      const me = await login(u, pass.value);
      done(me);
    } catch (e) {
      btn.disabled = false;
      btn.textContent = '登录';
      if (e.status === 401) {
        say('用户名或密码错误，请重新输入。');
        pass.value = '';
        pass.focus();
      } else if (e.status === 429) {
        if (e.retryAfter != null) lockFor(e.retryAfter);
        else say('登录失败次数过多，请稍后再试。');
      } else {
        say('登录失败：' + errorText(e));
      }
    }
  } },
    h('label.field', h('span.field-label', '用户名'), user),
    h('label.field', h('span.field-label', '密码'), pass),
    msg,
    btn,
  );

  root.append(h('section.login-wrap',
    h('div.login-card',
      h('div.login-head',
        h('img', { src: '/favicon.svg', alt: '', width: 48, height: 48 }),
        h('div',
          h('h1', '疫情防控指挥平台'),
          h('p.muted', '请使用分配给您的账号登录'))),
      form,
      h('p.login-foot.muted', '账号由上级管理员分配。多次输错密码后将暂时无法登录。'),
    )));
  if (expired) say('登录已失效，请重新登录。', 'info');
  user.focus();
}
