"""The gauges of a calibration report: one record per gauge, the single place
that says which gauges exist and what is known about each.

Every other list of gauges (the report's fields, the command line's tables
and thresholds, the plot's panel, the bootstrap's columns, the comparison's
table, the drift recorder's defaults) is a selection of :data:`GAUGES`: a
filter on these records, or the records of some names in that place's own
order (:func:`pick`), never a re-spelled list of labels, directions or
thresholds.

Pure Python: no numpy, no kernels, so any layer may import it.
"""

import math
from typing import NamedTuple, Optional

# Direction of "better" -> comparison of a pass/fail verdict ("<" passes below
# the threshold, ">" above it, "|<|" when the absolute value is below it) and
# the sign of an improvement (-1 lower, +1 higher, 0 closer to 0).
_OPS = {"lower": "<", "higher": ">", "zero": "|<|", None: None}
_SIGNS = {"lower": -1, "higher": 1, "zero": 0, None: None}


class Gauge(NamedTuple):
    """One gauge of :class:`fastcal.CalibrationReport`."""

    #: attribute of CalibrationReport
    name: str
    #: label in tables and plots, e.g. "ECE", "signed error"
    label: str
    #: which way is better: "lower", "higher", "zero" (closer to 0) or None
    better: Optional[str]
    #: default pass/fail threshold of a verdict (a practitioners' guide's
    #: rules of thumb), or None
    threshold: Optional[float]
    #: format spec of a value in tables
    spec: str
    #: a size of the data (n, weight) rather than a gauge of calibration
    count: bool = False

    @property
    def op(self):
        """Verdict comparison: "<", ">", "|<|" or None."""
        return _OPS[self.better]

    @property
    def sign(self):
        """Sign of "better": -1 lower, +1 higher, 0 closer to 0, None none."""
        return _SIGNS[self.better]

    def format(self, value):
        """``value`` as shown in tables ("nan" for None or NaN)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "nan"
        return format(value, self.spec)


#: Every gauge, in the order of CalibrationReport's fields.
GAUGES = (
    Gauge("n", "n", None, None, ",", count=True),
    Gauge("weight", "weight", None, None, "g", count=True),
    Gauge("accuracy", "accuracy", "higher", None, ".4f"),
    Gauge("confidence", "confidence", None, None, ".4f"),
    Gauge("ece", "ECE", "lower", 0.1, ".4f"),
    Gauge("mce", "MCE", "lower", 0.25, ".4f"),
    Gauge("rmsce", "RMSCE", "lower", None, ".4f"),
    Gauge("signed_error", "signed error", "zero", None, "+.4f"),
    Gauge("brier", "Brier", "lower", None, ".4f"),
    Gauge("nll", "NLL", "lower", 2.5, ".4f"),
    Gauge("auroc", "AUROC", "higher", 0.85, ".4f"),
)
BY_NAME = {g.name: g for g in GAUGES}
#: Every name, in field order.
NAMES = tuple(g.name for g in GAUGES)
#: The sizes (n, weight).
COUNTS = tuple(g.name for g in GAUGES if g.count)
#: The gauges proper (every name but the sizes), in field order.
MEASURES = tuple(g.name for g in GAUGES if not g.count)


def pick(*names):
    """The records of ``names``, in that order (a use site's own selection and
    display order); an unknown name is an error."""
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown gauge {unknown[0]!r}; the gauges are {', '.join(NAMES)}.")
    return tuple(BY_NAME[n] for n in names)


def default_thresholds():
    """A new ``{gauge: threshold}`` dict of the default verdict thresholds, in
    field order."""
    return {g.name: g.threshold for g in GAUGES if g.threshold is not None}
