// The dashboard's charts: each .chart element carries its panel's rows and chart spec (data-spec);
// ECharts draws them. Realtime panels (data-refresh) fetch their rows again every few seconds from
// /api/panel/<id> and redraw the chart and the table in place, without reloading the page.
/* global echarts */
(function () {
  'use strict';
  var palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

  function num(v) { return v === null || v === undefined || v === '' ? null : Number(v); }

  function alertMinutes(spec) {
    if (!spec.marksFrom) return [];
    var cells = document.querySelectorAll('#panel-' + spec.marksFrom.panel + ' td[data-col="' + spec.marksFrom.column + '"]');
    return Array.prototype.map.call(cells, function (td) { return td.textContent; });
  }

  function option(spec) {
    var rows = spec.rows;
    if (spec.type === 'heatmap') {
      var xs = [], ys = [];
      rows.forEach(function (r) {
        if (xs.indexOf(r[spec.x]) < 0) xs.push(r[spec.x]);
        if (ys.indexOf(r[spec.by]) < 0) ys.push(r[spec.by]);
      });
      xs.sort();
      var data = rows.map(function (r) { return [xs.indexOf(r[spec.x]), ys.indexOf(r[spec.by]), num(r[spec.y[0]])]; });
      var values = data.map(function (d) { return d[2]; }).filter(function (v) { return v !== null; });
      return {
        tooltip: { position: 'top' }, grid: { left: 120, right: 20, top: 10, bottom: 70 },
        xAxis: { type: 'category', data: xs, splitArea: { show: true } },
        yAxis: { type: 'category', data: ys, splitArea: { show: true } },
        visualMap: { min: values.length ? Math.min.apply(null, values) : 0, max: values.length ? Math.max.apply(null, values) : 1, precision: 2, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
        series: [{ name: spec.y[0], type: 'heatmap', data: data, label: { show: xs.length * ys.length <= 60, color: '#111827' } }],
      };
    }
    var series;
    var x = [];
    rows.forEach(function (r) { if (x.indexOf(r[spec.x]) < 0) x.push(r[spec.x]); });
    if (spec.by) {
      var names = [];
      rows.forEach(function (r) { if (names.indexOf(r[spec.by]) < 0) names.push(r[spec.by]); });
      series = names.map(function (n) {
        var byX = {};
        rows.forEach(function (r) { if (r[spec.by] === n) byX[r[spec.x]] = num(r[spec.y[0]]); });
        return { name: n, type: spec.type, data: x.map(function (k) { return k in byX ? byX[k] : null; }) };
      });
    } else {
      series = spec.y.map(function (col) {
        return { name: col, type: spec.type, showSymbol: rows.length <= 31, data: rows.map(function (r) { return num(r[col]); }) };
      });
    }
    var marks = alertMinutes(spec);
    if (marks.length && series[0]) {
      series[0].markLine = { symbol: 'none', label: { formatter: 'spike' }, lineStyle: { color: '#dc2626', type: 'dashed' },
        data: marks.filter(function (m) { return x.indexOf(m) >= 0; }).map(function (m) { return { xAxis: m }; }) };
    }
    return {
      color: palette, tooltip: { trigger: 'axis' }, legend: { top: 0, type: 'scroll' },
      grid: { left: 60, right: 20, top: 30, bottom: spec.type === 'bar' && spec.x.indexOf('name') >= 0 ? 90 : 40 },
      xAxis: { type: 'category', data: x, axisLabel: { rotate: spec.type === 'bar' && spec.x.indexOf('name') >= 0 ? 30 : 0, hideOverlap: true } },
      yAxis: { type: 'value' },
      series: series,
    };
  }

  function draw(el, spec) {
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: 'svg' });
    chart.setOption(option(spec), true);
    el.setAttribute('data-series', String(chart.getOption().series.length));
    el.setAttribute('data-rendered', 'true');
  }

  function refresh(section) {
    var id = section.getAttribute('data-panel');
    fetch('/api/panel/' + encodeURIComponent(id) + section.getAttribute('data-query'), { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.error) return;
        var wrap = section.querySelector('.table-wrap');
        if (wrap) wrap.outerHTML = d.table;
        var el = section.querySelector('.chart');
        if (el) {
          var spec = JSON.parse(el.getAttribute('data-spec'));
          spec.rows = d.rows;
          spec.columns = d.columns;
          el.setAttribute('data-spec', JSON.stringify(spec));
          draw(el, spec);
        }
        section.setAttribute('data-refreshed', new Date().toISOString());
      })
      .catch(function () { /* the next tick tries again */ });
  }

  document.querySelectorAll('.chart').forEach(function (el) { draw(el, JSON.parse(el.getAttribute('data-spec'))); });
  document.querySelectorAll('section[data-refresh]').forEach(function (s) {
    setInterval(function () { refresh(s); }, Number(s.getAttribute('data-refresh')));
  });
  window.addEventListener('resize', function () {
    document.querySelectorAll('.chart').forEach(function (el) { var c = echarts.getInstanceByDom(el); if (c) c.resize(); });
  });
})();
