// ECharts is a classic script (/vendor/echarts.min.js), added to the page by charts.ts when the
// first chart is drawn; once it has run it is a global. Only charts.ts uses it.
declare const echarts: typeof import('echarts');
