/** A small hand-drawn SVG line chart: one line per series over time buckets, a zero baseline, the top value and the first and last bucket as labels, each point titled. */

/** One line: its name and a value per bucket (`null`: nothing to show there). */
export interface Series {
  name: string;
  values: ReadonlyArray<number | null>;
}

/** Props of {@link LineChart}. */
export interface LineChartProps {
  title: string;
  /** Bucket starts (ms since the epoch), oldest first. */
  starts: readonly number[];
  series: readonly Series[];
  format(value: number): string;
  /** Drawn dashed (a second figure of the same series, such as p50 beside p95). */
  dashed?: readonly Series[];
}

const width = 320;
const height = 132;
const left = 6;
const right = 6;
const top = 16;
const bottom = 20;

/** The chart; its figures are also in its accessible name (the first and last bucket, the top value). */
export function LineChart({ title, starts, series, format, dashed = [] }: LineChartProps) {
  const all = [...series, ...dashed];
  const max = Math.max(
    0,
    ...all.flatMap((line) => line.values.filter((value): value is number => value !== null)),
  );
  const span = Math.max(1, starts.length - 1);
  const x = (index: number): number => left + ((width - left - right) * index) / span;
  const y = (value: number): number => top + (height - top - bottom) * (1 - (max === 0 ? 0 : value / max));
  const first = starts[0];
  const last = starts.at(-1);
  const label = `${title}: ${all.length === 0 ? 'no data' : `up to ${format(max)}`}${
    first === undefined || last === undefined
      ? ''
      : `, from ${new Date(first).toLocaleString()} to ${new Date(last).toLocaleString()}`
  }`;
  const path = (line: Series): string[] => {
    // Gaps (null) break the line into segments.
    const segments: string[] = [];
    let current: string[] = [];
    line.values.forEach((value, index) => {
      if (value === null) {
        if (current.length > 0) segments.push(current.join(' '));
        current = [];
        return;
      }
      current.push(`${x(index).toFixed(1)},${y(value).toFixed(1)}`);
    });
    if (current.length > 0) segments.push(current.join(' '));
    return segments;
  };
  const draw = (line: Series, index: number, kind: 'solid' | 'dashed') =>
    path(line).map((points, part) =>
      points.includes(' ') ? (
        <polyline
          key={`${kind}-${line.name}-${part}`}
          class={`line series-${index % 6} ${kind}`}
          points={points}
          fill="none"
        />
      ) : (
        <circle
          key={`${kind}-${line.name}-${part}`}
          class={`dot series-${index % 6}`}
          cx={points.split(',')[0]}
          cy={points.split(',')[1]}
          r="2.5"
        />
      ),
    );
  return (
    <figure class="chart card" data-chart={title}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        <line class="grid" x1={left} x2={width - right} y1={top} y2={top} />
        <line class="baseline" x1={left} x2={width - right} y1={height - bottom} y2={height - bottom} />
        <text class="chart-tick" x={left} y={top - 4}>
          {format(max)}
        </text>
        {series.map((line, index) => draw(line, index, 'solid'))}
        {dashed.map((line, index) => draw(line, index, 'dashed'))}
        {series.map((line, index) =>
          line.values.map((value, bucket) =>
            value === null || value === 0 ? null : (
              <circle
                key={`${line.name}-${starts[bucket]}`}
                class={`point series-${index % 6}`}
                cx={x(bucket)}
                cy={y(value)}
                r="2"
              >
                <title>{`${line.name}, ${new Date(starts[bucket] as number).toLocaleString()}: ${format(value)}`}</title>
              </circle>
            ),
          ),
        )}
        {first === undefined ? null : (
          <text class="chart-tick" x={left} y={height - 5}>
            {tick(first, starts)}
          </text>
        )}
        {last === undefined || starts.length < 2 ? null : (
          <text class="chart-tick end" x={width - right} y={height - 5}>
            {tick(last, starts)}
          </text>
        )}
      </svg>
    </figure>
  );
}

/** A bucket's label: its date for buckets of a day or more, else its time of day (with the date when not today). */
function tick(at: number, starts: readonly number[]): string {
  const width = (starts[1] ?? at + 86_400_000) - (starts[0] ?? at);
  const date = new Date(at);
  const day = date.toLocaleDateString('en-CA');
  if (width >= 86_400_000) return day;
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
  return date.toDateString() === new Date().toDateString() ? time : `${day.slice(5)} ${time}`;
}

/** The legend of a set of charts: a colour per series. */
export function Legend({ names, dashedLabel }: { names: readonly string[]; dashedLabel?: string }) {
  return (
    <ul class="legend" aria-label="Series">
      {names.map((name, index) => (
        <li key={name}>
          <span class={`swatch series-${index % 6}`} aria-hidden="true" />
          {name}
        </li>
      ))}
      {dashedLabel === undefined ? null : (
        <li>
          <span class="swatch dashed-swatch" aria-hidden="true" />
          {dashedLabel}
        </li>
      )}
    </ul>
  );
}
