// Login page.
import { login, changePassword } from './api.js';
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

// 修改密码: forced after logging in with a password someone else set (the
// administrator knows it), and open to any user from the header.
export function renderPasswordChange(root, { forced, done, cancel }) {
  const msg = h('div.form-error#pw-error', { role: 'alert', hidden: true });
  const field = (id, label, autocomplete) => h(`input#${id}`, {
    name: id, type: 'password', autocomplete, required: true, maxlength: 256,
  });
  const oldPw = field('pw-old', '原密码', 'current-password');
  const newPw = field('pw-new', '新密码', 'new-password');
  const again = field('pw-again', '确认新密码', 'new-password');
  const btn = h('button.btn.btn-primary.btn-block#pw-submit', { type: 'submit' }, '确认修改');
  const title = forced ? '修改初始密码' : '修改密码';

  function say(text) {
    msg.textContent = text;
    msg.hidden = !text;
  }

  const form = h('form.login-form#pw-form', { novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    if (!oldPw.value) { say('请输入原密码'); oldPw.focus(); return; }
    if ([...newPw.value].length < 10) { say('新密码至少需要 10 个字符。'); newPw.focus(); return; }
    if (newPw.value === oldPw.value) { say('新密码不能与原密码相同。'); newPw.focus(); return; }
    if (again.value !== newPw.value) { say('两次输入的新密码不一致，请重新输入。'); again.value = ''; again.focus(); return; }
    btn.disabled = true;
    btn.textContent = '提交中…';
    say('');
    try {
      await changePassword(oldPw.value, newPw.value);
      done();
    } catch (e) {
      btn.disabled = false;
      btn.textContent = '确认修改';
      if (e.status === 401 && e.code === 'wrong_password') {
        say('原密码错误，请重新输入。多次输错后将暂时无法修改或登录。');
        oldPw.value = '';
        oldPw.focus();
      } else if (e.status === 422) {
        say('新密码不符合要求：' + (/differ/.test(e.message) ? '不能与原密码相同。' : '至少需要 10 个字符。'));
        newPw.focus();
      } else if (e.status === 429) {
        say(`输错次数过多，请${e.retryAfter != null ? ' ' + duration(e.retryAfter) + '后' : '稍后'}再试。`);
      } else if (e.status !== 401) {
        say('修改失败：' + errorText(e));
      }
    }
  } },
    h('label.field', h('span.field-label', '原密码'), oldPw),
    h('label.field', h('span.field-label', '新密码'), newPw,
      h('span.field-hint', '至少 10 个字符，不能与原密码相同。')),
    h('label.field', h('span.field-label', '确认新密码'), again),
    msg,
    btn,
    forced ? null : h('button.btn.btn-ghost.btn-block#pw-cancel', { type: 'button', onclick: cancel }, '取消'),
  );

  root.append(h('section.login-wrap#password-change',
    h('div.login-card',
      h('div.login-head',
        h('img', { src: '/favicon.svg', alt: '', width: 48, height: 48 }),
        h('div',
          h('h1', title),
          h('p.muted', forced
            ? '您的密码由管理员设置。为保护个人信息，请先设置只有您自己知道的新密码。'
            : '修改后，您在其他设备上的登录将失效。'))),
      form,
    )));
  oldPw.focus();
}
