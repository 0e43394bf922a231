"""The command line's text and JSON: verdicts against thresholds, the report
table, the before/after table, the reliability table.
"""

import math

from ..metrics import gauges as _G
from ..metrics.report import map_floats
from .args import GAUGES


# ----------------------------------------------------------------- verdicts
def verdicts(report, thresholds):
    """``{gauge: {"value", "op", "threshold", "pass"}}`` for every gauge with a threshold.

    ``pass`` is None when the gauge is undefined (NaN): an undefined gauge
    neither passes nor fails, except under ``--fail-on`` where it fails.
    """
    out = {}
    for g, t in thresholds.items():
        op = GAUGES[g][1]
        v = float(getattr(report, g))
        if math.isnan(v):
            ok = None
        elif op == "<":
            ok = v < t
        elif op == ">":
            ok = v > t
        else:
            ok = abs(v) < t
        out[g] = {"value": v, "op": op, "threshold": t, "pass": ok}
    return out


def _interval(report, gauge):
    """(lo, hi) when the report carries an interval for ``gauge``, else None."""
    iv = getattr(report, "intervals", None)
    if isinstance(iv, dict) and gauge in iv:
        lo, hi = iv[gauge]
        return float(lo), float(hi)
    if gauge == "auroc":
        b = getattr(report, "auroc_bounds", None)
        if b is not None:
            lo, hi = float(b[0]), float(b[1])
            if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
                return lo, hi
    return None


def _fmt(v, signed=False):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _verdict_text(vd):
    if vd is None:
        return "-"
    if vd["pass"] is None:
        return "n/a"
    return "pass" if vd["pass"] else "FAIL"


def _threshold_text(vd):
    if vd is None:
        return "-"
    op = "|x| <" if vd["op"] == "|<|" else vd["op"]
    return f"{op} {vd['threshold']:g}"


def _confidence_sentence(r):
    s = r.signed_error
    if math.isnan(s):
        return "Over/under-confidence: undefined."
    if s == 0:
        return f"Neither over- nor under-confident: mean confidence equals accuracy ({r.accuracy:.4f})."
    word, rel = ("overconfident", ">") if s > 0 else ("underconfident", "<")
    if abs(s) < 0.01:
        return (f"Calibrated on average (|signed error| < 0.01), slightly {word}: mean confidence "
                f"{r.confidence:.4f} {rel} accuracy {r.accuracy:.4f} (signed error {s:+.4f}).")
    return (f"The model is {word.upper()}: mean confidence {r.confidence:.4f} {rel} accuracy "
            f"{r.accuracy:.4f} (signed calibration error {s:+.4f}).")


def format_report(report, thresholds, title=None):
    """The gauge table, verdicts and the over/under-confidence line, as text."""
    vds = verdicts(report, thresholds)
    c = report.convention
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{report.n:,} predictions; {c['target']}; {c['n_bins']} {c['strategy']} "
                 f"{c['closed']}-closed bins")
    lines.append("")
    lines.append(f"  {'gauge':<14}{'value':>9}  {'interval':<20}{'threshold':<12}verdict")
    for g, (label, _) in GAUGES.items():
        v = float(getattr(report, g))
        iv = _interval(report, g)
        ivs = f"[{iv[0]:.4f}, {iv[1]:.4f}]" if iv else "-"
        vd = vds.get(g)
        lines.append(f"  {label:<14}{_G.BY_NAME[g].format(v):>9}  {ivs:<20}"
                     f"{_threshold_text(vd):<12}{_verdict_text(vd)}")
    lines.append("")
    lines.append(_confidence_sentence(report))
    return "\n".join(lines)


def format_comparison(before, after, thresholds, note=None):
    """Before/after gauge table of a calibrator."""
    vb, va = verdicts(before, thresholds), verdicts(after, thresholds)
    lines = [f"  {'gauge':<14}{'before':>9}{'after':>9}  {'threshold':<12}{'before':<8}after"]
    for g, (label, _) in GAUGES.items():
        fmt = _G.BY_NAME[g].format
        lines.append(f"  {label:<14}{fmt(float(getattr(before, g))):>9}"
                     f"{fmt(float(getattr(after, g))):>9}  {_threshold_text(vb.get(g)):<12}"
                     f"{_verdict_text(vb.get(g)):<8}{_verdict_text(va.get(g))}")
    lines.append("")
    lines.append("before: " + _confidence_sentence(before))
    lines.append("after:  " + _confidence_sentence(after))
    if note:
        lines.append(note)
    return "\n".join(lines)


def format_bins(report):
    """The reliability table: every bin's count, mean confidence, accuracy and gap."""
    c = report.reliability
    closed = report.convention.get("closed", "right")
    lines = [f"  {'bin':<16}{'count':>10}  {'confidence':>10}  {'accuracy':>9}  {'gap':>8}"]
    for i in range(len(c.count)):
        lo, hi = c.edges[i], c.edges[i + 1]
        b = f"({lo:.3f}, {hi:.3f}]" if closed == "right" else f"[{lo:.3f}, {hi:.3f})"
        cnt = c.count[i]
        cnt_s = f"{cnt:,.0f}" if float(cnt).is_integer() else f"{cnt:,.2f}"
        if cnt == 0:
            lines.append(f"  {b:<16}{cnt_s:>10}  {'-':>10}  {'-':>9}")
            continue
        gap = c.confidence[i] - c.accuracy[i]
        lines.append(f"  {b:<16}{cnt_s:>10}  {c.confidence[i]:>10.4f}  {c.accuracy[i]:>9.4f}  "
                     f"{gap:>+8.4f} {'#' * min(40, int(round(abs(gap) * 100)))}")
    return "\n".join(lines)


def _jsonable(x):
    """``x`` with float NaN/inf replaced by None (strict JSON)."""
    return map_floats(x, lambda v: v if math.isfinite(v) else None)


def _report_json(report, thresholds):
    d = report.to_dict()
    d["overconfident"] = bool(report.signed_error > 0)
    d["verdicts"] = verdicts(report, thresholds)
    return d
