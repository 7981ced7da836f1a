// One figure line of a bench's output (bench/run.mjs reads them): value, unit, and, given a
// baseline from the same run, the baseline and the ratio. Values are rounded to 0.001.

/** Print one figure as a JSON line on stdout. */
export function figure(name, value, unit, baseline) {
  const line = { name, value: round(value), unit };
  if (baseline !== undefined) Object.assign(line, { baseline: round(baseline), ratio: round(value / baseline) });
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function round(n) {
  return Math.round(n * 1000) / 1000;
}
