// docs/onnx.md's zoo table as `npm run check:onnx -- --markdown` prints it: one row per model — the
// opsets whose file matches PyTorch, the worst error of those, the distance from float64 of fovea
// and of PyTorch's own float32 — then, when timed, the median ms of each engine on the model's timed
// file, and the files that do not match. An engine that cannot run a model gets "—" and a numbered
// note under the table with its reason (the same reason, one note).

const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const sup = (n) => String(n).replace(/\d/g, (d) => SUP[Number(d)]);
const cell = (s) => s.replace(/\|/g, "\\|");
const ms = (v) => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
const e = (v) => v.toExponential(1);

/**
 * rows: Map model → Map opset → { ok, worst, d64 } or { ok: false, error } (check-onnx's records).
 * times (optional): { engines: string[], files: Map model → { file, opset }, byEngine: Map engine → Map file → { median_ms } | { error } }.
 * Returns the table's lines, notes included.
 */
export function zooTable(rows, times = null) {
  const engines = times?.engines ?? [];
  const notes = [];
  const note = (text) => {
    const i = notes.indexOf(text);
    return sup((i >= 0 ? i : notes.push(text) - 1) + 1);
  };
  const lines = [
    `| model | opsets matching | max \\|Δ\\| / max \\|y\\| (batch 1 and 2) | from float64: fovea / PyTorch float32 | ${engines.map((g) => `${g} ms | `).join("")}not matching, and why |`,
    `| --- | --- | ---: | ---: | ${engines.map(() => "---: | ").join("")}--- |`,
  ];
  for (const [model, byOpset] of rows) {
    const rs = [...byOpset.entries()], good = rs.filter(([, r]) => r.ok);
    const worst = good.length ? e(Math.max(...good.map(([, r]) => r.worst))) : "";
    const d = good.filter(([, r]) => r.d64).map(([, r]) => r.d64);
    const f = d.length ? `${e(Math.max(...d.map((v) => v[0])))} / ${e(Math.max(...d.map((v) => v[1])))}` : "";
    const bad = rs.filter(([, r]) => !r.ok).map(([o, r]) => `${o}: ${cell((r.error ?? `max |Δ| / max |y| ${e(r.worst)}`).slice(0, 160))}`).join("; ");
    const timed = times?.files.get(model);
    const at = timed && timed.opset !== "13" ? note(`${model}: timed on ${timed.file.replace(/^.*[\\/]/, "")} (no opset-13 file)`) : "";
    const t = engines.map((g) => {
      const r = timed && times.byEngine.get(g)?.get(timed.file);
      if (!r) return "";
      if (r.error === undefined) return ms(r.median_ms);
      // the same failure in another model names other nodes: the note keeps the reason, not the names
      return `—${note(`${g}: ${r.error.replace(/ "[^"]*"/g, "").slice(0, 240)}`)}`;
    });
    lines.push(`| ${model}${at} | ${good.map(([o]) => o).join(", ") || "none"} | ${worst} | ${f} | ${t.map((c) => `${c} | `).join("")}${bad} |`);
  }
  if (notes.length) lines.push("", ...notes.map((n, i) => `${sup(i + 1)} ${cell(n)}${i < notes.length - 1 ? "<br>" : ""}`));
  return lines;
}
