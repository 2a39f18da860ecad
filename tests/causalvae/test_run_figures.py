"""Run and experiment figures from synthetic records: files by type, layout checks, missing data."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from causalgen.figures.style import save
from causalvae.figures.adjacency import adjacency_figure, learned_graph_figure
from causalvae.figures.curves import curves_figure, split_terms, summary_figure
from causalvae.figures.interventions import ConceptRow, InterventionGrid, interventions_figure

NAMES = ["ambient_temperature_celsius", "soil_moisture_fraction", "plant_stem_height_above_ground",
         "leaf_canopy_width", "fruitCount", "shadow_cast_by_the_canopy_on_the_ground"]
TRUE = np.zeros((6, 6), int)
for a, b in [(0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (0, 5)]:
    TRUE[a, b] = 1


def _evaluation() -> dict:
    learned = TRUE * 0.6 + 0.02
    learned[0, 2], learned[2, 0] = 0.0, 0.5  # reversed
    learned[3, 4] = 0.1  # missing
    learned[1, 4] = 0.45  # extra
    pred = (np.abs(learned) > 0.3).astype(int)
    return {"model": "causalvae", "variables": NAMES, "true_adjacency": TRUE.tolist(),
            "learned_adjacency": learned.tolist(), "predicted_adjacency": pred.tolist(),
            "threshold": 0.3, "threshold_rule": "model", "shd": 3}


def test_adjacency_figure_marks_threshold_outcomes_and_full_names(tmp_path: Path) -> None:
    fig = adjacency_figure(_evaluation())
    learned_ax, true_ax, cbar_ax = fig.axes
    assert [t.get_text().replace("\n", "") for t in learned_ax.get_yticklabels()] == NAMES
    assert [t.get_text().replace("\n", "") for t in true_ax.get_xticklabels()] == NAMES
    assert any(abs(line.get_ydata()[0] - 0.3) < 1e-9 for line in cbar_ax.lines)  # threshold
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {x.split()[0] for x in legend} == {"correct", "missing", "extra", "reversed"}
    fig.canvas.draw()  # tick labels do not overlap one another
    r = fig.canvas.get_renderer()
    for ax in (learned_ax, true_ax):
        boxes = [t.get_window_extent(r) for t in ax.get_xticklabels()]
        assert all(a.x1 <= b.x0 + 0.5 for a, b in itertools.pairwise(boxes))
    for suffix in (".png", ".pdf", ".svg"):
        save(adjacency_figure(_evaluation()), tmp_path / f"a{suffix}")
    with Image.open(tmp_path / "a.png") as im:
        assert im.info["dpi"][0] == pytest.approx(300, abs=1) and im.width > 1500
    assert "shadow_cast_by_" in (tmp_path / "a.svg").read_text()


@pytest.mark.parametrize("n", [2, 4, 7, 14])
def test_adjacency_suptitle_clears_the_panel_titles(n: int) -> None:
    # the two-line suptitle overlapped "learned |A|" and "true graph" (seen at 4 variables)
    true = np.triu(np.ones((n, n)), 1) * (np.arange(n)[None, :] == np.arange(n)[:, None] + 1)
    ev = {"model": "causalvae", "variables": [f"v{i}" for i in range(n)],
          "true_adjacency": true.tolist(), "learned_adjacency": (true * 0.8).tolist(),
          "predicted_adjacency": true.astype(int).tolist(), "threshold": 0.1,
          "threshold_rule": "model", "shd": 0}
    fig = adjacency_figure(ev)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    sup = fig._suptitle.get_window_extent(r)
    for ax in fig.axes[:2]:
        panel = ax.title.get_window_extent(r)
        assert sup.y0 >= panel.y1, (n, ax.title.get_text(), sup.y0, panel.y1)


@pytest.mark.parametrize("n", [4, 8, 12])
def test_adjacency_cell_values_do_not_overlap(n: int) -> None:
    # at 12 variables every cell's "0.00" ran into its neighbours'
    true = np.eye(n, k=1)
    learned = true * 0.8
    learned[0, n - 1] = 0.4
    ev = {"model": "causalvae", "variables": [f"variable_{i}" for i in range(n)],
          "true_adjacency": true.tolist(), "learned_adjacency": learned.tolist(),
          "predicted_adjacency": (learned > 0.1).astype(int).tolist(), "threshold": 0.1,
          "threshold_rule": "model", "shd": 1}
    fig = adjacency_figure(ev)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = fig.axes[0].texts
    assert len(texts) == (n * n if n <= 8 else int((learned != 0).sum()))
    boxes = [t.get_window_extent(r) for t in texts]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_adjacency_without_a_causal_layer() -> None:
    ev = {"model": "betavae", "variables": NAMES, "true_adjacency": TRUE.tolist(),
          "learned_adjacency": None, "predicted_adjacency": None, "threshold": None, "shd": None}
    fig = adjacency_figure(ev)
    assert len(fig.axes) == 1 and any("no causal layer" in t.get_text() for t in fig.axes[0].texts)
    assert learned_graph_figure(ev) is None


def test_learned_graph_figure_classifies_edges() -> None:
    fig = learned_graph_figure(_evaluation(), engine="layered")
    legend = [t.get_text().split()[0] for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["correct", "missing", "extra", "reversed"]
    # a narrow graph wraps its title: "(SHD" and its number stay on one line
    ev = {**_evaluation(), "variables": ["s", "a", "b", "c", "d", "e"]}
    titles = [t.get_text() for t in learned_graph_figure(ev, engine="layered").axes[0].texts
              if "SHD" in t.get_text()]
    assert titles and all("SHD\u00a03" in t for t in titles), titles


def _metrics(tmp_path: Path, test: bool) -> Path:
    path = tmp_path / "metrics.jsonl"
    rows = []
    for e in range(1, 6):
        row = {"epoch": e, "step": 10 * e, "loss": 100 / e, "recon": 90 / e, "kl": 1e-3 * e,
               "images_per_s": 50.0, "lr": 1e-3, "time": 1.0}
        if test:
            row["test_loss"] = 110 / e
        rows.append(json.dumps(row))
    path.write_text("\n".join(rows) + "\n{\"epoch\": 6, \"lo")  # a line cut by a stop
    return path


def test_curves_with_and_without_test_values(tmp_path: Path) -> None:
    assert split_terms([{"epoch": 1, "loss": 1, "test_loss": 2, "recon": 3, "lr": 1}]) == {
        "loss": ("loss", "test_loss"), "recon": ("recon", None)}
    fig = curves_figure(_metrics(tmp_path, test=True))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["total loss", "recon", "kl"]
    assert [line.get_label() for line in fig.axes[0].lines] == ["train", "test"]
    assert len(fig.axes[0].lines[0].get_xdata()) == 5  # the cut line is skipped
    fig = curves_figure(_metrics(tmp_path, test=False))
    assert "no test values" in fig._suptitle.get_text()
    save(fig, tmp_path / "c.pdf")


def test_summary_handles_missing_metrics(tmp_path: Path) -> None:
    stat = {"mean": 1.0, "sd": 0.5}
    report = {"config": {"seeds": 2, "target": "pendulum-v1"},
              "models": {"causalvae": {"shd": stat, "mic": stat, "cf_pixel_mse": stat},
                         "betavae": {"mic": stat, "cf_pixel_mse": stat},
                         "pc": {"shd": stat}},
              "runs": [{"model": "causalvae", "shd": 1}, {"model": "causalvae", "shd": 2}]}
    fig = summary_figure(report)
    na = [sum(t.get_text() == "n/a" for t in ax.texts) for ax in fig.axes]
    assert na == [1, 1, 3, 1]  # SHD: betavae; MIC: pc; MCC: all three; CF: pc
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["causalvae", "betavae", "pc"]
    save(fig, tmp_path / "s.png")


def test_summary_of_one_seed_with_shd_zero() -> None:
    # it read "mean ± sd over 1 seeds", and an all-zero SHD panel had ticks 0.00 / 0.02 / 0.04
    zero, one = {"mean": 0.0, "sd": 0.0}, {"mean": 0.99, "sd": 0.0}
    report = {"config": {"seeds": 1, "target": "scenes/gate.toml"},
              "models": {"causalvae": {"shd": zero, "mic": one, "mcc": one, "cf_pixel_mse": one}},
              "runs": [{"model": "causalvae", "shd": 0, "mic": 0.99}]}
    fig = summary_figure(report)
    assert fig._suptitle.get_text() == "gate.toml: one seed"
    fig.canvas.draw()
    ticks = [float(t) for t in fig.axes[0].get_xticks() if 0 <= t <= fig.axes[0].get_xlim()[1]]
    assert ticks == [0.0, 1.0]
    report["config"]["seeds"] = 3
    assert "mean ± sd over 3 seeds" in summary_figure(report)._suptitle.get_text()


def test_summary_axes_leave_room_and_keep_short_ticks() -> None:
    # the counterfactual bar ended on the frame, its ticks read 0.0000 / 0.0005, and the SHD
    # panel's last tick label ran into the MIC panel's first
    stat = {"mean": 0.00142, "sd": 0.0}
    report = {"config": {"seeds": 1, "target": "weir.toml"},
              "models": {"causalvae": {"shd": {"mean": 3.0, "sd": 0.0},
                                       "mic": {"mean": 0.62, "sd": 0.0},
                                       "mcc": {"mean": 0.99, "sd": 0.0}, "cf_pixel_mse": stat}},
              "runs": [{"model": "causalvae", "shd": 3, "cf_pixel_mse": 0.00142}]}
    fig = summary_figure(report)
    fig.canvas.draw()
    shd, mic, mcc, cf = fig.axes
    assert "lower is better" in cf.get_title().replace("\n", " ")
    for ax, top in ((shd, 3.0), (cf, 0.00142)):
        assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > 1.05 * top
    for ax in (mic, mcc):  # the whole [0, 1] scale whatever the values, so panels compare
        assert list(ax.get_xticks()) == [0.0, 0.5, 1.0] and ax.get_xlim()[1] > 1.0
    labels = [t.get_text() for t in cf.get_xticklabels() if t.get_text()]
    assert labels and all(len(s) <= 6 for s in labels), labels
    assert all(float(t).is_integer() for t in shd.get_xticks())


def test_interventions_figure_labels_values_units_and_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((3, 3, 16, 16))
    rows = [ConceptRow("pendulum_angle", "degrees", "do", np.array([-10.0, 0.0, 10.0]), img,
                       img * 0.9, 0.0123),
            ConceptRow("shadow_cast_by_the_canopy_on_the_ground", "drawing units", "traverse",
                       np.array([1.0, 2.0, 3.0]), img, None)]
    fig = interventions_figure(InterventionGrid("m/seed0", "causalvae", 7, rows))
    texts = [t.get_text() for t in fig.texts]
    assert {"-10°", "0°", "10°"} <= set(texts)  # values with units above the columns
    assert any("shadow_cast_by_the_canopy_on_the_ground [drawing units]" in t for t in texts)
    assert any("held-out mean: 0.0123" in t for t in texts)
    assert any("this sample:" in t for t in texts) and any("no ground truth" in t for t in texts)
    assert len(fig.axes) == 3 + 3 + 3  # model and truth rows of the first, model row of the second
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = [t for t in fig.texts if t.get_text().startswith(("model:", "truth:"))]
    tiles = [ax.get_window_extent(r) for ax in fig.axes]
    for t in labels:  # row labels end before the first tile column
        assert t.get_window_extent(r).x1 < min(b.x0 for b in tiles)
    save(fig, tmp_path / "i.svg")
