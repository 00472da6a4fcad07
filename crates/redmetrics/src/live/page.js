(function () {
  'use strict';
  var FEED = document.body.getAttribute('data-feed');
  var SPAN_MS = 15 * 60 * 1000;
  var W = 600, H = 150;
  var CLASSES = [['total', 'all', 'var(--total)'], ['2xx', '2xx', 'var(--c2)'], ['3xx', '3xx', 'var(--c3)'],
    ['4xx', '4xx', 'var(--c4)'], ['5xx', '5xx', 'var(--c5)']];

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function num(x, digits) { return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }); }
  function rate(x) { return x == null ? '–' : num(x, x >= 100 ? 0 : 1) + ' req/s'; }
  function percent(x) { return x == null ? '–' : num(x * 100, x * 100 >= 10 ? 1 : 2) + ' %'; }
  function ms(s) {
    if (s == null) return '–';
    var m = s * 1000;
    if (m >= 10000) return num(s, 1) + ' s';
    return num(m, m >= 100 ? 0 : m >= 10 ? 1 : 2) + ' ms';
  }
  function compact(x) { return x >= 100 ? num(x, 0) : x >= 10 ? num(x, 1) : num(x, 2); }

  // One SVG chart: lines over the last 15 minutes, gaps where a value is null.
  function chart(id, t, lines, scale) {
    var now = t.length ? t[t.length - 1] : Date.now();
    // The x axis spans the history held: up to 15 minutes, less right after start.
    var span = t.length > 1 ? Math.min(SPAN_MS, Math.max(60000, now - t[0])) : SPAN_MS;
    var max = 0;
    lines.forEach(function (l) { l.values.forEach(function (v) { if (v != null && v * scale > max) max = v * scale; }); });
    max = max > 0 ? max * 1.1 : 1;
    var paths = lines.map(function (l) {
      var d = '', pen = false;
      for (var i = 0; i < t.length; i++) {
        var v = l.values[i];
        if (v == null) { pen = false; continue; }
        var x = ((t[i] - (now - span)) / span) * W;
        var y = H - (v * scale / max) * H;
        d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
        pen = true;
      }
      return '<path d="' + d + '" fill="none" stroke="' + l.color + '" stroke-width="' + (l.width || 1.6) +
        '" vector-effect="non-scaling-stroke" stroke-linejoin="round"></path>';
    });
    $('plot-' + id).innerHTML =
      '<svg class="chart" id="chart-' + id + '" viewBox="0 0 ' + W + ' ' + H + '" preserveAspectRatio="none" role="img" aria-label="' + esc(id) + ' chart">' +
      '<line x1="0" y1="' + H / 2 + '" x2="' + W + '" y2="' + H / 2 + '" stroke="#e1e4ea" vector-effect="non-scaling-stroke"></line>' +
      paths.join('') + '</svg>' +
      '<span class="ymax">' + compact(max) + '</span><span class="ymid">' + compact(max / 2) + '</span><span class="yzero">0</span>' +
      '<span class="x0">' + Math.round(span / 60000) + ' min ago</span><span class="x1">now</span>';
    $('legend-' + id).innerHTML = lines.map(function (l) {
      return '<span><i style="background:' + l.color + '"></i>' + esc(l.name) + '</span>';
    }).join('');
  }

  function links(all) {
    var boxes = document.querySelectorAll('.links');
    for (var i = 0; i < boxes.length; i++) {
      var panel = boxes[i].getAttribute('data-panel');
      var mine = all.filter(function (l) { return l.panel === panel && /^https?:/.test(l.url); });
      boxes[i].innerHTML = mine.length ? 'In Prometheus: ' + mine.map(function (l) {
        return '<a href="' + esc(l.url) + '" rel="noreferrer" title="' + esc(l.title) + '">' + esc(l.title) + '</a>';
      }).join(' · ') : '';
    }
  }

  function render(f) {
    var s = f.summary, se = f.series, c = s.requests_per_second_by_class;
    $('prefix').textContent = f.prefix;
    $('rate').textContent = rate(s.requests_per_second);
    $('rate-classes').textContent = '2xx ' + rate(c['2xx']) + ' · 4xx ' + rate(c['4xx']) + ' · 5xx ' + rate(c['5xx']);
    $('errors').textContent = percent(s.error_ratio);
    $('p50').textContent = ms(s.p50_seconds);
    $('p95').textContent = ms(s.p95_seconds);
    $('p99').textContent = ms(s.p99_seconds);
    $('inflight').textContent = s.in_flight + (s.in_flight === 1 ? ' request' : ' requests');
    chart('rate', se.t_ms, CLASSES.filter(function (k) {
      return k[0] === 'total' || se.requests_per_second_by_class[k[0]].some(function (v) { return v > 0; });
    }).map(function (k) {
      return { name: k[1], color: k[2], width: k[0] === 'total' ? 2.2 : 1.4,
        values: k[0] === 'total' ? se.requests_per_second : se.requests_per_second_by_class[k[0]] };
    }), 1);
    chart('errors', se.t_ms, [{ name: '5xx ratio', color: 'var(--c5)', values: se.error_ratio }], 100);
    chart('latency', se.t_ms, [
      { name: 'P50', color: 'var(--p50)', values: se.p50_seconds },
      { name: 'P95', color: 'var(--p95)', values: se.p95_seconds },
      { name: 'P99', color: 'var(--p99)', values: se.p99_seconds }], 1000);
    chart('inflight', se.t_ms, [{ name: 'in flight', color: 'var(--inflight)', values: se.in_flight }], 1);
    var mins = Math.max(1, Math.round(f.routes_window_seconds / 60));
    $('routes-window').textContent = 'last ' + (f.routes_window_seconds < 60 ? Math.round(f.routes_window_seconds) + ' s' : mins + ' min') +
      ', busiest first';
    var rows = f.routes.map(function (r) {
      return '<tr><td><span class="method">' + esc(r.method) + '</span> <span class="path">' + esc(r.path) + '</span></td>' +
        '<td>' + rate(r.requests_per_second) + '</td>' +
        '<td class="' + (r.error_ratio > 0 ? 'bad' : '') + '">' + percent(r.error_ratio) + '</td>' +
        '<td>' + ms(r.p95_seconds) + '</td></tr>';
    });
    $('routes').tBodies[0].innerHTML = rows.length ? rows.join('') : '<tr><td colspan="4">no requests yet</td></tr>';
    links(f.links || []);
    var st = $('status');
    st.className = 'status';
    st.textContent = 'live · updated ' + new Date(f.now_ms).toLocaleTimeString('en-GB');
  }

  function poll() {
    fetch(FEED, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('feed answered ' + r.status + (r.status === 401 ? ' (send the bearer token)' : ''));
      return r.json();
    }).then(render).catch(function (e) {
      var st = $('status');
      st.className = 'status bad';
      st.textContent = 'feed unavailable: ' + e.message;
    }).then(function () { setTimeout(poll, 1000); });
  }

  $('feed-path').textContent = FEED;
  poll();
})();
