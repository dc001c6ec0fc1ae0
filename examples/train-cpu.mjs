// A small real CPU workload for trying wattprint: logistic regression by gradient descent on synthetic data.
// Under `wattprint run`, it reports its progress to the agent (WATTPRINT_URL is set for the child), so the
// live status, the dashboard and the report can project the energy and CO2e at completion.
const steps = Number(process.argv[2] ?? 400);
const n = 20_000, d = 64;
const rand = (() => { let s = 42; return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5; })();
const X = Array.from({ length: n }, () => Float64Array.from({ length: d }, rand));
const wTrue = Float64Array.from({ length: d }, rand);
const y = X.map((x) => (x.reduce((s, v, j) => s + v * wTrue[j], 0) > 0 ? 1 : 0));
const w = new Float64Array(d);
const url = process.env.WATTPRINT_URL;

for (let step = 1; step <= steps; step++) {
  const grad = new Float64Array(d);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = X[i].reduce((s, v, j) => s + v * w[j], 0);
    const p = 1 / (1 + Math.exp(-z));
    loss -= y[i] ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12);
    for (let j = 0; j < d; j++) grad[j] += (p - y[i]) * X[i][j];
  }
  for (let j = 0; j < d; j++) w[j] -= (0.5 * grad[j]) / n;
  if (step % 10 === 0 || step === steps) console.log(`step ${step}/${steps} loss ${(loss / n).toFixed(4)}`);
  if (url) {
    await fetch(`${url}/api/progress`, { method: 'POST', headers: { 'content-type': 'application/json', ...(process.env.WATTPRINT_TOKEN ? { authorization: `Bearer ${process.env.WATTPRINT_TOKEN}` } : {}) }, body: JSON.stringify({ step, totalSteps: steps }) }).catch(() => {});
  }
}
