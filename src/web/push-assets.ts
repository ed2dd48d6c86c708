import type { Locale } from '../domain/notice.ts';
import { BADGE_SIZE, ICON_RED } from './push-icon.ts';

/**
 * The browser side of Web Push, served as static text: the service worker (GET /sw.js)
 * and the page's script (GET /push/app.js). Plain ES2017 with no build step, so what
 * is served is what is reviewed here. Neither holds anything personal.
 */

/**
 * The service worker. 'push' shows the notification the payload describes (see
 * channels/webpush/push-payload.ts, PushNotification); 'notificationclick' opens the
 * notice's public page; 'pushsubscriptionchange' moves the resident's choices to the
 * subscription the browser renewed, so a renewal does not silently end the alerts.
 */
export const SERVICE_WORKER_JS = `'use strict';
self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener('push', function (event) {
  var data = {};
  if (event.data) {
    try { data = event.data.json() || {}; } catch (e) { data = { body: event.data.text() }; }
  }
  var options = {
    body: typeof data.body === 'string' ? data.body : '',
    icon: data.icon || '/push/icon-192.png',
    badge: data.badge || '/push/badge-${BADGE_SIZE}.png',
    lang: data.lang || 'ja',
    data: { url: data.url || '/push' }
  };
  // renotify without a tag is a TypeError in Chrome.
  if (data.tag) { options.tag = String(data.tag); options.renotify = Boolean(data.renotify); }
  if (data.requireInteraction) options.requireInteraction = true;
  if (typeof data.timestamp === 'number') options.timestamp = data.timestamp;
  event.waitUntil(self.registration.showNotification(data.title || '響 Hibiki', options));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var raw = (event.notification.data && event.notification.data.url) || '/push';
  var url;
  try { url = new URL(raw, self.location.origin); } catch (e) { url = new URL('/push', self.location.origin); }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') url = new URL('/push', self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === url.href && 'focus' in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(url.href);
  }));
});

self.addEventListener('pushsubscriptionchange', function (event) {
  var old = event.oldSubscription;
  if (!old) return;
  var json = { 'content-type': 'application/json' };
  event.waitUntil(fetch('/push/subscriptions/current', {
    method: 'POST', headers: json, body: JSON.stringify({ endpoint: old.endpoint })
  }).then(function (res) {
    if (!res.ok) return null;
    return res.json();
  }).then(function (choices) {
    if (!choices) return null;
    var renewed = event.newSubscription
      ? Promise.resolve(event.newSubscription)
      : self.registration.pushManager.subscribe(old.options);
    return renewed.then(function (sub) {
      var body = Object.assign({}, sub.toJSON(), { topics: choices.topics, areas: choices.areas, locale: choices.locale });
      return fetch('/push/subscriptions', { method: 'POST', headers: json, body: JSON.stringify(body) });
    }).then(function () {
      return fetch('/push/subscriptions', { method: 'DELETE', headers: json, body: JSON.stringify({ endpoint: old.endpoint }) });
    });
  }));
});
`;

/**
 * The page's script: nothing happens until the resident presses the button; then, in
 * this order, the notification permission prompt, the service worker, the subscription
 * with the VAPID public key, and the POST of the subscription with the chosen topics and
 * areas. Status lines go to the page's live region in Japanese and English.
 */
