"""The experiment report: aggregation over seeds and table layout, missing metrics as dashes."""

from __future__ import annotations

import json
from pathlib import Path

from causalvae.report import aggregate, main_columns, markdown_report, run_summary, write_report

CONFIG = {"target": "pendulum-v1", "n": 200, "image_size": 32, "seeds": 2, "epochs": 1,
          "batch_size": 32, "intervention_mix": 0.5, "overrides": [], "models": ["m"]}


def _ev(shd: int, mic: float) -> dict:
    return {"shd": shd, "precision": 1.0, "recall": 0.5, "mic": mic, "tic": 0.4, "mig": 0.1,
            "dci": {"disentanglement": 0.5, "completeness": 0.6, "informativeness": 0.7},
            "counterfactual": {"mean_pixel_mse": 0.01, "mean_probe_rmse": 0.2,
                               "recon_mse_floor": 0.005,
                               "per_concept": {"a": {"pixel_mse": 0.02, "probe_rmse": 0.3}}}}


def _rows() -> list[dict]:
    rows = [{"model": "m", "seed": s, **run_summary(_ev(s, 0.5 + 0.1 * s)),
             "timing": {"train_s": 10.0}} for s in range(2)]
    # a label-only baseline: a graph, nothing else, no timing
    rows.append({"model": "pc", "seed": 0, "shd": 3})
    return rows


def test_aggregate_means_spread_and_baseline_rows() -> None:
    report = aggregate(CONFIG, _rows(), argv=["causalvae", "experiment"])
    m = report["models"]["m"]
    assert m["shd"]["mean"] == 0.5 and m["seeds_shd0"] == 1
    assert abs(m["mic"]["mean"] - 0.55) < 1e-12 and m["mic"]["sd"] > 0
    assert m["cf_per_concept"] == {"a": {"pixel_mse": 0.02, "probe_rmse": 0.3}}
    assert list(report["models"]) == ["m", "pc"]  # configured models first, then others
    pc = report["models"]["pc"]
    assert pc["shd"]["mean"] == 3 and "mic" not in pc and pc["seconds_per_seed"] is None
    assert report["command"] == "causalvae experiment"


def test_markdown_rows_have_every_column_and_dashes_for_missing(tmp_path: Path) -> None:
    report = aggregate(CONFIG, _rows(), argv=["x"])
    md = markdown_report(report)
    tables, current = [], []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    main, appendix = tables[0], tables[1]
    for table in (main, appendix):  # header, model row and baseline row: the same cell count
        assert len({ln.count("|") for ln in table if not ln.startswith("|---")}) == 1
    assert len(main[0].split("|")) - 2 == 1 + len(main_columns()) < len(appendix[0].split("|")) - 2
    assert len(main_columns()) <= 8  # the main table fits a page
    pc_row = next(ln for ln in appendix if ln.startswith("| pc |"))
    cells = [c.strip() for c in pc_row.strip("|").split("|")]
    assert cells[1] == "3 ± 0" and cells.count("-") >= 8
    assert "- pc: 3" in md and "- m: 0, 1" in md
    write_report(tmp_path, report)
    assert json.loads((tmp_path / "report.json").read_text())["models"]["pc"]["shd"]["mean"] == 3
    assert (tmp_path / "report.md").read_text() == md
    tex = (tmp_path / "report.tex").read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    body = [ln for ln in tex.splitlines() if ln.endswith("\\\\")]
    assert len(body) == 3 and all(ln.count("&") == len(main_columns()) for ln in body)
    assert "0.5 $\\pm$ 0.71" in tex and "pc & 3 $\\pm$ 0 & --" in tex


def test_report_embeds_figures() -> None:
    report = aggregate(CONFIG, _rows(), argv=["x"])
    report["figures"] = {"summary": "figures/summary.png",
                         "models": {"m": ["runs/m/seed0/figures/adjacency.png"]}}
    md = markdown_report(report)
    assert "](figures/summary.png)" in md
    assert "![m: learned |A| beside the true graph" in md
    assert md.index("## Main results") < md.index("figures/summary.png") < md.index("## Appendix")


def test_final_kl_reads_the_regulariser_of_the_last_epoch() -> None:
    """The KL column: the sum of kl* terms (CausalVAE's kl_eps + kl_z), CHyVAE's reg, else none."""
    from causalvae.report import final_kl

    assert final_kl({"epoch": 20, "loss": 9.0, "recon": 5.0, "kl_eps": 1.5, "kl_z": 2.0}) == 3.5
    assert final_kl({"epoch": 3, "recon": 5.0, "kl": 0.01}) == 0.01  # a collapsed beta-VAE
    assert final_kl({"recon": 5.0, "reg": 7.0}) == 7.0
    assert final_kl({"recon": 5.0}) is None and final_kl(None) is None
    rows = [{"model": "m", "seed": s, "kl": 2.0 + s} for s in range(2)]
    report = aggregate({**CONFIG, "first_seed": 3}, rows)
    assert report["models"]["m"]["kl"]["mean"] == 2.5
    md = markdown_report(report)
    assert "KL (last epoch)" in md and "2 seeds (3-4)" in md


def test_per_concept_table_carries_the_do_nothing_reference_once_per_seed() -> None:
    def ev(pix: float, unchanged: float) -> dict:
        e = _ev(0, 0.5)
        e["counterfactual"]["per_concept"]["a"].update(pixel_mse=pix, pixel_mse_unchanged=unchanged,
                                                       probe_rmse_unchanged=0.9)
        return e

    # two models on seed 0 share that seed's reference; seed 1 has another
    rows = [{"model": "m", "seed": 0, **run_summary(ev(0.01, 0.004))},
            {"model": "b", "seed": 0, **run_summary(ev(0.02, 0.004))},
            {"model": "m", "seed": 1, **run_summary(ev(0.03, 0.008))}]
    md = markdown_report(aggregate({**CONFIG, "models": ["m", "b"]}, rows))
    assert "| intervened concept | m | b | *unchanged* |" in md
    assert "| do(a) | 0.0200 / 0.300 | 0.0200 / 0.300 | 0.0060 / 0.900 |" in md
    old = markdown_report(aggregate(CONFIG, [{"model": "m", "seed": 0, **run_summary(_ev(0, 0.5))}]))
    assert "*unchanged*" not in old  # evaluations made before the reference existed
