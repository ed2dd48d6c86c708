/**
 * progress.js: live delivery progress on a notice's page. It listens to the page's
 * /events stream and copies in the counts and words the server already wrote (so the
 * wording lives in one place, notice-progress.ts). Screen readers hear a summary at most
 * every ANNOUNCE_MS and once at the end, not every second. Without it, the page's reload
 * link shows the same numbers.
 */
export const PROGRESS_SCRIPT = `(function () {
  'use strict';
  var ANNOUNCE_MS = 10000;
  var root = document.querySelector('[data-progress-url]');
  if (!root || typeof window.EventSource !== 'function') return;
  var live = document.getElementById('progress-live');
  var status = document.querySelector('[data-field="status"]');
  var lastAnnounced = Date.now();
  var moved = false;

  function words(text) {
    var span = document.createElement('span');
    span.className = 'en';
    span.setAttribute('lang', 'en');
    span.textContent = text.en;
    var wrap = document.createDocumentFragment();
    wrap.appendChild(document.createTextNode(text.ja + ' '));
    wrap.appendChild(span);
    return wrap;
  }

  function fill(el, text) {
    if (!el) return;
    while (el.firstChild) el.removeChild(el.firstChild);
    el.appendChild(words(text));
  }

  function update(data, final) {
    for (var i = 0; i < data.channels.length; i++) {
      var ch = data.channels[i];
      var box = root.querySelector('[data-channel="' + ch.channel + '"]');
      if (!box) continue;
      var bar = box.querySelector('progress');
      if (bar) {
        bar.max = Math.max(ch.total, 1);
        bar.value = ch.done;
        bar.textContent = ch.done + ' / ' + ch.total;
      }
      fill(box.querySelector('[data-field="counts"]'), ch.counts);
      fill(box.querySelector('[data-field="timing"]'), ch.timing);
    }
    // The revision history's row of the current revision shows the same totals.
    var totals = document.querySelector('[data-field="revision-totals"]');
    if (totals) {
      var sent = 0, failed = 0, total = 0;
      for (var j = 0; j < data.channels.length; j++) {
        sent += data.channels[j].sent;
        failed += data.channels[j].failed;
        total += data.channels[j].total;
      }
      totals.textContent = sent + ' / ' + failed + ' / ' + total;
    }
    if (status) {
      var badge = status.querySelector('.status');
      var en = status.querySelector('.en');
      if (badge) badge.textContent = data.statusWord.ja;
      if (en) en.textContent = data.statusWord.en;
    }
    var now = Date.now();
    // A page opened on a finished notice says nothing: its text already shows the end.
    if (live && (final ? moved : now - lastAnnounced >= ANNOUNCE_MS)) {
      live.textContent = data.summary.ja + (final ? '（配信が終わりました。再読み込みすると失敗の一覧と操作が新しくなります）' : '');
      lastAnnounced = now;
    }
  }

  var source = new EventSource(root.getAttribute('data-progress-url'));
  source.addEventListener('progress', function (event) {
    moved = true;
    update(JSON.parse(event.data), false);
  });
  source.addEventListener('done', function (event) {
    update(JSON.parse(event.data), true);
    source.close();
  });
})();
`;
