"""Reliability diagrams and a gauge panel (matplotlib, an optional extra).

``pip install matplotlib`` (or ``pip install fastcal[plot]``).  matplotlib is
imported inside the functions, so ``import fastcal.plot`` works without it
and the first call says what to install.

- :func:`reliability_diagram` draws per-bin accuracy against confidence with
  per-bin Wilson or Jeffreys intervals, the diagonal, the gap and the
  confidence histogram beneath.  Pass a list of reports or curves to overlay
  them (for example before and after calibration).
- :func:`gauge_panel` draws every gauge of a report with a pass/fail verdict
  against thresholds.

Both return the matplotlib ``Axes`` they drew on; save with
``ax.figure.savefig(...)``.
"""

import math
import numbers

import numpy as np

from .metrics import gauges as _G
from .core import validation as V
from .uncertainty.intervals import METHODS, _check_level, bin_intervals
from .metrics.binned import ReliabilityCurve
from .metrics.report import CalibrationReport

__all__ = ["DEFAULT_THRESHOLDS", "GAUGES", "gauge_panel", "reliability_diagram"]

_HINT = "pip install matplotlib"

# Gauges in display order: (attribute, label, direction of "better").
GAUGES = tuple((g.name, g.label, g.op) for g in _G.pick(
    "ece", "mce", "rmsce", "brier", "nll", "auroc", "accuracy", "confidence"))
_GAUGE_NAMES = tuple(g[0] for g in GAUGES)

# Defaults of the practitioners' guide this project follows.
DEFAULT_THRESHOLDS = _G.default_thresholds()

_PASS = "#b7e4c7"
_FAIL = "#f4a6a6"
_NONE = "#eeeeee"


def _mpl():
    """Import matplotlib (with pyplot) or fail with the install hint."""
    try:
        import matplotlib
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"fastcal.plot needs matplotlib, which is not installed: {_HINT} "
            f"(or pip install fastcal[plot]). ({exc})"
        ) from None
    return matplotlib, plt


def _as_curve(item, name):
    """(curve, report or None) from a CalibrationReport or a ReliabilityCurve."""
    if isinstance(item, CalibrationReport):
        return item.reliability, item
    if isinstance(item, ReliabilityCurve):
        return item, None
    raise TypeError(
        f"{name} must be a fastcal.CalibrationReport or a fastcal.ReliabilityCurve (or a list of "
        f"them to overlay); found {type(item).__name__}."
    )


def _check_curve(curve, name):
    edges = np.asarray(curve.edges, dtype=np.float64)
    count = np.asarray(curve.count, dtype=np.float64)
    conf = np.asarray(curve.confidence, dtype=np.float64)
    acc = np.asarray(curve.accuracy, dtype=np.float64)
    k = count.shape[0] if count.ndim == 1 else -1
    if k < 1 or edges.shape != (k + 1,) or conf.shape != (k,) or acc.shape != (k,):
        raise ValueError(
            f"{name} is not a valid reliability curve: expected edges of length n_bins + 1 and "
            f"count, confidence, accuracy of length n_bins; found shapes {edges.shape}, "
            f"{count.shape}, {conf.shape}, {acc.shape}."
        )
    if not np.any(count > 0):
        raise ValueError(f"{name} has no non-empty bin; nothing to draw.")
    return edges, count, conf, acc


def _split(data):
    if isinstance(data, (CalibrationReport, ReliabilityCurve)):
        return [data], False
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError("data is an empty list; pass at least one report or curve.")
        return list(data), True
    return [data], False  # _as_curve raises the TypeError that names it


