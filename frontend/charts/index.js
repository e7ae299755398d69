// Apache ECharts for the consoles' charts: window.PortalCharts.render(element) draws the chart
// whose option JSON is in the element's data-chart attribute (filled in by the helper that
// builds the consoles' charts).
import * as echarts from "echarts";

window.echarts = echarts;
