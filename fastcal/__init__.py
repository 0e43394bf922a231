"""fastcal: fast, exact calibration metrics and post-hoc calibrators.

Importing fastcal compiles nothing: each kernel compiles on first use and is
cached on disk; :func:`warmup` compiles them all ahead of time.
"""

from ._metrics import (
    ReliabilityCurve,
    auroc,
    brier_score,
    calibration_error,
    ece,
    mce,
    nll,
    reliability_curve,
    rmsce,
)
from ._accumulator import CalibrationAccumulator
from ._auroc_accumulator import AUROCAccumulator
from ._drift import GaugeRecorder, WindowedAccumulator
from ._llm import multiple_choice_report, parse_confidence
from ._lm_eval import lm_eval_report
from ._openai import openai_confidence, openai_report
from ._delong import auroc_ci, auroc_variance, delong_test
from ._estimators import brier_decomposition, corp_decomposition, smooth_ece
from ._histogram_binning import HistogramBinning
from ._platt import PlattScaling, SeparableWarning
from ._isotonic import IsotonicRegression, isotonic_regression
from ._selective import aurc, prediction_rejection_ratio, risk_coverage_curve
from ._report import CalibrationReport, calibration_report
from ._helm import helm_report, read_helm
from ._compare import Comparison, compare
from ._compare_stream import CompareAccumulator
from ._temperature import TemperatureScaling
from ._validation import InputError, NotFittedError, UndefinedMetricWarning
from ._warmup import warmup

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