def reliability_diagram(data, *, ax=None, labels=None, label=None, intervals="wilson",
                        level=0.95, show_histogram=True, show_gap=True, style="auto",
                        colors=None, title=None):
    """Reliability diagram: per-bin accuracy against confidence.

    Draws, for every non-empty bin, the accuracy (bars, or markers at the
    bin's mean confidence) with its per-bin interval as error bars, the
    diagonal of perfect calibration, the gap between confidence and accuracy
    (shaded; above the bar means overconfident), and beneath it a small
    panel with the number of samples (or weight) per bin.  Empty bins are
    skipped.

    Parameters
    ----------
    data : CalibrationReport, ReliabilityCurve, or a list of them
        One result, or several to overlay on the same axes (for example
        ``[report_before, report_after]``).  Reports add their ECE to the
        legend.
    ax : matplotlib Axes, optional
        Axes to draw the diagram on; the histogram panel is appended below it
        (``show_histogram=True``).  By default a new figure is created.
    labels : list of str, optional
        One legend label per item of ``data`` (overlays).
    label : str, optional
        Legend label for a single item (same as ``labels=[label]``).
    intervals : {"wilson", "jeffreys"} or None, default="wilson"
        Per-bin interval on the accuracy (see
        :func:`fastcal.uncertainty.intervals.bin_intervals`); None draws no error bars.
    level : float, default=0.95
        Coverage of the intervals.
    show_histogram : bool, default=True
        Add the panel with the count (or weight) per bin beneath.
    show_gap : bool, default=True
        Shade the gap between mean confidence and accuracy in each bin.
    style : {"auto", "bars", "markers"}, default="auto"
        Bars (Guo et al. 2017) or markers joined by lines; ``"auto"`` uses
        bars for one item and markers for overlays.
    colors : list of colors, optional
        One matplotlib color per item (default: the property cycle).
    title : str, optional
        Axes title (default "Reliability diagram").

    Returns
    -------
    matplotlib.axes.Axes
        The diagram's axes.  The histogram panel, when drawn, is
        ``ax.fastcal_histogram``.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install matplotlib``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, fastcal
    >>> from fastcal.plot import reliability_diagram
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000); y = rng.random(2000) < p ** 2
    >>> ax = reliability_diagram(fastcal.calibration_report(y, p, n_bins=10))
    >>> ax.get_xlabel(), len(ax.containers) > 0
    ('confidence', True)
    """
    items, many = _split(data)
    n = len(items)
    if label is not None and labels is not None:
        raise ValueError("pass either label (one item) or labels (one per item), not both.")
    if label is not None:
        labels = [label]
    if labels is not None:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per item of data: found {len(labels)} labels "
                             f"for {n} item{'s' if n != 1 else ''}.")
    if colors is not None:
        colors = list(colors)
        if len(colors) != n:
            raise ValueError(f"colors must have one entry per item of data: found {len(colors)} colors "
                             f"for {n} item{'s' if n != 1 else ''}.")
    if intervals is not None:
        V.check_choice(intervals, "intervals", METHODS + (None,))
    level = _check_level(level)
    V.check_choice(style, "style", ("auto", "bars", "markers"))
    if style == "auto":
        style = "markers" if n > 1 else "bars"
    parsed = []
    for i, item in enumerate(items):
        name = f"data[{i}]" if many else "data"
        curve, report = _as_curve(item, name)
        parsed.append((curve, report) + _check_curve(curve, name))

    matplotlib, plt = _mpl()
    if ax is None:
        if show_histogram:
            fig, (ax, hax) = plt.subplots(2, 1, sharex=True, figsize=(5.5, 6.0),
                                          gridspec_kw={"height_ratios": (4, 1), "hspace": 0.08})
        else:
            fig, ax = plt.subplots(figsize=(5.5, 5.0))
            hax = None
    else:
        if not isinstance(ax, matplotlib.axes.Axes):
            raise TypeError(f"ax must be a matplotlib Axes; found {type(ax).__name__}.")
        hax = None
        if show_histogram:
            from mpl_toolkits.axes_grid1 import make_axes_locatable

            hax = make_axes_locatable(ax).append_axes("bottom", size="25%", pad=0.1, sharex=ax)
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2", "C3"])
    if colors is None:
        colors = [cycle[i % len(cycle)] for i in range(n)]

    ax.plot([0, 1], [0, 1], linestyle="--", color="0.45", linewidth=1, label="perfect calibration",
            zorder=1)
    weighted = False
    gap_labelled = False
    for i, (curve, report, edges, count, conf, acc) in enumerate(parsed):
        color = colors[i]
        nonempty = count > 0
        weighted |= np.asarray(curve.count).dtype.kind == "f"
        lab = labels[i] if labels is not None else (None if n == 1 else f"#{i + 1}")
        if report is not None:
            ece = f"ECE {report.ece:.3f}"
            lab = ece if lab is None else f"{lab} ({ece})"
        if lab is None:
            lab = "accuracy"
        left = edges[:-1][nonempty]
        width = np.diff(edges)[nonempty]
        centre = left + width / 2
        a = acc[nonempty]
        c = conf[nonempty]
        x = centre if style == "bars" else c
        if style == "bars":
            ax.bar(left, a, width=width, align="edge", color=color, alpha=0.75 if n == 1 else 0.45,
                   edgecolor="black", linewidth=0.6, label=lab, zorder=2)
        else:
            ax.plot(c, a, marker="o", markersize=4, color=color, linewidth=1.4, label=lab, zorder=3)
        if show_gap:
            glabel = None if gap_labelled else "gap (confidence - accuracy)"
            gap_labelled = True
            if style == "bars":
                ax.bar(left, c - a, bottom=a, width=width, align="edge", color="tab:red", alpha=0.25,
                       edgecolor="tab:red", linewidth=0.6, hatch="//", label=glabel, zorder=2)
            else:
                ax.vlines(c, np.minimum(a, c), np.maximum(a, c), colors=color, alpha=0.35,
                          linewidth=4, label=glabel, zorder=2)
        if intervals is not None:
            low, high = bin_intervals(curve, level=level, method=intervals)
            low, high = low[nonempty], high[nonempty]
            yerr = np.vstack([np.maximum(a - low, 0.0), np.maximum(high - a, 0.0)])
            ax.errorbar(x, a, yerr=yerr, fmt="none", ecolor="black" if style == "bars" else color,
                        elinewidth=1, capsize=2.5, zorder=4,
                        label=f"{intervals.capitalize()} {level:.0%} interval" if i == 0 else None)
        if hax is not None:
            if n == 1:
                hax.bar(left, count[nonempty], width=width, align="edge", color=color, alpha=0.75,
                        edgecolor="black", linewidth=0.6)
            else:
                hax.stairs(count, edges, color=color, linewidth=1.4)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram" if title is None else title)
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    if hax is not None:
        hax.set_xlim(0, 1)
        hax.set_ylabel("weight" if weighted else "count", fontsize="small")
        hax.set_xlabel("confidence")
        hax.tick_params(labelsize="small")
        ax.tick_params(labelbottom=False)
    # The diagram's own x label stays set (for callers that inspect it),
    # even when the histogram panel shows it below.
    ax.set_xlabel("confidence")
    if hax is not None:
        ax.xaxis.label.set_visible(False)
    ax.fastcal_histogram = hax
    return ax


