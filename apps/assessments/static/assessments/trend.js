// Trend charts of a client's scale scores (ECharts); data comes from a json_script block, no inline JS.
(function () {
  "use strict";
  var source = document.getElementById("assessment-series");
  if (!source || !window.echarts) { return; }
  var series = JSON.parse(source.textContent);
  var colours = { none: "rgba(25,135,84,0.08)", mild: "rgba(13,202,240,0.10)", moderate: "rgba(255,193,7,0.14)", severe: "rgba(220,53,69,0.12)" };
  document.querySelectorAll(".trend-chart").forEach(function (el) {
    var s = series[Number(el.getAttribute("data-series-index"))];
    if (!s) { return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var areas = s.bands.map(function (b) {
      return [{ yAxis: Number(b.min), itemStyle: { color: colours[b.level] || "transparent" }, name: b.label }, { yAxis: Number(b.max) }];
    });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 24, bottom: 32 },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var p = items[0];
          return p.value[0] + "<br>" + s.score_name + "：" + p.value[1] + "（" + p.value[2] + "）";
        }
      },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: s.score_name, min: Number(s.bands[0].min), max: Number(s.bands[s.bands.length - 1].max) },
      series: [{
        type: "line", name: s.code, data: s.points, symbolSize: 8, lineStyle: { width: 2 },
        markArea: { silent: true, label: { show: true, position: "insideRight", color: "#6c757d", fontSize: 10 }, data: areas }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
