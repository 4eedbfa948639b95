// Three-colour warning dashboard charts (ECharts), fed by the json_script block; no inline script (CSP).
(function () {
  "use strict";
  var source = document.getElementById("alerts-chart-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var colours = { red: "#dc3545", orange: "#fd7e14", yellow: "#ffc107", pending: "#6c757d" };
  var bar = document.getElementById("alerts-bar");
  if (bar) {
    var barChart = window.echarts.init(bar, null, { renderer: "svg" });
    barChart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.units, inverse: true, axisLabel: { width: 160, overflow: "truncate" } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "total", data: s.data, itemStyle: { color: colours[s.key] },
                 emphasis: { focus: "series" } };
      })
    });
    window.addEventListener("resize", function () { barChart.resize(); });
  }
  var pie = document.getElementById("alerts-pie");
  if (pie) {
    var pieChart = window.echarts.init(pie, null, { renderer: "svg" });
    pieChart.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"],
        label: { position: "inside", formatter: "{c}", color: "#fff", fontWeight: "bold" },
        data: data.totals.filter(function (t) { return t.value; }).map(function (t) {
          return { name: t.name, value: t.value, itemStyle: { color: colours[t.key] } };
        })
      }]
    });
    window.addEventListener("resize", function () { pieChart.resize(); });
  }
})();
