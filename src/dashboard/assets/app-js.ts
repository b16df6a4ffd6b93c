/**
 * The dashboard's whole script: plain browser JavaScript, no framework, no build. The pages are complete without it;
 * it only makes them live:
 * - one EventSource on /api/v1/events; any event re-fetches the page (one fetch at a time, at most one a second) and
 *   swaps the `[data-live]` regions whose markup changed, keeping focus and a live tail in place;
 * - a `#tail` element streams its run's output from /api/v1/runs/<id>/output (lines arrive escaped by the server);
 * - relative times ("3m ago") are kept current, and the page is re-read every minute for changes the clock makes
 *   (a check entering grace) while the tab is visible;
 * - a form with data-confirm asks first.
 */
export const APP_JS = `(function () {
  'use strict';
  var conn = document.getElementById('conn');
  var live = document.body.getAttribute('data-live') === '1';
  var busy = false, again = false, timer = null, tailRun = null, tailSource = null, last = 0;

  function say(text) { if (conn) conn.textContent = text; }

  function rel(iso) {
    var d = Date.parse(iso) - Date.now(), s = Math.abs(d) / 1000, t;
    if (s < 1) return 'just now';
    if (s < 60) t = Math.round(s) + 's'; else if (s < 3600) t = Math.round(s / 60) + 'm';
    else if (s < 86400) t = Math.round(s / 3600) + 'h'; else t = Math.round(s / 86400) + 'd';
    return d < 0 ? t + ' ago' : 'in ' + t;
  }
  function tick() {
    var els = document.querySelectorAll('time[data-rel]');
    for (var i = 0; i < els.length; i++) els[i].textContent = rel(els[i].getAttribute('datetime'));
  }

  // At most one re-read a second, however many events arrive (a busy daemon pings and runs a lot).
  function schedule(delay) {
    if (timer) return;
    var wait = Math.max(delay == null ? 150 : delay, last + 1000 - Date.now());
    timer = setTimeout(function () { timer = null; refresh(); }, wait);
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    last = Date.now();
    fetch(location.href, { credentials: 'same-origin', headers: { 'X-Requested-With': 'nightshift' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; schedule(); } });
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var fresh = doc.querySelectorAll('[data-live][id]');
    for (var i = 0; i < fresh.length; i++) {
      var next = fresh[i], cur = document.getElementById(next.id);
      if (!cur || cur.innerHTML === next.innerHTML) continue;
      var oldTail = cur.querySelector('#tail'), newTail = next.querySelector('#tail');
      if (oldTail && newTail && oldTail.getAttribute('data-run') === newTail.getAttribute('data-run')) {
        newTail.parentNode.replaceChild(oldTail, newTail);
      }
      var focused = document.activeElement && cur.contains(document.activeElement) ? document.activeElement : null;
      var key = focused && (focused.id || focused.getAttribute('href') || focused.getAttribute('action'));
      cur.replaceWith(document.importNode(next, true));
      if (key) {
        var again2 = document.getElementById(key) || document.querySelector('[href="' + CSS.escape(key) + '"]');
        if (again2) again2.focus();
      }
    }
    tick();
    startTail();
  }

  function startTail() {
    var el = document.getElementById('tail');
    var run = el && el.getAttribute('data-run');
    if (run === tailRun) return;
    if (tailSource) { tailSource.close(); tailSource = null; }
    tailRun = run;
    if (!run) return;
    tailSource = new EventSource('/api/v1/runs/' + encodeURIComponent(run) + '/output');
    tailSource.addEventListener('line', function (e) {
      var line = JSON.parse(e.data), pre = document.getElementById('tail');
      if (!pre) return;
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      var span = document.createElement('span');
      span.className = 'l s-' + line.stream;
      span.title = line.time;
      span.innerHTML = line.html;
      pre.appendChild(span);
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
    tailSource.addEventListener('end', function () {
      if (tailSource) tailSource.close();
      tailSource = null;
      schedule(300);
    });
  }

  document.addEventListener('submit', function (e) {
    var q = e.target.getAttribute && e.target.getAttribute('data-confirm');
    if (q && !window.confirm(q)) e.preventDefault();
  });

  tick();
  setInterval(tick, 30000);
  startTail();
  if (!live || !window.EventSource) return;
  var es = new EventSource('/api/v1/events');
  es.onopen = function () { say('live'); };
  es.onerror = function () { say('reconnecting…'); };
  ['run.started', 'run.ended', 'run.skipped', 'run.queued', 'incident.opened', 'incident.resolved', 'check.pinged', 'job.changed', 'host.checked']
    .forEach(function (type) { es.addEventListener(type, function () { schedule(); }); });
  setInterval(function () { if (!document.hidden) schedule(0); }, 60000);
})();
`;