def _parse_thresholds(thresholds):
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        thresholds = {}
    if not hasattr(thresholds, "items"):
        raise TypeError(f"thresholds must be a dict of gauge name -> threshold; found {type(thresholds).__name__}.")
    merged.update(thresholds)
    directions = {g[0]: g[2] for g in GAUGES}
    out = {}
    for key, value in merged.items():
        if key not in directions:
            opts = ", ".join(repr(g) for g in _GAUGE_NAMES)
            raise ValueError(f"thresholds: unknown gauge {key!r}; expected one of {opts}.")
        if value is None:
            continue  # drops a default
        if isinstance(value, tuple):
            if len(value) != 2 or value[0] not in ("<", ">"):
                raise ValueError(f"thresholds[{key!r}] must be a number or a tuple ('<' or '>', number); "
                                 f"found {value!r}.")
            op, value = value
        else:
            op = directions[key]
            if op is None:
                raise ValueError(f"thresholds[{key!r}]: {key} has no better direction; pass "
                                 f"('<', value) or ('>', value); found {value!r}.")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"thresholds[{key!r}] must be a finite number; found {value!r}.")
        out[key] = (op, float(value))
    return out


def gauge_panel(report, *, ax=None, thresholds=None):
    """A compact table of every gauge of a report, coloured pass/fail.

    Rows: ECE, MCE, RMSCE, Brier, NLL, AUROC, accuracy, confidence, each with
    its value, its threshold and a verdict.  A gauge passes when it is
    strictly on the good side of its threshold (green), fails otherwise
    (red); a gauge without a threshold, or whose value is NaN (AUROC with one
    class), is grey.

    Parameters
    ----------
    report : CalibrationReport
    ax : matplotlib Axes, optional
        Axes to draw on (its frame and ticks are turned off); by default a
        new figure is created.
    thresholds : dict, optional
        Gauge name -> threshold, merged over the defaults
        ``{"ece": 0.1, "mce": 0.25, "nll": 2.5, "auroc": 0.85}`` (ECE < 0.1,
        MCE < 0.25, NLL < 2.5, AUROC > 0.85).  A number uses the gauge's
        natural direction (lower is better, except AUROC and accuracy); a
        tuple ``("<", v)`` or ``(">", v)`` sets it; ``None`` removes a
        default.

    Returns
    -------
    matplotlib.axes.Axes
        With the table as ``ax.tables[0]``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import fastcal
    >>> from fastcal.plot import gauge_panel
    >>> r = fastcal.calibration_report([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7], n_bins=5)
    >>> ax = gauge_panel(r, thresholds={"brier": 0.05})
    >>> [row[3] for row in ax.fastcal_rows]
    ['fail', 'fail', '', 'fail', 'pass', 'pass', '', '']
    """
    if not isinstance(report, CalibrationReport):
        raise TypeError(f"report must be a fastcal.CalibrationReport (from fastcal.calibration_report); "
                        f"found {type(report).__name__}.")
    limits = _parse_thresholds(thresholds)
    rows, colours = [], []
    for key, name, _ in GAUGES:
        value = float(getattr(report, key))
        shown = _G.BY_NAME[key].format(value)
        if key in limits and not math.isnan(value):
            op, t = limits[key]
            ok = value < t if op == "<" else value > t
            verdict, colour = ("pass", _PASS) if ok else ("fail", _FAIL)
            limit = f"{op} {t:g}"
        elif key in limits:
            op, t = limits[key]
            verdict, colour, limit = "n/a", _NONE, f"{op} {t:g}"
        else:
            verdict, colour, limit = "", _NONE, ""
        rows.append((name, shown, limit, verdict))
        colours.append([_NONE, colour, _NONE, colour])

    matplotlib, plt = _mpl()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.0))
    elif not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes; found {type(ax).__name__}.")
    ax.set_axis_off()
    table = ax.table(cellText=[list(r) for r in rows], cellColours=colours,
                     colLabels=["gauge", "value", "threshold", "verdict"], loc="center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.25)
    side = "overconfident" if report.overconfident else "underconfident"
    ax.set_title(f"n = {report.n}, {side} (signed error {report.signed_error:+.3f})", fontsize="small")
    ax.fastcal_rows = rows
    return ax
