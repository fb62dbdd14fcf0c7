// Progressive enhancement for the m2rag viewer: live search and column sorting on the query list,
// and the dataset page's charts (Chart.js). Every page works without it.
'use strict';

function enhanceQueryList() {
  const input = document.getElementById('query-search');
  const table = document.getElementById('queries');
  if (!input || !table) return;
  const rows = Array.from(table.tBodies[0].rows);
  const count = document.getElementById('query-count');
  const filter = () => {
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const match = !needle || row.dataset.search.includes(needle);
      row.hidden = !match;
      if (match) shown++;
    }
    if (count) count.textContent = `${shown} of ${rows.length}`;
  };
  input.addEventListener('input', filter);
  table.querySelectorAll('th[data-sort]').forEach((th, column) => {
    th.tabIndex = 0;
    th.addEventListener('click', () => {
      const numeric = th.dataset.sort === 'num';
      const ascending = th.dataset.dir !== 'asc';
      th.dataset.dir = ascending ? 'asc' : 'desc';
      const key = (row) => {
        const text = row.cells[column].textContent.trim();
        return numeric ? (text === '' ? -Infinity : Number(text)) : text.toLowerCase();
      };
      rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (ascending ? 1 : -1));
      for (const row of rows) table.tBodies[0].appendChild(row);
    });
  });
}

function barChart(canvas, labels, datasets, stacked) {
  return new window.Chart(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: { animation: false, responsive: false, scales: { x: { stacked }, y: { stacked, beginAtZero: true } } },
  });
}

async function drawDataset() {
  const status = document.getElementById('dataset-status');
  if (!status || !window.Chart) return;
  const response = await fetch('/dataset.json');
  if (!response.ok) {
    status.textContent = await response.text();
    return;
  }
  const data = await response.json();
  status.textContent = `${data.records.queries} queries, ${data.records.pages} pages, ${data.records.images} images, ${data.records.generations} answers, ${data.records.ratings} ratings`;
  const stages = document.getElementById('stage-charts');
  for (const stage of data.stages) {
    const heading = document.createElement('h3');
    heading.textContent = `${stage.stage} (${stage.runs} run(s), last ${stage.lastRunAt})`;
    const canvas = document.createElement('canvas');
    canvas.width = 800;
    canvas.height = 200;
    stages.append(heading, canvas);
    const entries = Object.entries(stage.counts);
    barChart(canvas, entries.map(([k]) => k), [{ label: 'count', data: entries.map(([, v]) => v) }], false);
  }
  const bins = Array.from({ length: 11 }, (_, i) => String(i));
  barChart(document.getElementById('chart-scores'), bins, [
    { label: 'chunks', data: data.scoreHistograms.chunk },
    { label: 'images', data: data.scoreHistograms.image },
  ], false);
  barChart(document.getElementById('chart-sizes'), data.imageSizes.labels, [{ label: 'images', data: data.imageSizes.counts }], false);
  const types = Object.entries(data.imageTypes);
  barChart(document.getElementById('chart-types'), types.map(([k]) => k), [{ label: 'images', data: types.map(([, v]) => v) }], false);
  const models = Object.entries(data.modelCalls);
  barChart(document.getElementById('chart-models'), models.map(([k]) => k), [{ label: 'responses', data: models.map(([, v]) => v) }], false);
  document.getElementById('tokens').textContent = `answer tokens: ${data.tokens.prompt} prompt, ${data.tokens.completion} completion`;
  const records = document.querySelector('#records tbody');
  for (const [kind, n] of Object.entries(data.records)) {
    const row = records.insertRow();
    row.insertCell().textContent = kind;
    row.insertCell().textContent = String(n);
  }
  document.body.dataset.chartsDrawn = 'true';
}

document.addEventListener('DOMContentLoaded', () => {
  enhanceQueryList();
  drawDataset().catch((error) => {
    const status = document.getElementById('dataset-status');
    if (status) status.textContent = `could not draw the charts: ${error.message}`;
  });
});
