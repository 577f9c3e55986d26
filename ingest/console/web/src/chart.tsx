// Time-series charts with uPlot: deliveries per bucket by outcome, latency percentiles.
import { useEffect, useMemo, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Stats } from "./api";

interface Line {
  label: string;
  values: (number | null)[];
  stroke: string;
  points?: boolean;
}

const HEIGHT = 220;

function TimeChart({ title, unit, lines, x, summary }: { title: string; unit: string; lines: Line[]; x: number[]; summary: string }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 280),
      height: HEIGHT,
      series: [
        { label: "time" },
        // Latency has gaps (no attempt, no percentile): points too, so a lone bucket is still seen.
        ...lines.map((line) => ({ label: line.label, stroke: line.stroke, width: 2, spanGaps: false, points: { show: line.points ?? false, size: 5, fill: line.stroke } })),
      ],
      axes: [{}, { label: unit, size: 56 }],
      scales: { x: { time: true } },
      cursor: { drag: { x: false, y: false } },
    };
    const plot = new uPlot(options, [x, ...lines.map((line) => line.values)] as uPlot.AlignedData, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 280), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [x, lines]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={holder} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}

// Colours with at least 4.5:1 contrast on white.
const GREEN = "#1a7f37";
const RED = "#cf222e";
const ORANGE = "#9a6700";
const BLUE = "#0550ae";
const PURPLE = "#8250df";

export function StatsCharts({ stats }: { stats: Stats }) {
  const { x, outcomes, latency } = useMemo(
    () => ({
      x: stats.series.map((bucket) => Date.parse(bucket.start) / 1000),
      outcomes: [
        { label: "succeeded", values: stats.series.map((b) => b.attempts.succeeded), stroke: GREEN },
        { label: "failed", values: stats.series.map((b) => b.attempts.failed), stroke: RED },
        { label: "no response", values: stats.series.map((b) => b.attempts.no_response), stroke: ORANGE },
      ] as Line[],
      latency: [
        { label: "p50", points: true, values: stats.series.map((b) => b.latency_ms.p50), stroke: BLUE },
        { label: "p95", points: true, values: stats.series.map((b) => b.latency_ms.p95), stroke: PURPLE },
        { label: "p99", points: true, values: stats.series.map((b) => b.latency_ms.p99), stroke: RED },
      ] as Line[],
    }),
    [stats],
  );
  const minutes = stats.bucket_seconds / 60;
  const per = minutes === 1 ? "minute" : `${minutes} minutes`;
  const { succeeded, failed, no_response } = stats.outcomes;
  const { p50, p95, p99 } = stats.latency_ms;
  return (
    <div class="charts">
      <TimeChart
        title={`Delivery attempts per ${per} by outcome`}
        unit="attempts"
        lines={outcomes}
        x={x}
        summary={`${succeeded} succeeded, ${failed} failed, ${no_response} without response`}
      />
      <TimeChart
        title={`Attempt latency percentiles per ${per}`}
        unit="ms"
        lines={latency}
        x={x}
        summary={`p50 ${p50 ?? "n/a"} ms, p95 ${p95 ?? "n/a"} ms, p99 ${p99 ?? "n/a"} ms`}
      />
    </div>
  );
}
