"""The gauge registry (fastcal/metrics/gauges.py) is the single source of the gauges:
every list of gauges elsewhere is a selection of it, and every gauge a
CalibrationReport has is in it."""

import math

import numpy as np
import pytest

import fastcal
import fastcal.uncertainty.bootstrap as bootstrap
import fastcal.comparison.compare as compare
import fastcal.cli.compare as compare_cli
import fastcal.streaming.drift as drift
import fastcal.metrics.report as report
import fastcal.cli.args as cli
import fastcal.plot as plot
from fastcal.metrics import gauges as G

OPS = {"lower": "<", "higher": ">", "zero": "|<|", None: None}
SIGNS = {"lower": -1, "higher": 1, "zero": 0, None: None}


def test_registry_records_are_complete_and_distinct():
    assert len(set(G.NAMES)) == len(G.NAMES) == len(G.GAUGES)
    assert set(G.BY_NAME) == set(G.NAMES)
    for g in G.GAUGES:
        assert isinstance(g.label, str) and g.label
        assert g.better in OPS
        assert g.threshold is None or (isinstance(g.threshold, float) and math.isfinite(g.threshold))
        assert g.threshold is None or g.better is not None  # a verdict needs a direction
        assert g.op == OPS[g.better] and g.sign == SIGNS[g.better]
        assert g.format(float("nan")) == "nan" and g.format(None) == "nan"
    assert G.COUNTS == ("n", "weight")
    assert G.MEASURES == tuple(n for n in G.NAMES if n not in G.COUNTS)


def test_every_report_gauge_is_in_the_registry():
    r = fastcal.calibration_report([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7], n_bins=5)
    d = r.to_dict()
    numbers = [k for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert tuple(numbers) == G.NAMES
    for name in numbers:
        g = G.BY_NAME[name]
        assert g.label and (g.better in OPS)
        assert hasattr(r, name)


def test_report_fields_are_the_registry():
    assert report._FIELDS == G.NAMES
    assert fastcal.CalibrationReport.__slots__[:len(G.NAMES)] == G.NAMES


def test_cli_lists_are_the_registry():
    assert cli.GAUGES == {g.name: (g.label, g.op) for g in G.GAUGES if not g.count}
    assert list(cli.GAUGES) == list(G.MEASURES)
    assert cli.DEFAULT_THRESHOLDS == {g.name: g.threshold for g in G.GAUGES
                                      if g.threshold is not None}


def test_plot_lists_are_a_selection_of_the_registry():
    for name, label, op in plot.GAUGES:
        assert (label, op) == (G.BY_NAME[name].label, G.BY_NAME[name].op)
    assert plot._GAUGE_NAMES == tuple(g[0] for g in plot.GAUGES)
    assert plot.DEFAULT_THRESHOLDS == G.default_thresholds()
    assert plot.DEFAULT_THRESHOLDS is not cli.DEFAULT_THRESHOLDS  # each caller's own dict
    # public names of fastcal.plot: same values and types as before the registry
    assert isinstance(plot.GAUGES, tuple) and all(isinstance(g, tuple) for g in plot.GAUGES)
    assert plot._GAUGE_NAMES == ("ece", "mce", "rmsce", "brier", "nll", "auroc", "accuracy",
                                 "confidence")
    assert type(plot.DEFAULT_THRESHOLDS) is dict
    assert list(plot.DEFAULT_THRESHOLDS.items()) == [("ece", 0.1), ("mce", 0.25), ("nll", 2.5),
                                                     ("auroc", 0.85)]


def test_drift_defaults_are_the_registry():
    assert drift._DEFAULT_GAUGES == G.MEASURES
    assert set(drift._KNOWN_GAUGES) == set(G.NAMES)


def test_bootstrap_and_compare_lists_are_selections_of_the_registry():
    assert set(bootstrap.METRICS) <= set(G.MEASURES)
    assert set(compare.GAUGES) == set(G.MEASURES)
    assert compare.GAUGES[:len(bootstrap.METRICS)] == bootstrap.METRICS
    assert compare._LABELS == {g: G.BY_NAME[g].label for g in compare.GAUGES}
    assert compare.DIRECTION == {g: G.BY_NAME[g].sign for g in compare.GAUGES}
    assert compare_cli.FAIL_GAUGES == tuple(g for g in compare.GAUGES
                                            if G.BY_NAME[g].better in ("lower", "higher"))


def test_pick_rejects_an_unknown_name():
    assert G.pick("ece", "n") == (G.BY_NAME["ece"], G.BY_NAME["n"])
    with pytest.raises(KeyError, match="unknown gauge 'eec'"):
        G.pick("eec")


def test_formats():
    assert G.BY_NAME["ece"].format(0.12345) == "0.1235"
    assert G.BY_NAME["signed_error"].format(0.12345) == "+0.1235"
    assert G.BY_NAME["n"].format(12345) == "12,345"
    assert G.BY_NAME["ece"].format(np.float64("nan")) == "nan"