export const PUSH_PAGE_JS = `(function () {
  'use strict';
  var form = document.getElementById('push-form');
  var subscribeButton = document.getElementById('subscribe');
  var stopButton = document.getElementById('unsubscribe');
  var statusBox = document.getElementById('status');
  var unsupported = document.getElementById('unsupported');
  var iosHint = document.getElementById('ios-hint');
  var subscribeLabel = subscribeButton.innerHTML;
  var json = { 'content-type': 'application/json' };

  function say(ja, en, kind) {
    statusBox.textContent = '';
    var a = document.createElement('span');
    a.textContent = ja;
    var b = document.createElement('span');
    b.className = 'en';
    b.lang = 'en';
    b.textContent = en;
    statusBox.appendChild(a);
    statusBox.appendChild(b);
    statusBox.className = 'status' + (kind ? ' ' + kind : '');
  }

  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
  var standalone = window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    if (ios && !standalone) iosHint.hidden = false; else unsupported.hidden = false;
    return;
  }
  subscribeButton.hidden = false;

  function keyBytes(base64url) {
    var padded = base64url.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((base64url.length + 3) % 4);
    var raw = atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true;
    var a = new Uint8Array(current);
    if (a.length !== key.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== key[i]) return false;
    return true;
  }

  function choices() {
    var data = new FormData(form);
    return { topics: data.getAll('topics'), areas: data.getAll('areas'), locale: data.get('locale') || 'ja' };
  }

  function showChoices(c) {
    var boxes = form.querySelectorAll('input[name="topics"], input[name="areas"]');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = c[boxes[i].name].indexOf(boxes[i].value) >= 0;
    var radios = form.querySelectorAll('input[name="locale"]');
    for (var j = 0; j < radios.length; j++) radios[j].checked = radios[j].value === c.locale;
  }

  function setSubscribed(on) {
    stopButton.hidden = !on;
    subscribeButton.innerHTML = on ? '選んだ内容で更新する <span lang="en">/ Update my choices</span>' : subscribeLabel;
  }

  function failure(res) {
    return res.json().then(function (body) {
      return [body.error.message, body.error.message_en];
    }, function () {
      return ['サーバーがエラーを返しました（' + res.status + '）。', 'The server answered with an error (' + res.status + ').'];
    });
  }

  function registration() {
    return navigator.serviceWorker.getRegistration('/');
  }

  // A device that subscribed earlier sees its choices and the stop button.
  registration().then(function (reg) {
    return reg && reg.pushManager.getSubscription();
  }).then(function (sub) {
    if (!sub) return null;
    return fetch('/push/subscriptions/current', { method: 'POST', headers: json, body: JSON.stringify({ endpoint: sub.endpoint }) })
      .then(function (res) { return res.ok ? res.json() : null; });
  }).then(function (c) {
    if (!c) return;
    showChoices(c);
    setSubscribed(true);
    say('この端末は通知を受け取る設定になっています。', 'This device is set to receive notifications.');
  }).catch(function () { /* the page still works: pressing the button subscribes again */ });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    subscribeButton.disabled = true;
    say('設定しています…', 'Setting up…');
    Notification.requestPermission().then(function (permission) {
      if (permission !== 'granted') {
        say('通知が許可されていません。ブラウザーの設定でこのサイトの通知を「許可」にしてから、もう一度ボタンを押してください。',
          'Notifications are not allowed. Allow notifications for this site in your browser settings, then press the button again.', 'error');
        return null;
      }
      return navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return fetch('/push/vapid-public-key').then(function (res) {
          if (!res.ok) throw new Error('vapid-public-key ' + res.status);
          return res.json();
        }).then(function (body) {
          var key = keyBytes(body.publicKey);
          return reg.pushManager.getSubscription().then(function (sub) {
            if (sub && !sameKey(sub, key)) return sub.unsubscribe().then(function () { return null; });
            return sub;
          }).then(function (sub) {
            return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
          });
        });
      }).then(function (sub) {
        var body = Object.assign({}, sub.toJSON(), choices());
        return fetch('/push/subscriptions', { method: 'POST', headers: json, body: JSON.stringify(body) });
      }).then(function (res) {
        if (res.status !== 201) {
          return failure(res).then(function (m) { say(m[0], m[1], 'error'); });
        }
        setSubscribed(true);
        say('登録しました。選んだ情報が出ると、この端末に通知が届きます。', 'Done. This device will be notified when the city issues what you chose.', 'ok');
        return null;
      });
    }).catch(function (err) {
      say('登録できませんでした。通信状態を確かめて、もう一度お試しください。', 'Could not subscribe (' + (err && err.message ? err.message : err) + '). Check your connection and try again.', 'error');
    }).then(function () {
      subscribeButton.disabled = false;
    });
  });

  stopButton.addEventListener('click', function () {
    stopButton.disabled = true;
    registration().then(function (reg) {
      return reg && reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) return null;
      return fetch('/push/subscriptions', { method: 'DELETE', headers: json, body: JSON.stringify({ endpoint: sub.endpoint }) })
        .then(function (res) {
          if (res.status !== 204) return failure(res).then(function (m) { throw new Error(m[1]); });
          return sub.unsubscribe();
        });
    }).then(function () {
      setSubscribed(false);
      say('通知を止めました。この端末には届きません。', 'Notifications stopped. This device will no longer be notified.', 'ok');
    }).catch(function (err) {
      say('止められませんでした。もう一度お試しください。', 'Could not stop notifications (' + (err && err.message ? err.message : err) + '). Please try again.', 'error');
    }).then(function () {
      stopButton.disabled = false;
    });
  });
})();
`;

export interface ManifestCity {
  name: string;
  nameEn: string;
}

/** The web app manifest: installs the push page on a home screen as 響 Hibiki of the city. */
export function pushManifest(city: ManifestCity, locale: Locale = 'ja') {
  const icons = [
    { src: '/push/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
    { src: '/push/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/push/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    // The drawing keeps inside the safe zone, so the same images serve as maskable icons.
    { src: '/push/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
    { src: '/push/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ];
  return {
    id: '/push',
    name: locale === 'ja' ? `響 Hibiki ${city.name} 防災・お知らせ` : `Hibiki ${city.nameEn} alerts`,
    short_name: locale === 'ja' ? `響 ${city.name}` : `Hibiki ${city.nameEn}`,
    description:
      locale === 'ja'
        ? `${city.name}の防災情報やお知らせを、この端末への通知で受け取ります。`
        : `Alerts and notices from ${city.nameEn}, as notifications on this device.`,
    lang: locale,
    dir: 'ltr',
    start_url: '/push',
    scope: '/',
    display: 'standalone',
    background_color: '#ffffff',
    theme_color: ICON_RED,
    icons,
  };
}
