"""The experiment report: per-run summaries aggregated over seeds, written as JSON and Markdown.

``run_summary`` reduces one run's evaluation record to the flat metrics the report shows;
``aggregate`` groups run rows by model (mean and spread over seeds); ``markdown_report`` lays the
aggregate out as tables; ``write_report`` writes ``report.json`` and ``report.md`` into an
experiment directory. A row may come from a model without some metric (a label-only baseline has
no latents and no counterfactuals, a model without a causal layer has no graph): every missing
value renders as a dash, so new kinds of rows need no special case here.
"""

from __future__ import annotations

import json
import shlex
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DASH = "-"

METRICS = ("shd", "shd_cpdag", "shd_default_rule", "precision", "recall", "auroc", "mcc",
           "mcc_spearman", "r2_linear", "r2_nonlinear", "mic", "mic_label_fed", "tic", "tic_norm",
           "mig", "dci_d", "dci_c", "dci_i", "cf_pixel_mse", "cf_probe_rmse", "recon_mse", "kl")


def final_kl(last_epoch: dict[str, Any] | None) -> float | None:
    """The regulariser of a run's last training epoch (a ``metrics.jsonl`` row), in nats per
    image, unweighted: the sum of its ``kl*`` terms (CausalVAE: kl_eps + kl_z; CHyVAE logs
    KL(q(z|x) || N(0, I)) as a diagnostic beside its objective), else a CHyVAE run's ``reg``
    (runs made before that diagnostic). Near 0 means posterior collapse: the latents carry no
    information about the image. None for a row without such a term."""
    if not last_epoch:
        return None
    kls = [float(v) for k, v in last_epoch.items() if k.startswith("kl")]
    if kls:
        return sum(kls)
    return float(last_epoch["reg"]) if "reg" in last_epoch else None


def run_summary(ev: dict[str, Any]) -> dict[str, Any]:
    """The report's metrics of one run from its evaluation record (``evaluation.json``)."""
    cf = ev.get("counterfactual") or {}
    dci = ev.get("dci") or {}
    per = cf.get("per_concept") or {}
    return {
        "kind": ev.get("kind", "model"),
        "shd": ev.get("shd"), "shd_cpdag": ev.get("shd_cpdag"), "precision": ev.get("precision"), "recall": ev.get("recall"),
        "auroc": ev.get("auroc"), "sid": ev.get("sid"), "shd_default_rule": ev.get("shd_default_rule"),
        "mcc": ev.get("mcc"), "mcc_spearman": ev.get("mcc_spearman"),
        "r2_linear": ev.get("r2_linear"), "r2_nonlinear": ev.get("r2_nonlinear"),
        "mic": ev.get("mic"), "tic": ev.get("tic"), "tic_norm": ev.get("tic_norm"),
        "mic_label_fed": (ev.get("label_fed") or {}).get("mic"),
        "mig": ev.get("mig"), "dci_d": dci.get("disentanglement"),
        "dci_c": dci.get("completeness"), "dci_i": dci.get("informativeness"),
        "cf_pixel_mse": cf.get("mean_pixel_mse"), "cf_probe_rmse": cf.get("mean_probe_rmse"),
        "recon_mse": cf.get("recon_mse_floor"),
        "cf_per_concept": {k: v["pixel_mse"] for k, v in per.items()},
        "cf_probe_per_concept": {k: v["probe_rmse"] for k, v in per.items()},
        # the do-nothing reference (model-free: the factual image as its own counterfactual)
        "cf_unchanged_per_concept": {k: (v["pixel_mse_unchanged"], v["probe_rmse_unchanged"])
                                     for k, v in per.items() if "pixel_mse_unchanged" in v},
        "cf_skipped": cf.get("skipped"),  # why, for data without a generator (imported files)
    }


