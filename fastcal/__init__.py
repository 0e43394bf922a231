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
from ._isotonic import IsotonicRegression, isotonic_regression
from ._report import CalibrationReport, calibration_report
from ._temperature import TemperatureScaling
from ._validation import NotFittedError, UndefinedMetricWarning
from ._warmup import warmup

__version__ = "0.1.0.dev0"

__all__ = [
    "AUROCAccumulator",
    "CalibrationAccumulator",
    "CalibrationReport",
    "GaugeRecorder",
    "IsotonicRegression",
    "NotFittedError",
    "ReliabilityCurve",
    "TemperatureScaling",
    "UndefinedMetricWarning",
    "WindowedAccumulator",
    "auroc",
    "brier_score",
    "calibration_error",
    "calibration_report",
    "ece",
    "isotonic_regression",
    "mce",
    "nll",
    "reliability_curve",
    "rmsce",
    "warmup",
]
