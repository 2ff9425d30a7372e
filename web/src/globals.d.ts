// ECharts is loaded as a classic script (/vendor/echarts.min.js) and is a global in the page.
declare const echarts: typeof import('echarts');
