// The learning curve as an SVG line chart: every episode's return (dots), its moving average, and
// reference lines (the random policy's average, the maximum).

/** episodes: [{ step, return }]; refs: [{ value, label, color }]. */
export function curveSvg(episodes, { window = 100, refs = [], title = "" } = {}) {
  const W = 720, H = 380, L = 56, R = 24, T = 60, B = 48;
  const maxStep = episodes.at(-1)?.step ?? 1;
  const x = (s) => L + (s / maxStep) * (W - L - R);
  const y = (v) => T + ((1 - v) / 2) * (H - T - B); // returns in [−1, 1]
  const avg = [];
  let sum = 0;
  episodes.forEach((e, i) => {
    sum += e.return;
    if (i >= window) sum -= episodes[i - window].return;
    if (i >= window - 1) avg.push([x(e.step), y(sum / window)]);
  });
  // one dot per episode (at most ~1,000), spread a little vertically so the ±1 rows show their density
  const every = Math.max(1, Math.floor(episodes.length / 1000));
  const dots = episodes.map((e, i) => (i % every !== 0 ? "" : `<circle cx="${x(e.step).toFixed(1)}" cy="${(y(e.return) + (((i * 0.6180339) % 1) - 0.5) * 14).toFixed(1)}" r="1.2" fill="#8899aa" fill-opacity="0.45"/>`)).join("");
  const tickStep = 10 ** Math.floor(Math.log10(maxStep)) / (maxStep / 10 ** Math.floor(Math.log10(maxStep)) < 3 ? 4 : 1);
  const xticks = [];
  for (let s = 0; s <= maxStep; s += tickStep) {
    xticks.push(`<line x1="${x(s)}" y1="${H - B}" x2="${x(s)}" y2="${H - B + 4}" stroke="#888"/><text x="${x(s)}" y="${H - B + 17}" font-size="11" text-anchor="middle">${s.toLocaleString("en")}</text>`);
  }
  const yticks = [-1, -0.5, 0, 0.5, 1].map((v) => `<line x1="${L - 4}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/><text x="${L - 7}" y="${y(v)}" dy="4" font-size="11" text-anchor="end">${v}</text>`);
  const refLines = refs.map((r) => `<line x1="${L}" y1="${y(r.value)}" x2="${W - R}" y2="${y(r.value)}" stroke="${r.color}" stroke-dasharray="6 4"/><text x="${W - R - 4}" y="${y(r.value) + (r.value > 0.8 ? 16 : -5)}" font-size="11" text-anchor="end" fill="${r.color}">${r.label}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${yticks.join("")}${xticks.join("")}
<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#888"/>
${dots}
${refLines.join("")}
<polyline fill="none" stroke="#c0392b" stroke-width="2.5" points="${avg.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>
<text x="${L}" y="20" font-size="13">${title}</text>
<text x="${L}" y="40" font-size="12" fill="#c0392b">— return, mean of the last ${window} episodes  <tspan fill="#8899aa">● one episode</tspan></text>
<text x="${(L + W - R) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">training step</text>
<text x="14" y="${(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">episode return</text>
</svg>
`;
}
