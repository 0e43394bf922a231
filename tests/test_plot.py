"""fastcal.plot: render PNGs headless (Agg) and check what was drawn."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402

import fastcal  # noqa: E402
from fastcal import plot as fplot  # noqa: E402
from fastcal.uncertainty.intervals import bin_intervals  # noqa: E402
from fastcal.plot import gauge_panel, reliability_diagram  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    p = rng.random(3000)
    y = rng.random(3000) < p**2  # overconfident
    return y, p


@pytest.fixture(scope="module")
def report(data):
    y, p = data
    return fastcal.calibration_report(y, p, n_bins=10)


def assert_not_blank(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    rgb = img[..., :3].reshape(-1, 3)
    colours = np.unique(np.round(rgb * 255).astype(np.uint8), axis=0)
    assert len(colours) > 50  # bars, hatching, text, anti-aliasing
    non_white = np.mean(np.any(rgb < 0.95, axis=1))
    assert non_white > 0.05


def errorbars(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def bar_spans(container):
    """(x, y_low, y_high) of each vertical error bar segment."""
    segs = container.lines[2][0].get_segments()
    return np.array([(s[0][0], s[0][1], s[1][1]) for s in segs])


def test_single_report_renders(report, tmp_path):
    ax = reliability_diagram(report)
    out = tmp_path / "diagram.png"
    ax.figure.savefig(out, dpi=60)
    assert_not_blank(out)
    curve = report.reliability
    nonempty = curve.count > 0
    # error bars: one per non-empty bin, spanning the Wilson interval
    (eb,) = errorbars(ax)
    spans = bar_spans(eb)
    lo, hi = bin_intervals(curve)
    np.testing.assert_allclose(spans[:, 1], lo[nonempty], rtol=1e-12)
    np.testing.assert_allclose(spans[:, 2], hi[nonempty], rtol=1e-12)
    # accuracy bars and gap bars (confidence - accuracy)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    np.testing.assert_allclose([r.get_height() for r in bars[0]], curve.accuracy[nonempty])
    np.testing.assert_allclose([r.get_height() for r in bars[1]],
                               (curve.confidence - curve.accuracy)[nonempty])
    # diagonal, labels, legend with ECE
    assert any(np.allclose(line.get_xydata(), [[0, 0], [1, 1]]) for line in ax.get_lines())
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"ECE {report.ece:.3f}" in texts
    assert "Wilson 95% interval" in texts
    assert ax.get_title() == "Reliability diagram"
    # histogram panel beneath: counts per bin
    hax = ax.fastcal_histogram
    assert hax is not None and hax.figure is ax.figure
    hbars = [c for c in hax.containers if isinstance(c, BarContainer)][0]
    np.testing.assert_array_equal([r.get_height() for r in hbars], curve.count[nonempty])
    assert hax.get_ylabel() == "count" and hax.get_xlabel() == "confidence"


def test_curve_with_empty_bins_jeffreys(tmp_path):
    y = [0, 1, 1, 1, 0, 1]
    p = [0.05, 0.1, 0.62, 0.65, 0.91, 0.97]
    curve = fastcal.reliability_curve(y, p, n_bins=10)
    nonempty = curve.count > 0
    assert nonempty.sum() == 3
    ax = reliability_diagram(curve, intervals="jeffreys", level=0.9, label="model", show_gap=False)
    (eb,) = errorbars(ax)
    spans = bar_spans(eb)
    assert len(spans) == 3  # empty bins skipped
    lo, hi = bin_intervals(curve, level=0.9, method="jeffreys")
    np.testing.assert_allclose(spans[:, 1], lo[nonempty], rtol=1e-12)
    np.testing.assert_allclose(spans[:, 2], hi[nonempty], rtol=1e-12)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "model" in texts and "Jeffreys 90% interval" in texts
    assert not any("ECE" in t for t in texts)  # a curve has no ECE
    out = tmp_path / "curve.png"
    ax.figure.savefig(out, dpi=60)
    assert_not_blank(out)


def test_overlay_before_after(data, report, tmp_path):
    y, p = data
    iso = fastcal.IsotonicRegression(out_of_bounds="clip").fit(p, y)
    after = fastcal.calibration_report(y, iso.predict(p), n_bins=10)
    ax = reliability_diagram([report, after], labels=["before", "after"])
    assert len(errorbars(ax)) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"before (ECE {report.ece:.3f})" in texts
    assert f"after (ECE {after.ece:.3f})" in texts
    # markers at each bin's mean confidence
    before_line = [ln for ln in ax.get_lines() if ln.get_label().startswith("before")][0]
    nonempty = report.reliability.count > 0
    np.testing.assert_allclose(before_line.get_xdata(), report.reliability.confidence[nonempty])
    assert len(ax.fastcal_histogram.patches) == 2  # one step outline per item
    out = tmp_path / "overlay.png"
    ax.figure.savefig(out, dpi=60)
    assert_not_blank(out)


def test_given_axes_no_intervals_weighted(data):
    y, p = data
    w = np.linspace(0.5, 2.0, len(p))
    curve = fastcal.reliability_curve(y, p, n_bins=8, sample_weight=w)
    fig, ax = plt.subplots()
    out = reliability_diagram(curve, ax=ax, intervals=None, style="markers", title="weighted")
    assert out is ax
    assert errorbars(ax) == []
    assert ax.get_title() == "weighted"
    assert len(fig.axes) == 2 and ax.fastcal_histogram.get_ylabel() == "weight"
    fig2, ax2 = plt.subplots()
    reliability_diagram(curve, ax=ax2, show_histogram=False)
    assert len(fig2.axes) == 1 and ax2.fastcal_histogram is None


def test_gauge_panel(report, tmp_path):
    ax = gauge_panel(report)
    out = tmp_path / "gauges.png"
    ax.figure.savefig(out, dpi=80)
    assert_not_blank(out)
    rows = {r[0]: r for r in ax.fastcal_rows}
    assert list(rows) == ["ECE", "MCE", "RMSCE", "Brier", "NLL", "AUROC", "accuracy", "confidence"]
    assert rows["ECE"] == ("ECE", f"{report.ece:.4f}", "< 0.1", "pass" if report.ece < 0.1 else "fail")
    assert rows["AUROC"][2] == "> 0.85"
    assert rows["RMSCE"][2:] == ("", "")
    cells = ax.tables[0].get_celld()
    ece_colour = cells[(1, 3)].get_facecolor()
    expected = fplot._PASS if report.ece < 0.1 else fplot._FAIL
    assert matplotlib.colors.to_hex(ece_colour) == expected
    # custom thresholds: override, add, drop a default, explicit direction
    ax = gauge_panel(report, thresholds={"ece": 0.5, "brier": 0.01, "nll": None,
                                         "confidence": ("<", 0.9)})
    rows = {r[0]: r for r in ax.fastcal_rows}
    assert rows["ECE"][2:] == ("< 0.5", "pass")
    assert rows["Brier"][2:] == ("< 0.01", "fail")
    assert rows["NLL"][2:] == ("", "")
    assert rows["confidence"][2:] == ("< 0.9", "pass")


def test_gauge_panel_nan_auroc():
    with pytest.warns(fastcal.UndefinedMetricWarning):
        r = fastcal.calibration_report([1, 1, 1], [0.6, 0.7, 0.9], n_bins=5)
    rows = {row[0]: row for row in gauge_panel(r).fastcal_rows}
    assert rows["AUROC"][1:] == ("nan", "> 0.85", "n/a")


# ------------------------------------------------------------------ bad input
def test_bad_input_messages(report):
    curve = report.reliability
    with pytest.raises(TypeError, match="data must be a fastcal.CalibrationReport or a fastcal.ReliabilityCurve.*found ndarray"):
        reliability_diagram(np.zeros(3))
    with pytest.raises(TypeError, match=r"data\[1\] must be a fastcal.CalibrationReport.*found dict"):
        reliability_diagram([report, {}])
    with pytest.raises(ValueError, match="data is an empty list"):
        reliability_diagram([])
    with pytest.raises(ValueError, match="labels must have one entry per item of data: found 1 labels for 2 items"):
        reliability_diagram([report, curve], labels=["only one"])
    with pytest.raises(ValueError, match="pass either label"):
        reliability_diagram(report, label="a", labels=["a"])
    with pytest.raises(ValueError, match="colors must have one entry per item"):
        reliability_diagram(report, colors=["red", "blue"])
    with pytest.raises(ValueError, match="intervals must be one of 'wilson', 'jeffreys', None; found 'wald'"):
        reliability_diagram(report, intervals="wald")
    with pytest.raises(ValueError, match="style must be one of 'auto', 'bars', 'markers'; found 'pie'"):
        reliability_diagram(report, style="pie")
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        reliability_diagram(report, level=95)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes; found str"):
        reliability_diagram(report, ax="axes")
    empty = curve._replace(count=np.zeros_like(curve.count),
                           accuracy=np.full(curve.accuracy.shape, np.nan))
    with pytest.raises(ValueError, match="data has no non-empty bin"):
        reliability_diagram(empty)
    with pytest.raises(ValueError, match="data is not a valid reliability curve"):
        reliability_diagram(curve._replace(edges=curve.edges[:-1]))
    with pytest.raises(TypeError, match="report must be a fastcal.CalibrationReport.*found ReliabilityCurve"):
        gauge_panel(curve)
    with pytest.raises(ValueError, match="thresholds: unknown gauge 'ecee'; expected one of 'ece'"):
        gauge_panel(report, thresholds={"ecee": 0.1})
    with pytest.raises(ValueError, match=r"thresholds\['confidence'\]: confidence has no better direction"):
        gauge_panel(report, thresholds={"confidence": 0.5})
    with pytest.raises(ValueError, match=r"thresholds\['ece'\] must be a finite number; found nan"):
        gauge_panel(report, thresholds={"ece": float("nan")})
    with pytest.raises(ValueError, match=r"thresholds\['ece'\] must be a number or a tuple"):
        gauge_panel(report, thresholds={"ece": ("<=", 0.1)})
    with pytest.raises(TypeError, match="thresholds must be a dict"):
        gauge_panel(report, thresholds=[0.1])


def test_missing_matplotlib_says_what_to_install(report, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        reliability_diagram(report)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        gauge_panel(report)
