// Charts of the membership dashboard; data comes from <script type="application/json" id="membership-chart">.
(function () {
  "use strict";
  var source = document.getElementById("membership-chart");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = window.echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  chart("chart-tiers", {
    animation: false,
    tooltip: { trigger: "item" },
    legend: { top: 0 },
    series: [{ type: "pie", radius: ["30%", "55%"], center: ["50%", "58%"], data: data.tiers,
               label: { formatter: "{b} {c} 人" } }]
  });
  chart("chart-committees", {
    animation: false,
    tooltip: {},
    grid: { left: 140, right: 20, top: 10, bottom: 20 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.committees.names, inverse: true },
    series: [{ type: "bar", data: data.committees.values, label: { show: true, position: "right" } }]
  });
  chart("chart-stages", {
    animation: false,
    tooltip: {},
    grid: { left: 40, right: 20, top: 10, bottom: 30 },
    xAxis: { type: "category", data: data.stages.names, axisLabel: { interval: 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: data.stages.values, label: { show: true, position: "top" } }]
  });
})();
