import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { throughputChartSvg, type ThroughputFigures } from "../../src/bench/compare.js";
import { escapeXml, lineChartsSvg, niceScale, SERIES_COLOURS } from "../../src/bench/svg.js";

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, "g"))].length;
}

describe("the SVG chart writer", () => {
  const svg = lineChartsSvg({
    title: "lavash vs llama-server",
    subtitle: "tiny <model> & 2 threads",
    panels: [
      {
        title: "Aggregate throughput",
        xLabel: "concurrent streams",
        yLabel: "tokens/s",
        series: [
          {
            name: "llama-server",
            points: [
              [1, 40],
              [2, 42],
              [4, 74],
              [8, 96],
              [16, 104],
            ],
          },
          {
            name: "lavash",
            points: [
              [1, 37],
              [2, 43],
              [4, null],
              [8, 84],
              [16, 94],
            ],
          },
        ],
      },
      { title: "TTFT", xLabel: "concurrent streams", yLabel: "ms", series: [{ name: "lavash", points: [[1, 43]] }] },
    ],
  });

  it("is one SVG document with a panel per measure and its axis labels", () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="880" height="394"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal(count(svg, /<g class="panel">/), 2);
    assert.match(svg, /class="x-label"[^>]*>concurrent streams</);
    assert.match(svg, /class="y-label"[^>]*>tokens\/s</);
    assert.match(svg, /class="y-label"[^>]*>ms</);
    // Every opened element is closed.
    assert.equal(count(svg, /<g\b/), count(svg, /<\/g>/));
    assert.equal(count(svg, /<circle\b/), count(svg, /<\/circle>/));
  });

  it("draws each series: a line through its points, a gap where a value is missing, a legend entry", () => {
    assert.match(svg, /<g class="series" data-name="llama-server">/);
    assert.match(svg, /<g class="series" data-name="lavash">/);
    const series = (name: string, nth = 0): string => svg.split(`data-name="${name}">`)[nth + 1]!.split("</g>")[0]!;
    const llama = series("llama-server");
    assert.equal(count(llama, /<circle/), 5);
    assert.equal(count(llama, /<polyline/), 1);
    assert.equal(llama.match(/points="([^"]+)"/)![1]!.split(" ").length, 5);
    assert.ok(llama.includes(SERIES_COLOURS[0]));
    // 4 streams missing: two lines of two points each, four dots.
    const lavash = series("lavash");
    assert.equal(count(lavash, /<circle/), 4);
    assert.deepEqual(
      [...lavash.matchAll(/points="([^"]+)"/g)].map((m) => m[1]!.split(" ").length),
      [2, 2],
    );
    assert.ok(lavash.includes(SERIES_COLOURS[1]));
    // One point alone: a dot, no line; lavash keeps its colour in the panel where it comes first.
    const single = series("lavash", 1);
    assert.equal(count(single, /<circle/), 1);
    assert.equal(count(single, /<polyline/), 0);
    assert.ok(single.includes(SERIES_COLOURS[1]));
    // x ticks are the levels; the legend names both servers.
    for (const x of ["1", "2", "4", "8", "16"])
      assert.match(svg, new RegExp(`text-anchor="middle" font-size="11">${x}</text>`));
    assert.equal(count(svg, /<g class="legend-entry">/), 2);
    assert.match(
      svg,
      /<g class="legend-entry"><line [^>]*stroke="#0072B2"[^>]*\/><text [^>]*>llama-server<\/text><\/g>/,
    );
    assert.match(svg, /<g class="legend-entry"><line [^>]*stroke="#D55E00"[^>]*\/><text [^>]*>lavash<\/text><\/g>/);
  });

  it("escapes text", () => {
    assert.ok(svg.includes("tiny &lt;model&gt; &amp; 2 threads"));
    assert.equal(escapeXml(`a"b'c`), "a&quot;b&apos;c");
  });

  it("scales the y axis to a round top with round ticks", () => {
    assert.deepEqual(niceScale(104), { top: 125, step: 25 });
    assert.deepEqual(niceScale(96), { top: 100, step: 20 });
    assert.deepEqual(niceScale(3.7), { top: 4, step: 1 });
    assert.deepEqual(niceScale(0), { top: 1, step: 0.2 });
  });

  it("the bench chart: tok/s and TTFT against streams, a line per server", () => {
    const f = (agg: number[], ttft: number[]): ThroughputFigures => ({
      singleStreamDecodeTokPerS: agg[0]!,
      ttftP50Ms: ttft[0]!,
      shortRequestsPerS: null,
      peakRssBytes: null,
      aggregateTokPerS: agg.map((v, i) => ({ concurrency: 2 ** i, value: v })),
      ttftP50MsByLevel: ttft.map((v, i) => ({ concurrency: 2 ** i, value: v })),
    });
    const chart = throughputChartSvg("lavash vs llama-server", "builtin:tiny", [
      { name: "llama-server", figures: f([275, 300, 424], [10, 12, 20]) },
      { name: "lavash", figures: f([83, 120, 167], [12, 15, 30]) },
    ]);
    assert.match(chart, />Aggregate throughput</);
    assert.match(chart, />Time to first token \(p50\)</);
    assert.match(chart, />tokens\/s \(all streams\)</);
    assert.match(chart, />TTFT p50 \(ms\)</);
    assert.equal(count(chart, /data-name="llama-server"/), 2);
    assert.equal(count(chart, /data-name="lavash"/), 2);
    assert.match(chart, /<title>lavash: 4 → 167<\/title>/);
  });
});