def _models_in_order(config: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The configured models first, then any other model that has rows (e.g. a baseline)."""
    order = list(config.get("models", ()))
    for r in rows:
        if r["model"] not in order:
            order.append(r["model"])
    return order


def aggregate(config: dict[str, Any], rows: list[dict[str, Any]],
              argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Mean and spread over seeds of each model's metrics; ``config`` is the experiment config as
    a dict, ``rows`` one dict per (model, seed) run holding :data:`METRICS` keys (missing or None
    where the model has no such metric)."""
    models: dict[str, Any] = {}
    for model in _models_in_order(config, rows):
        mine = [r for r in rows if r["model"] == model]
        stats: dict[str, Any] = {}
        for m in METRICS:
            vals = [r[m] for r in mine if r.get(m) is not None]
            if vals:
                stats[m] = {"mean": statistics.fmean(vals),
                            "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0}
        shds = [r.get("shd") for r in mine]
        stats["shd_per_seed"] = shds
        stats["seeds_shd0"] = sum(1 for s in shds if s == 0) if shds and None not in shds else None
        concepts = next((list(r["cf_per_concept"]) for r in mine if r.get("cf_per_concept")), [])
        stats["cf_per_concept"] = {  # per intervened concept, mean over seeds
            c: {"pixel_mse": statistics.fmean(r["cf_per_concept"][c] for r in mine
                                              if c in r.get("cf_per_concept", {})),
                "probe_rmse": statistics.fmean(r["cf_probe_per_concept"][c] for r in mine
                                               if c in r.get("cf_probe_per_concept", {}))}
            for c in concepts}
        timings = [sum(r["timing"].values()) for r in mine if r.get("timing")]
        stats["seconds_per_seed"] = statistics.fmean(timings) if timings else None
        models[model] = stats
    command = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv))
    notes = [f"Counterfactual fidelity skipped: {why}"
             for why in sorted({r["cf_skipped"] for r in rows if r.get("cf_skipped")})]
    return {"config": config, "command": command, "models": models, "runs": rows, "notes": notes}


def fmt_stat(stat: dict[str, float] | None, digits: int = 3) -> str:
    """``mean ± sd`` of an aggregated metric, a dash when the model has none."""
    if not stat:
        return DASH
    return f"{stat['mean']:.{digits}g} ± {stat['sd']:.2g}"


