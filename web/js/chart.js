// ECharts, loaded on demand as a classic script (it sets window.echarts).

let loading = null;

export function loadEcharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/echarts.min.js';
    s.async = true;
    s.onload = () => (window.echarts ? resolve(window.echarts) : reject(new Error('echarts did not load')));
    s.onerror = () => { loading = null; s.remove(); reject(new Error('图表组件 /vendor/echarts.min.js 加载失败')); };
    document.head.append(s);
  });
  return loading;
}

const compact = new Intl.NumberFormat('zh-CN', { notation: 'compact', maximumFractionDigits: 1 });
const full = new Intl.NumberFormat('zh-CN');
export const MAX_BARS = 30;

// A horizontal bar chart of population by region. Returns
// { update(items), dispose() }; items: [{code, name, population}].
export async function populationChart(el, { onPick } = {}) {
  const echarts = await loadEcharts();
  const chart = echarts.init(el, null, { renderer: 'canvas', locale: 'ZH' });
  const resize = () => chart.resize();
  window.addEventListener('resize', resize);
  let ro = null;
  if (window.ResizeObserver) {
    ro = new ResizeObserver(() => chart.resize());
    ro.observe(el);
  }
  chart.on('click', p => { if (onPick && p.data && p.data.code) onPick(p.data.code); });

  // the largest MAX_BARS regions, largest on top
  function update(items) {
    const rows = items.slice().sort((a, b) => (b.population - a.population) || a.code.localeCompare(b.code))
      .slice(0, MAX_BARS).reverse();
    // one bar per row, tall enough to read on a phone
    el.style.height = Math.max(220, rows.length * 30 + 56) + 'px';
    chart.resize();
    const narrow = el.clientWidth < 480;
    chart.setOption({
      animationDuration: 400,
      grid: { left: 8, right: narrow ? 56 : 72, top: 8, bottom: 24, containLabel: true },
      tooltip: {
        trigger: 'item',
        formatter: p => `${p.name}<br>人口 <b>${full.format(p.value)}</b>`,
      },
      xAxis: {
        type: 'value',
        axisLabel: { color: '#5b6b7f', formatter: v => compact.format(v) },
        splitLine: { lineStyle: { color: '#e6ebf1' } },
      },
      yAxis: {
        type: 'category',
        data: rows.map(r => r.name),
        axisTick: { show: false },
        axisLine: { lineStyle: { color: '#c8d2de' } },
        axisLabel: { color: '#1d2b3a', fontSize: 13, width: narrow ? 84 : 140, overflow: 'truncate' },
      },
      series: [{
        type: 'bar',
        barMaxWidth: 20,
        cursor: 'pointer',
        data: rows.map(r => ({ value: r.population, code: r.code, name: r.name })),
        itemStyle: {
          borderRadius: [0, 3, 3, 0],
          color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [
            { offset: 0, color: '#3b82c4' }, { offset: 1, color: '#2bb3a3' }]),
        },
        emphasis: { itemStyle: { color: '#1f5f99' } },
        label: {
          show: true, position: 'right', color: '#33475b', fontSize: 12,
          formatter: p => full.format(p.value),
        },
      }],
    }, { notMerge: true });
  }

  return {
    chart,
    update,
    dispose() {
      window.removeEventListener('resize', resize);
      if (ro) ro.disconnect();
      chart.dispose();
    },
  };
}
