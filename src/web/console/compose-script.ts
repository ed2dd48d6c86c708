/**
 * compose.js: the compose form's live behaviour on top of a form that works without it.
 * - While staff type, it asks POST /console/notices/preview (debounced, ~400 ms) for the
 *   per-channel preview and swaps it in; an older answer never replaces a newer one.
 * - Only the one-line summary is a live region, so a screen reader hears "X: 2件 / …" and
 *   not the whole preview at every keystroke.
 * - The X count is shown next to the body field.
 * - The submit button says 承認を依頼する when the form will ask for approval (box ticked,
 *   or an emergency from someone who may not send one), 配信する otherwise; the server
 *   decides the same way, so the words only tell what will happen.
 * Plain ES2017, no build, served as is (CSP: scripts from 'self' only, no inline handlers).
 */
export const COMPOSE_SCRIPT = `(function () {
  'use strict';
  var form = document.querySelector('form[data-compose]');
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams || !window.FormData) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') || '' : '';
  var summary = document.getElementById('preview-summary');
  var xCount = document.getElementById('body-x-count');
  var submit = form.querySelector('button[data-submit]');
  var canSendEmergency = form.getAttribute('data-can-send-emergency') === 'true';
  var kind = form.getAttribute('data-kind');
  var timer = 0;
  var latest = 0;

  function say(text) {
    if (summary && summary.textContent !== text) summary.textContent = text;
  }

  function updateSubmit() {
    if (!submit || kind !== 'new') return;
    var severity = form.querySelector('input[name="severity"]:checked');
    var ask = form.querySelector('input[name="requestApproval"]');
    var approval = (ask && ask.checked) || (!canSendEmergency && severity && severity.value === 'emergency');
    submit.textContent = submit.getAttribute(approval ? 'data-label-approval' : 'data-label-send');
  }

  function formData() {
    var data = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === 'string' && key !== '_action') data.append(key, value);
    });
    return data.toString();
  }

  function refresh() {
    var mine = ++latest;
    fetch(form.getAttribute('data-preview'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
      body: formData()
    }).then(function (res) {
      if (res.status === 401 || res.status === 403) throw new Error('session');
      if (!res.ok) throw new Error('status ' + res.status);
      return res.text();
    }).then(function (html) {
      if (mine !== latest) return;
      var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('preview-body');
      var current = document.getElementById('preview-body');
      if (!fresh || !current) return;
      current.replaceWith(document.importNode(fresh, true));
      say(fresh.getAttribute('data-summary') || '');
      if (xCount) xCount.textContent = fresh.getAttribute('data-x-count') || '';
    }).catch(function (err) {
      if (mine !== latest) return;
      say(err && err.message === 'session'
        ? 'プレビューを更新できません: セッションが終了しました。入力内容を控えてから、サインインし直してください。'
        : 'プレビューを更新できませんでした（通信エラー）。「プレビュー」ボタンで表示できます。');
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  form.addEventListener('input', schedule);
  form.addEventListener('change', function () {
    updateSubmit();
    schedule();
  });
  updateSubmit();

  // A form shown again (after an error, from a template) with text but no preview gets one at once.
  var title = form.querySelector('[name="title"]');
  var body = form.querySelector('[name="body"]');
  var shown = document.querySelector('#preview-body section');
  if (!shown && ((title && title.value) || (body && body.value))) refresh();
})();
`;
