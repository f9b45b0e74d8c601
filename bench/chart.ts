// Draws the benchmark's chart from its JSON with vega-lite (no hand-made figures):
//   node --import tsx bench/chart.ts bench/out/results.json docs/bench.svg

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

import * as vega from 'vega'
import * as vegaLite from 'vega-lite'

interface Figure {
  name: string
  cycleRatio: number
  latencyMedianRatio: number
  latencyP99Ratio: number
  batchRatio: number
  longlived: Record<string, { latencyMedianUs: number }>
}
interface Results {
  date: string
  machine: { kernel: string; cpus: number; cpu: string }
  versions: { node: string; bun: string | null; python: string }
  figures: Figure[]
}

const [input = 'bench/out/results.json', output = 'docs/bench.svg'] = process.argv.slice(2)
const results = JSON.parse(readFileSync(input, 'utf8')) as Results
const systems = results.figures.map((f) => f.name)

const ratios = results.figures.flatMap((f) => [
  { system: f.name, figure: 'spawn+wait cycle', ratio: f.cycleRatio },
  { system: f.name, figure: 'latency median', ratio: f.latencyMedianRatio },
  { system: f.name, figure: 'latency p99', ratio: f.latencyP99Ratio },
  { system: f.name, figure: '64 at once', ratio: f.batchRatio },
])
const perK = results.figures.flatMap((f) =>
  Object.entries(f.longlived).map(([k, l]) => ({ system: f.name, k: Number(k), latencyMs: l.latencyMedianUs / 1000 })),
)

const color = { field: 'system', type: 'nominal', scale: { domain: systems }, legend: { orient: 'bottom', columns: 2, title: null, labelLimit: 420 } }
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: 'Process exit notification: time as a multiple of a C program doing the same (lower is better)',
    subtitle: `${results.date.slice(0, 10)} · Linux ${results.machine.kernel} · ${results.machine.cpus} × ${results.machine.cpu} · Node ${results.versions.node} · Bun ${results.versions.bun ?? '—'} · ${results.versions.python}`,
  },
  config: { font: 'sans-serif', view: { stroke: null } },
  hconcat: [
    {
      width: 420,
      height: 260,
      data: { values: ratios },
      mark: 'bar',
      encoding: {
        x: { field: 'figure', type: 'nominal', title: null, sort: ['spawn+wait cycle', 'latency median', 'latency p99', '64 at once'], axis: { labelAngle: 0 } },
        xOffset: { field: 'system', type: 'nominal', sort: systems },
        y: { field: 'ratio', type: 'quantitative', title: '× the C floor' },
        color,
      },
    },
    {
      width: 300,
      height: 260,
      data: { values: perK },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'k', type: 'quantitative', scale: { type: 'log' }, title: 'live children (K)' },
        y: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' }, title: 'one exit among K: latency (ms)' },
        color,
      },
    },
  ],
}

const view = new vega.View(vega.parse(vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec), { renderer: 'none' })
const svg = await view.toSVG()
mkdirSync(dirname(output), { recursive: true })
writeFileSync(output, svg)
console.error(`bench: chart written to ${output}`)
