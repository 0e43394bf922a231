"""fastcal: fast, exact calibration metrics and post-hoc calibrators.

Importing fastcal compiles nothing: each kernel compiles on first use and is
cached on disk; :func:`warmup` compiles them all ahead of time.
"""

import sys as _sys

from .metrics.binned import ReliabilityCurve, calibration_error, ece, mce, reliability_curve, rmsce
from .metrics.scores import auroc, brier_score, nll
from .metrics.smooth import brier_decomposition, corp_decomposition, smooth_ece
from .metrics.report import CalibrationReport, calibration_report
from .uncertainty.delong import auroc_ci, auroc_variance, delong_test
from .uncertainty.selective import aurc, prediction_rejection_ratio, risk_coverage_curve
from .calibrators.temperature import TemperatureScaling
from .calibrators.isotonic import IsotonicRegression, isotonic_regression
from .calibrators.platt import PlattScaling, SeparableWarning
from .calibrators.histogram_binning import HistogramBinning
from .streaming.accumulator import CalibrationAccumulator
from .streaming.auroc_accumulator import AUROCAccumulator
from .streaming.drift import GaugeRecorder, WindowedAccumulator
from .comparison.compare import Comparison, compare
from .comparison.stream import CompareAccumulator
from .llm.multiple_choice import multiple_choice_report, parse_confidence
from .llm.lm_eval import lm_eval_report
from .llm.openai import openai_confidence, openai_report
from .llm.helm import helm_report, read_helm
from .core.errors import InputError, NotFittedError, UndefinedMetricWarning
from .core.warmup import warmup

# Pickles written before the modules moved into packages by concern name the
# flat modules (``fastcal._accumulator.CalibrationAccumulator``): those names
# stay importable, as the modules' new homes, so such pickles still load.
for _old, _new in (("_accumulator", "streaming.accumulator"),
                   ("_auroc_accumulator", "streaming.auroc_accumulator"),
                   ("_drift", "streaming.drift"), ("_bootstrap", "uncertainty.bootstrap"),
                   ("_compare", "comparison.compare"), ("_compare_stream", "comparison.stream"),
                   ("_report", "metrics.report"), ("_metrics", "metrics.binned"),
                   ("_temperature", "calibrators.temperature"),
                   ("_isotonic", "calibrators.isotonic"), ("_platt", "calibrators.platt"),
                   ("_histogram_binning", "calibrators.histogram_binning")):
    _sys.modules.setdefault(f"{__name__}.{_old}", _sys.modules[f"{__name__}.{_new}"])
del _old, _new

__version__ = "0.1.0.dev0"

_SUBMODULES = ("cli", "dask", "plot")


def __getattr__(name):
    # ``fastcal.plot`` / ``fastcal.dask`` after a plain ``import fastcal``,
    # without importing matplotlib or dask until they are used
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fastcal' has no attribute {name!r}")

__all__ = [
    "AUROCAccumulator",
    "CalibrationAccumulator",
    "CalibrationReport",
    "CompareAccumulator",
    "Comparison",
    "GaugeRecorder",
    "HistogramBinning",
    "InputError",
    "IsotonicRegression",
    "NotFittedError",
    "PlattScaling",
    "ReliabilityCurve",
    "SeparableWarning",
    "TemperatureScaling",
    "UndefinedMetricWarning",
    "WindowedAccumulator",
    "aurc",
    "auroc",
    "auroc_ci",
    "auroc_variance",
    "brier_decomposition",
    "brier_score",
    "calibration_error",
    "calibration_report",
    "compare",
    "corp_decomposition",
    "delong_test",
    "ece",
    "helm_report",
    "isotonic_regression",
    "lm_eval_report",
    "mce",
    "multiple_choice_report",
    "nll",
    "openai_confidence",
    "openai_report",
    "parse_confidence",
    "prediction_rejection_ratio",
    "read_helm",
    "reliability_curve",
    "risk_coverage_curve",
    "rmsce",
    "smooth_ece",
    "warmup",
]