def _unchanged(runs: Sequence[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Per concept, the do-nothing reference (pixel MSE, probe RMSE) averaged over the seeds'
    data (each seed counted once: it depends on the data and the seed, not on the model)."""
    by_seed: dict[Any, dict[str, Any]] = {}
    for r in runs:
        if r.get("cf_unchanged_per_concept"):
            by_seed.setdefault(r.get("seed"), r["cf_unchanged_per_concept"])
    concepts = {c for per in by_seed.values() for c in per}
    return {c: tuple(statistics.fmean(per[c][j] for per in by_seed.values() if c in per)
                     for j in (0, 1)) for c in concepts}  # type: ignore[misc]


def _seed_text(cfg: dict[str, Any]) -> str:
    """'5 seeds (0-4)': how many seeds, and which."""
    first = int(cfg.get("first_seed", 0))
    n = int(cfg["seeds"])
    return f"{n} seed{'s' if n != 1 else ''} ({first}{'' if n == 1 else f'-{first + n - 1}'})"


def _seeds0(s: dict[str, Any]) -> str:
    return DASH if s.get("seeds_shd0") is None else f"{s['seeds_shd0']} / {len(s['shd_per_seed'])}"


def _dci(s: dict[str, Any]) -> str:
    return " / ".join(f"{s[k]['mean']:.2f}" if k in s else DASH for k in ("dci_d", "dci_c", "dci_i"))


def _seconds(s: dict[str, Any]) -> str:
    return DASH if s.get("seconds_per_seed") is None else f"{s['seconds_per_seed']:.0f}"


def _metric(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda s: fmt_stat(s.get(key))


# (header, cell of a model's aggregated stats); a model without the metric gets a dash
Column = tuple[str, Callable[[dict[str, Any]], str]]
COLUMNS: list[Column] = [
    ("SHD", _metric("shd")), ("SHD vs class", _metric("shd_cpdag")),
    ("seeds with SHD 0", _seeds0),
    ("SHD, default rule", _metric("shd_default_rule")), ("precision", _metric("precision")),
    ("recall", _metric("recall")), ("AUROC", _metric("auroc")), ("MCC", _metric("mcc")),
    ("R² linear", _metric("r2_linear")), ("R² nonlinear", _metric("r2_nonlinear")),
    ("MIC", _metric("mic")), ("MIC, labels fed", _metric("mic_label_fed")),
    ("TIC (normalised)", _metric("tic_norm")), ("MIG", _metric("mig")), ("DCI D / C / I", _dci),
    ("CF pixel MSE", _metric("cf_pixel_mse")), ("CF probe RMSE", _metric("cf_probe_rmse")),
    ("recon MSE (floor)", _metric("recon_mse")), ("KL (last epoch)", _metric("kl")),
    ("s / seed", _seconds),
]


# the compact main table (fits a page); every column is in the appendix table. A column another
# module adds to COLUMNS joins the main table when its header is named here.
MAIN_HEADERS = ("SHD", "SHD vs class", "MCC", "MIC", "CF pixel MSE", "s / seed")


def main_columns() -> list[Column]:
    return [c for c in COLUMNS if c[0] in MAIN_HEADERS]


def markdown_table(models: dict[str, Any], columns: Sequence[Column]) -> list[str]:
    """A Markdown table, one row per model, one column per (header, cell) pair."""
    lines = ["| model | " + " | ".join(h for h, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for model, s in models.items():
        lines.append(f"| {model} | " + " | ".join(cell(s) for _, cell in columns) + " |")
    return lines


def markdown_report(report: dict[str, Any]) -> str:
    """The Markdown report of an aggregated experiment."""
    cfg = report["config"]
    lines = [
        f"# Experiment: {cfg['target']}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"N = {cfg['n']} images ({cfg['image_size']} px), {_seed_text(cfg)}, {cfg['epochs']} "
        f"epochs, batch {cfg['batch_size']}, intervention mix {cfg['intervention_mix']}, "
        f"overrides: {', '.join(cfg['overrides']) or 'none'}.",
        "",
        *[line for note in report.get("notes", []) for line in (note, "")],
        "## Main results",
        "",
        "Mean ± standard deviation over seeds; a dash where a model has no such metric.",
        "",
        *markdown_table(report["models"], main_columns()),
    ]
    incomplete = report.get("incomplete") or []
    if incomplete:  # an experiment stopped by Ctrl-C: say so before any figure is read
        lines[2:2] = ["**Incomplete (interrupted): the table covers finished runs only.** "
                      "Rerun the same command to resume. Not finished: " + ", ".join(
                          f"{r['model']} seed {r['seed']} ({r['epochs_done']}/{r['epochs']} "
                          "epochs)" for r in incomplete) + ".", ""]
    figures = report.get("figures") or {}
    if figures.get("summary"):
        lines += ["", f"![Summary: SHD, MIC, MCC and counterfactual error per model, mean and "
                  f"spread over seeds]({figures['summary']})"]
    lines += ["", "## Appendix: every metric", "", *markdown_table(report["models"], COLUMNS)]
    concepts = next((list(s["cf_per_concept"]) for s in report["models"].values()
                     if s.get("cf_per_concept")), [])
    if concepts:
        models = list(report["models"])  # one row per concept: long names stay readable
        unchanged = _unchanged(report.get("runs", ()))
        lines += ["", "Counterfactual error per intervened concept, pixel MSE / probe RMSE (mean "
                  "over seeds)" + ("; *unchanged*: the factual image offered as its own "
                                   "counterfactual, what a model that moves nothing scores"
                                   if unchanged else "") + ":", "",
                  "| intervened concept | " + " | ".join(models)
                  + (" | *unchanged* |" if unchanged else " |"),
                  "|---|" + "---|" * (len(models) + bool(unchanged))]
        for c in concepts:
            cells = []
            for model in models:
                per = report["models"][model].get("cf_per_concept", {})
                cells.append(f"{per[c]['pixel_mse']:.4f} / {per[c]['probe_rmse']:.3f}"
                             if c in per else DASH)
            if unchanged:
                cells.append(f"{unchanged[c][0]:.4f} / {unchanged[c][1]:.3f}"
                             if c in unchanged else DASH)
            lines.append(f"| do({c}) | " + " | ".join(cells) + " |")
    lines += ["", "SHD per seed:", ""]
    for model, s in report["models"].items():
        seeds = s.get("shd_per_seed") or []
        shown = ", ".join(DASH if v is None else f"{v:g}" for v in seeds) if any(
            v is not None for v in seeds) else "- (no learned graph)"
        lines.append(f"- {model}: {shown}")
    baselines = sorted({r["model"] for r in report.get("runs", ())
                        if r.get("kind") == "label-only baseline"})
    if baselines:
        lines += ["", f"Label-only baselines ({', '.join(baselines)}): causal-learn's PC / GES on "
                  "the standardised training labels (plus intervention indicators with no "
                  "parents for pc-int), the data the VAEs train on, without images; they learn "
                  "no latents (dashes) and output a partially directed graph, so an undirected "
                  "edge counts 1 against a directed true edge in both SHDs. s / seed is the "
                  "discovery's wall time."]
    lines += [
        "",
        "Metrics: SHD, precision, recall and AUROC compare the learned A with the generating "
        "graph (models without a causal layer have none). The threshold is the model's own rule "
        "where it declares one (causalvae-int: |A| > graph_threshold) and otherwise "
        "`causalvae.graph.default_threshold` (0.3 x max |A|, at least 0.05); the default-rule SHD "
        "is shown for every causal model. SHD vs class (`shd_cpdag`) compares the equivalence "
        "classes the data identify (the CPDAG for observational data, the interventional "
        "essential graph when the file has intervention targets); there an undirected edge "
        "against a directed one counts 1, like a reversal. MCC, R², MIC, TIC (normalised by the "
        "cell count; the raw sum is in report.json), MIG and DCI are computed from the image "
        "alone: label-fed encoders have their labels marginalised, and `MIC, labels fed` shows "
        "what the same model scores when the image's own labels are fed. MCC: mean |Pearson| "
        "after the optimal one-to-one latent-factor matching; R²: held-out, all latents. MIC / "
        "TIC: each concept's latent against its own label. CF: "
        "counterfactual fidelity against ground-truth renders of the same units under "
        "do(u_i = another held-out sample's value), averaged over concepts; recon MSE is the "
        "model's plain reconstruction error, the floor a counterfactual can reach.",
        "",
    ]
    lines += _figure_section(figures)
    return "\n".join(lines) + "\n"


FIGURE_CAPTIONS = {
    "adjacency": "learned |A| beside the true graph, cells outlined by outcome",
    "graph": "learned against true graph (correct, missing, extra, reversed edges)",
    "interventions": "the model's do() (top) against the generator's ground truth (bottom)",
    "curves": "training curves",
    "recon": "held-out inputs and reconstructions",
}


def _figure_section(figures: dict[str, Any]) -> list[str]:
    per_model = figures.get("models") or {}
    if not per_model:
        return ["", "Figures: `causalvae figures RUN_DIR` draws a run's figures (matplotlib, "
                "`pip install 'causalgen[figures]'`).", ""]
    lines = ["", "## Figures of each model (first seed)", ""]
    for model, paths in per_model.items():
        lines += [f"### {model}", ""]
        for path in paths:
            kind = Path(path).stem
            lines += [f"![{model}: {FIGURE_CAPTIONS.get(kind, kind)}]({path})", ""]
    return lines


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "±": r"$\pm$", "|": r"$|$"}


def _tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def latex_table(report: dict[str, Any]) -> str:
    """The main results as a booktabs table (needs ``\\usepackage{booktabs}``)."""
    cols = main_columns()
    cfg = report["config"]
    lines = [
        "% main results of causalvae experiment; needs \\usepackage{booktabs}",
        "\\begin{table}[t]", "\\centering", "\\small",
        f"\\begin{{tabular}}{{l{'c' * len(cols)}}}", "\\toprule",
        "model & " + " & ".join(_tex_escape(h) for h, _ in cols) + " \\\\", "\\midrule",
    ]
    for model, s in report["models"].items():
        cells = ["--" if cell(s) == DASH else _tex_escape(cell(s)) for _, cell in cols]
        lines.append(_tex_escape(model) + " & " + " & ".join(cells) + " \\\\")
    lines += [
        "\\bottomrule", "\\end{tabular}",
        f"\\caption{{{_tex_escape(str(cfg['target']))}: mean $\\pm$ standard deviation over "
        f"{_seed_text(cfg)} (N = {cfg['n']}, {cfg['image_size']} px, {cfg['epochs']} epochs); "
        "-- where a model has no such metric.}",
        "\\label{tab:main-results}", "\\end{table}", "",
    ]
    return "\n".join(lines)


def write_report(out: str | Path, report: dict[str, Any]) -> None:
    """Write ``report.json``, ``report.md`` and ``report.tex`` of an aggregated experiment into
    ``out``."""
    out = Path(out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown_report(report))
    (out / "report.tex").write_text(latex_table(report))
