"""The report: files written, HTML self-contained, and rendered by a real headless Chromium."""

import base64
import re
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sweep.analysis import effects as effect_stats
from sweep.analysis import report
from sweep.analysis.design import Design
from tests.test_stats import BASELINE, FACTORS, frame, two_by_two

EPOCHS = 4
DESIGN = Design(FACTORS, BASELINE, rows="reg", cols="act", pages=["model.reg_at"])  # a table per placement


def histories(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch train/validation accuracy for every run, rising towards its final accuracy."""
    rows = [
        {
            **{k: r[k] for k in ["run_id", *FACTORS, "seed"]},
            "step": step,
            "accuracy": r["train_accuracy"] - 0.1 / step,
            "val_accuracy": r["test_accuracy"] - 0.1 / step - 0.01 * r["seed"],
        }
        for r in runs.to_dict("records")
        for step in range(1, EPOCHS + 1)
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def runs() -> pd.DataFrame:
    """Two placements of a 2 x 2 design with 3 seeds, plus input-level l1 at relu only (so input's design has a gap)."""
    cells = {**two_by_two("input", n=3), **two_by_two("hidden", n=3)}
    cells[("input", "l1", "relu")] = cells[("input", "none", "relu")]  # trains exactly like none
    return frame(cells)


def test_write_produces_every_file_and_closes_its_figures(runs, tmp_path):
    files = report.write(runs, histories(runs), tmp_path / "out", "Sweep test-1", DESIGN)
    names = sorted(f.name for f in files)
    assert names == sorted(
        [
            "report.html",
            "report.md",
            "cells.csv",
            "report_effects.csv",
            "report_anova.csv",
            "report_accuracy.png",
            "report_gap.png",
            "report_curves_model.reg_at_input.png",
            "report_curves_model.reg_at_hidden.png",
        ]
    )
    assert all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert plt.get_fignums() == []
    cells = pd.read_csv(tmp_path / "out" / "cells.csv")
    assert len(cells) == 9 and set(cells["vs_best"]) <= {"best", "indistinguishable", "worse"}
    assert cells.loc[0, "mean"] == pytest.approx(0.92) and cells.loc[0, "reg"] == "dropout"
    effects = pd.read_csv(tmp_path / "out" / "report_effects.csv")
    assert row_verdict(effects, "input", "l1") == effect_stats.NO_EFFECT
    assert row_verdict(effects, "hidden", "dropout") == "raises test accuracy"
    terms = pd.read_csv(tmp_path / "out" / "report_anova.csv")["term"].tolist()
    # l1 ran at input and relu only: interactions of reg with the others are not estimable, placement x act is
    assert terms == ["model.reg_at", "reg", "act", "model.reg_at x act", "residual"]
    assert "2 pair(s) lack some" in (tmp_path / "out" / "report.md").read_text()


def row_verdict(effects: pd.DataFrame, reg_at: str, reg: str) -> str:
    mine = effects[(effects["factor"] == "reg") & (effects["model.reg_at"] == reg_at) & (effects["reg"] == reg)]
    return mine[mine["act"] == "relu"].iloc[0]["verdict"]


def test_markdown_holds_every_section_and_links_its_images(runs, tmp_path):
    report.write(runs, histories(runs), tmp_path, "Sweep test-2", DESIGN)
    md = (tmp_path / "report.md").read_text()
    for heading in (
        "# Sweep test-2",
        "## Mean test accuracy",
        "## Cells ranked",
        "## Effect of each factor",
        "## Analysis of variance",
        "## Generalization gap",
        "## Learning curves",
        "no measurable effect",
        "indistinguishable",
        "| model.reg_at x act",
    ):
        assert heading in md
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (tmp_path / image).is_file()


def test_html_is_self_contained(runs, tmp_path):
    report.write(runs, histories(runs), tmp_path, "Sweep <test> & 3", DESIGN)
    page = (tmp_path / "report.html").read_text()
    assert "<h1>Sweep &lt;test&gt; &amp; 3</h1>" in page
    assert not re.search(r"https?://|<link|<script|@import|url\(|href=", page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    for source in sources:
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_single_runs_give_a_report_that_makes_no_claim(tmp_path):
    runs = frame({("input", "none", "relu"): [0.9], ("input", "l1", "relu"): [0.9], ("input", "none", "tanh"): [0.8]})
    files = report.write(runs, None, tmp_path, "Sweep single", DESIGN)
    assert "report_anova.csv" not in {f.name for f in files}
    md = (tmp_path / "report.md").read_text()
    assert "no claim can be made" in md and "No per-epoch histories" in md
    assert md.count("no claim can be made") == 1  # one line, no tables of dashes
    assert "—" not in md and "## Effect of each factor" not in md and "## Analysis of variance" not in md
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert cells["p_value"].isna().all() and cells["p_holm"].isna().all()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_html_renders_in_headless_chromium(runs, tmp_path):
    report.write(runs, histories(runs), tmp_path, "Sweep chromium", DESIGN)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1400,3000",
            (tmp_path / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (3000, 1400, 3)
    # tables and text are grey on white; only the decoded heatmaps and curves put saturated colour on the page
    saturated = (pixels.max(axis=2) - pixels.min(axis=2)) > 80
    assert saturated.sum() > 20_000
    assert saturated[:700].any()  # the accuracy heatmap sits right under the title


def test_no_finished_runs_give_a_report_that_says_so(tmp_path):
    files = report.write(frame({}), None, tmp_path, "Empty sweep", DESIGN)
    assert {f.name for f in files} == {"report.html", "report.md", "cells.csv", "report_effects.csv"}
    assert "No finished runs" in (tmp_path / "report.md").read_text()
