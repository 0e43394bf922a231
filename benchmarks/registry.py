"""The one registry of benchmarked implementations (numbagg's ``COMPARISONS``).

``COMPARISONS`` maps each benchmark case to its implementations: fastcal, a
plain numpy reference, and the peers (scikit-learn, scipy, torchmetrics on CPU
torch, netcal) where they are installed.  ``benchmarks/test_bench.py``
(pytest-benchmark) and ``benchmarks/run.py`` (which writes ``RESULTS.md``) are
both parametrised over it, so every timed peer is also checked for agreement
with fastcal.

Each implementation is an :class:`Impl`.  ``impl.setup(data)`` does everything
that should not be timed (importing the peer, wrapping arrays as torch tensors,
building the metric object) and returns a zero-argument callable that computes
the metric and returns a float; ``impl(data)`` does both.  Peers are imported
lazily, inside ``setup``; an implementation whose modules are not installed is
reported as missing and skipped (:meth:`Impl.available`).

Agreement: each implementation's value is compared with fastcal *under the
same convention* (``Impl.ref_kwargs``, e.g. ``right=False`` for the
left-closed bins of numpy.histogram / scipy / netcal / torchmetrics) within an
absolute tolerance ``Impl.tol``; ``Impl.note`` says where a peer's convention
differs from fastcal's and why the tolerance is what it is.

Data are deterministic (``np.random.default_rng(seed)``) and realistic: binary
confidences from a Beta(2.5, 1.2) model (most mass at high confidence, like a
classifier's or an LLM's stated confidence), labels Bernoulli(p ** 1.3), i.e.
a mildly overconfident model; multiclass probabilities are a softmax of
Gaussian logits at temperature 1/1.3 (overconfident), labels drawn from the
softmax at temperature 1 by the Gumbel-max trick.  Labels are int64 (what
numpy and pandas hand most users), probabilities float64 for the binary cases
and float32 for the (n, 100) top-label case (what a network emits; 1e6 x 100
float32 is 400 MB).
"""

from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

N_BINS = 15
SIZES = (1_000, 1_000_000, 10_000_000)
SEED = 20240601

# ---------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Data:
    """One input for every implementation of a case."""

    y: np.ndarray  # int64 labels: 0/1 (binary) or class index
    p: np.ndarray  # (n,) probability of class 1, or (n, C) class probabilities

    @property
    def n(self):
        return self.p.shape[0]

    def describe(self):
        shape = "x".join(str(s) for s in self.p.shape)
        return f"y {self.y.dtype} ({self.n}), p {self.p.dtype} ({shape})"


def binary_data(n, seed=SEED):
    """Binary confidences from Beta(2.5, 1.2), labels Bernoulli(p ** 1.3) (overconfident)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2.5, 1.2, size=n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    return Data(y=y, p=p)


def toplabel_data(n, n_classes=100, seed=SEED, dtype=np.float32, chunk=100_000):
    """(n, C) softmax probabilities of an overconfident model, labels from the true softmax.

    Logits are N(0, 1) with the row's "signal" class raised by N(3, 1.5);
    the model reports softmax(1.3 * z) (too sharp), the label is drawn from
    softmax(z) with the Gumbel-max trick.  Built in chunks so that the
    transient memory stays small.
    """
    rng = np.random.default_rng(seed)
    P = np.empty((n, n_classes), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        m = hi - lo
        z = rng.standard_normal((m, n_classes))
        sig = rng.integers(0, n_classes, m)
        z[np.arange(m), sig] += rng.normal(3.0, 1.5, m)
        y[lo:hi] = np.argmax(z + rng.gumbel(size=(m, n_classes)), axis=1)
        s = 1.3 * z
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        P[lo:hi] = s
    return Data(y=y, p=P)


def tied_scores_data(n, seed=SEED, decimals=3):
    """Binary data whose scores have ties: Beta(2.5, 1.2) confidences rounded to
    ``decimals`` decimals (at most 10**decimals + 1 distinct values, like a
    model that states its confidence in steps), labels Bernoulli(p ** 1.3)."""
    d = binary_data(n, seed)
    return Data(y=d.y, p=np.round(d.p, decimals))


def logit_data(n, n_classes, seed=SEED, dtype=np.float32, chunk=100_000):
    """(n, C) logits of an overconfident model, labels from the true softmax.

    Logits z are N(0, 1) with the row's "signal" class raised by N(3, 1.5);
    the model reports 1.6 * z (too sharp: the fitted temperature is about
    1.6), the label is drawn from softmax(z) by the Gumbel-max trick.
    Built in chunks so that the transient memory stays small.
    """
    rng = np.random.default_rng(seed)
    Z = np.empty((n, n_classes), dtype=dtype)
    y = np.empty(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        m = hi - lo
        z = rng.standard_normal((m, n_classes))
        sig = rng.integers(0, n_classes, m)
        z[np.arange(m), sig] += rng.normal(3.0, 1.5, m)
        y[lo:hi] = np.argmax(z + rng.gumbel(size=(m, n_classes)), axis=1)
        Z[lo:hi] = 1.6 * z
    return Data(y=y, p=Z)


@functools.lru_cache(maxsize=8)
def cached_data(kind, n, seed=SEED):
    """Data by kind ("binary" / "toplabel" / "tied" / "logits10" / "logits1000"),
    cached so a session builds each once."""
    if kind == "binary":
        return binary_data(n, seed)
    if kind == "toplabel":
        return toplabel_data(n, seed=seed)
    if kind == "tied":
        return tied_scores_data(n, seed)
    if kind.startswith("logits"):
        return logit_data(n, int(kind[len("logits"):]), seed=seed)
    raise KeyError(kind)


# ---------------------------------------------------------------------------
# registry types


@dataclass
class Impl:
    """One implementation of a case.

    setup : data -> (() -> float)
        Untimed preparation (imports, tensors, metric objects); returns the
        timed zero-argument call.
    requires : modules that must be importable (else the implementation is skipped).
    tol : absolute tolerance of the agreement check against fastcal.
    ref_kwargs : keyword arguments of the fastcal reference call with the
        same convention as this implementation (e.g. ``{"right": False}``).
    value : optional data -> float used for the agreement check instead of
        the timed call (when the timed call does not return the metric, e.g.
        torchmetrics ``Metric.update``).
    baseline : not an implementation of the metric (e.g. ``np.sort`` of the
        scores): timed for comparison, no agreement check.
    """

    setup: Callable
    requires: tuple = ()
    tol: float = 1e-12
    note: str = ""
    ref_kwargs: dict = field(default_factory=dict)
    value: Callable | None = None
    baseline: bool = False

    def available(self):
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def missing(self):
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def __call__(self, data):
        return self.setup(data)()


@dataclass
class Case:
    """A benchmark case: a metric, its data, sizes and implementations."""

    title: str
    kind: str  # data kind for cached_data
    reference: Callable  # (data, **ref_kwargs) -> float: fastcal under a given convention
    impls: dict
    sizes: tuple = SIZES
    memory: bool = False  # measure extra peak memory at the largest size
    size_label: str = "n"
    note: str = ""

    def data(self, n):
        return cached_data(self.kind, int(n))


def check_agreement(case, name, data, value=None):
    """Compare implementation ``name`` with fastcal under its convention.

    Returns ``(ok, value, expected, abs_diff)``; ``ok`` is True for baselines.
    """
    impl = case.impls[name]
    if impl.baseline:
        return True, float("nan"), float("nan"), 0.0
    if impl.value is not None:
        value = impl.value(data)
    elif value is None:
        value = impl(data)
    value = float(value)
    expected = float(case.reference(data, **impl.ref_kwargs))
    diff = abs(value - expected)
    ok = math.isfinite(value) and diff <= impl.tol
    return ok, value, expected, diff


# ---------------------------------------------------------------------------
# shared helpers (imports happen inside setup, never at module import)


@functools.lru_cache(maxsize=1)
def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def _tensors(data, target_dtype=None):
    torch = _torch()
    p = torch.from_numpy(data.p)  # no copy
    y = torch.from_numpy(data.y)
    if target_dtype is not None:
        y = y.to(target_dtype)
    return p, y


def _edges(n_bins=N_BINS):
    return np.linspace(0.0, 1.0, n_bins + 1)


def np_binned(y_correct, conf, n_bins=N_BINS, right=True):
    """numpy searchsorted/bincount reference: (ECE, MCE) with docs/design.md, section 3 bins."""
    edges = _edges(n_bins)
    b = np.searchsorted(edges[1:-1], conf, side="left" if right else "right")
    cnt = np.bincount(b, minlength=n_bins)
    s_conf = np.bincount(b, weights=conf, minlength=n_bins)
    s_corr = np.bincount(b, weights=y_correct, minlength=n_bins)
    nz = cnt > 0
    gap = np.abs(s_corr[nz] - s_conf[nz]) / cnt[nz]
    ece = float(np.sum(cnt[nz] * gap) / conf.shape[0])
    return ece, float(gap.max())


def _np_validate_binary(y, p):
    """The checks a careful numpy user makes before computing ECE."""
    y = np.asarray(y)
    p = np.asarray(p)
    if p.ndim != 1 or y.shape != p.shape:
        raise ValueError("shape mismatch")
    if p.size == 0:
        raise ValueError("empty")
    if not np.all((p >= 0) & (p <= 1)):  # also rejects NaN
        raise ValueError("y_prob outside [0, 1]")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true not 0/1")
    return y, p


def _sk_ece(y, p, norm):
    """ECE / MCE through sklearn.calibration.calibration_curve.

    calibration_curve returns the per-bin accuracy and confidence of non-empty
    bins but not the counts, so one searchsorted + bincount adds them.
    """
    from sklearn.calibration import calibration_curve

    def run():
        prob_true, prob_pred = calibration_curve(y, p, n_bins=N_BINS, strategy="uniform")
        cnt = np.bincount(np.searchsorted(_edges()[1:-1], p), minlength=N_BINS)
        cnt = cnt[cnt > 0]
        gap = np.abs(prob_true - prob_pred)
        return float(np.sum(cnt * gap) / p.shape[0]) if norm == "l1" else float(gap.max())

    return run


def _scipy_ece(y, p, norm):
    """ECE / MCE through scipy.stats.binned_statistic (numpy.histogram bins: left-closed)."""
    from scipy.stats import binned_statistic

    def run():
        res = binned_statistic(p, [p, y], statistic="sum", bins=_edges())
        cnt = np.bincount(res.binnumber, minlength=N_BINS + 2)[1:N_BINS + 1]
        nz = cnt > 0
        gap = np.abs(res.statistic[1][nz] - res.statistic[0][nz]) / cnt[nz]
        return float(np.sum(cnt[nz] * gap) / p.shape[0]) if norm == "l1" else float(gap.max())

    return run


def _netcal(metric):
    def setup(d):
        import netcal.metrics as NM

        m = getattr(NM, metric)(bins=N_BINS)
        return lambda: float(m.measure(d.p, d.y))

    return setup


# ---------------------------------------------------------------------------
# binary ECE / MCE

_TM_BINNING_NOTE = (
    "torchmetrics bins are left-closed like right=False but put p == 1.0 in an extra "
    "(n_bins + 1)-th bin of its own; the data hold no exact 1.0, so the values agree "
    "to rounding (float64 tensors)."
)
_NETCAL_NOTE = (
    "netcal bins with numpy.histogramdd: left-closed, 1.0 in the last bin (= right=False), "
    "after clipping p to [eps, 1 - eps]; the clipping moves the mean confidence by <= eps."
)
_SCIPY_NOTE = "binned_statistic uses numpy.histogram bins: left-closed, 1.0 in the last bin (= right=False)."
_SK_NOTE = ("calibration_curve (right-closed, same as fastcal's default) + one bincount "
            "for the bin counts it does not return.")


def _binary_ce_case(norm):
    name = "ECE" if norm == "l1" else "MCE"
    fc_fn = "ece" if norm == "l1" else "mce"
    idx = 0 if norm == "l1" else 1

    def reference(d, **kw):
        import fastcal

        return getattr(fastcal, fc_fn)(d.y, d.p, n_bins=N_BINS, **kw)

    def fastcal_setup(d):
        import fastcal

        f = getattr(fastcal, fc_fn)
        return lambda: f(d.y, d.p, n_bins=N_BINS)

    def numpy_setup(d):
        return lambda: np_binned(d.y, d.p)[idx]

    def sklearn_setup(d):
        return _sk_ece(d.y, d.p, norm)

    def scipy_setup(d):
        return _scipy_ece(d.y, d.p, norm)

    def tm_setup(d):
        from torchmetrics.functional.classification import binary_calibration_error

        p, y = _tensors(d)
        return lambda: float(binary_calibration_error(p, y, n_bins=N_BINS, norm=norm))

    return Case(
        title=f"Binary {name} ({N_BINS} uniform bins)",
        kind="binary",
        reference=reference,
        memory=norm == "l1",
        impls={
            "fastcal": Impl(fastcal_setup, note="validation on (the default)"),
            "numpy": Impl(numpy_setup, tol=1e-12,
                          note="searchsorted + 3 bincounts, no validation"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-12, note=_SK_NOTE),
            "scipy": Impl(scipy_setup, requires=("scipy",), tol=1e-12,
                          ref_kwargs={"right": False}, note=_SCIPY_NOTE),
            "torchmetrics": Impl(tm_setup, requires=("torch", "torchmetrics"), tol=1e-10,
                                 ref_kwargs={"right": False},
                                 note="functional binary_calibration_error, validate_args=True. "
                                 + _TM_BINNING_NOTE),
            "netcal": Impl(_netcal(name), requires=("netcal",), tol=1e-9,
                           ref_kwargs={"right": False}, note=_NETCAL_NOTE),
        },
    )


# ---------------------------------------------------------------------------
# Brier, NLL


def _brier_case():
    def reference(d, **kw):
        import fastcal

        return fastcal.brier_score(d.y, d.p, **kw)

    def fastcal_setup(d):
        import fastcal

        return lambda: fastcal.brier_score(d.y, d.p)

    def numpy_setup(d):
        return lambda: float(np.mean((d.p - d.y) ** 2))

    def sklearn_setup(d):
        from sklearn.metrics import brier_score_loss

        return lambda: float(brier_score_loss(d.y, d.p))

    def torch_setup(d):
        torch = _torch()
        p, y = _tensors(d, torch.float64)
        return lambda: float(torch.nn.functional.mse_loss(p, y))

    return Case(
        title="Brier score (binary)",
        kind="binary",
        reference=reference,
        memory=True,
        impls={
            "fastcal": Impl(fastcal_setup),
            "numpy": Impl(numpy_setup, note="np.mean((p - y) ** 2), no validation"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-12,
                            note="brier_score_loss"),
            "torch": Impl(torch_setup, requires=("torch",), tol=1e-12,
                          note="torch.nn.functional.mse_loss on float64 tensors (torchmetrics "
                          "has no Brier score); labels converted to float64 outside the timing"),
        },
    )


def _nll_case():
    def reference(d, **kw):
        import fastcal

        return fastcal.nll(d.y, d.p, **kw)

    def fastcal_setup(d):
        import fastcal

        return lambda: fastcal.nll(d.y, d.p)

    def numpy_setup(d):
        eps = np.finfo(d.p.dtype).eps

        def run():
            q = np.where(d.y == 1, d.p, 1.0 - d.p)
            return float(-np.mean(np.log(np.clip(q, eps, 1.0 - eps))))

        return run

    def sklearn_setup(d):
        from sklearn.metrics import log_loss

        return lambda: float(log_loss(d.y, d.p))

    def torch_setup(d):
        torch = _torch()
        p, y = _tensors(d, torch.float64)
        return lambda: float(torch.nn.functional.binary_cross_entropy(p, y))

    return Case(
        title="NLL / log loss (binary)",
        kind="binary",
        reference=reference,
        memory=True,
        impls={
            "fastcal": Impl(fastcal_setup, note="clips at float64 eps like sklearn"),
            "numpy": Impl(numpy_setup, tol=1e-12, note="where/clip/log/mean, no validation"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-12, note="log_loss"),
            "torch": Impl(torch_setup, requires=("torch",), tol=1e-10,
                          note="torch.nn.functional.binary_cross_entropy (clamps log at -100 "
                          "instead of clipping p at eps; equal here since no p is within 1e-16 "
                          "of 0 or 1)"),
        },
    )


# ---------------------------------------------------------------------------
# AUROC


def np_auroc(y, s):
    """Mann-Whitney AUROC with midranks for ties, by argsort (numpy reference)."""
    n = s.shape[0]
    order = np.argsort(s)
    ss = s[order]
    pos = y[order] == 1
    cut = np.flatnonzero(ss[1:] != ss[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [n]))
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    n1 = int(pos.sum())
    n0 = n - n1
    u = ranks[pos].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def _auroc_case():
    def reference(d, **kw):
        import fastcal

        return fastcal.auroc(d.y, d.p, **kw)

    def fastcal_setup(d):
        import fastcal

        return lambda: fastcal.auroc(d.y, d.p)

    def numpy_setup(d):
        return lambda: np_auroc(d.y, d.p)

    def sort_setup(d):
        def run():
            np.sort(d.p)
            return float("nan")

        return run

    def sklearn_setup(d):
        from sklearn.metrics import roc_auc_score

        return lambda: float(roc_auc_score(d.y, d.p))

    def scipy_setup(d):
        from scipy.stats import mannwhitneyu

        def run():
            pos = d.y == 1
            a, b = d.p[pos], d.p[~pos]
            u = mannwhitneyu(a, b, use_continuity=False, method="asymptotic").statistic
            return float(u / (a.shape[0] * b.shape[0]))

        return run

    def tm_setup(d):
        from torchmetrics.functional.classification import binary_auroc

        p, y = _tensors(d)
        return lambda: float(binary_auroc(p, y))

    return Case(
        title="AUROC (binary, exact)",
        kind="binary",
        reference=reference,
        impls={
            "fastcal": Impl(fastcal_setup, requires=("fastcal._kernels.metrics.auroc",),
                            note="radix partition, O(n)"),
            "np.sort": Impl(sort_setup, baseline=True,
                            note="one np.sort of the scores (a baseline, not an AUROC)"),
            "numpy": Impl(numpy_setup, tol=1e-10, note="argsort + midranks (Mann-Whitney)"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-10, note="roc_auc_score"),
            "scipy": Impl(scipy_setup, requires=("scipy",), tol=1e-10,
                          note="mannwhitneyu(...).statistic / (n1 n0), split by label inside the timing"),
            "torchmetrics": Impl(tm_setup, requires=("torch", "torchmetrics"), tol=1e-6,
                                 note="functional binary_auroc (thresholds=None: exact curve); "
                                 "returns a float32 tensor, hence the tolerance"),
        },
    )


# ---------------------------------------------------------------------------
# top-label ECE from (n, 100) probabilities


def _toplabel_case():
    def reference(d, **kw):
        import fastcal

        return fastcal.ece(d.y, d.p, n_bins=N_BINS, **kw)

    def fastcal_setup(d):
        import fastcal

        return lambda: fastcal.ece(d.y, d.p, n_bins=N_BINS)

    def numpy_setup(d):
        def run():
            conf = d.p.max(axis=1)
            corr = d.p.argmax(axis=1) == d.y
            return np_binned(corr, conf)[0]

        return run

    def sklearn_setup(d):
        from sklearn.calibration import calibration_curve

        def run():
            conf = d.p.max(axis=1)
            corr = d.p.argmax(axis=1) == d.y
            prob_true, prob_pred = calibration_curve(corr, conf, n_bins=N_BINS)
            cnt = np.bincount(np.searchsorted(_edges()[1:-1], conf), minlength=N_BINS)
            cnt = cnt[cnt > 0]
            return float(np.sum(cnt * np.abs(prob_true - prob_pred)) / conf.shape[0])

        return run

    def tm_setup(d):
        from torchmetrics.functional.classification import multiclass_calibration_error

        p, y = _tensors(d)
        C = d.p.shape[1]
        return lambda: float(multiclass_calibration_error(p, y, num_classes=C, n_bins=N_BINS,
                                                          norm="l1"))

    return Case(
        title=f"Top-label ECE from (n, 100) float32 probabilities ({N_BINS} bins)",
        kind="toplabel",
        reference=reference,
        sizes=(1_000, 100_000, 1_000_000),
        size_label="rows",
        note="n counts rows of 100 classes (1e7 x 100 float32 would be 4 GB).",
        impls={
            "fastcal": Impl(fastcal_setup, note="validation on (range, row sums)"),
            "numpy": Impl(numpy_setup, tol=1e-12,
                          note="max + argmax + searchsorted/bincount, no validation"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-12,
                            note="numpy top-label + calibration_curve + bincount for counts"),
            "torchmetrics": Impl(tm_setup, requires=("torch", "torchmetrics"), tol=1e-4,
                                 ref_kwargs={"right": False},
                                 note="multiclass_calibration_error; casts confidences to float32 "
                                 "and accumulates the bins in float32, and compares with float32 "
                                 "edges, hence the tolerance. " + _TM_BINNING_NOTE.split(";")[0]
                                 + "."),
            "netcal": Impl(_netcal("ECE"), requires=("netcal",), tol=1e-6,
                           ref_kwargs={"right": False},
                           note=_NETCAL_NOTE + " Clipping is at float32 eps here."),
        },
    )


# ---------------------------------------------------------------------------
# per-call overhead: ECE of 64 samples, with validation


def _small_case():
    def reference(d, **kw):
        import fastcal

        return fastcal.ece(d.y, d.p, n_bins=N_BINS, **kw)

    def fastcal_setup(d):
        import fastcal

        return lambda: fastcal.ece(d.y, d.p, n_bins=N_BINS)

    def fastcal_nocheck_setup(d):
        import fastcal

        return lambda: fastcal.ece(d.y, d.p, n_bins=N_BINS, check=False)

    def numpy_setup(d):
        def run():
            y, p = _np_validate_binary(d.y, d.p)
            return np_binned(y, p)[0]

        return run

    def tm_update_setup(d):
        from torchmetrics.classification import BinaryCalibrationError

        p, y = _tensors(d)
        m = BinaryCalibrationError(n_bins=N_BINS, norm="l1")
        calls = [0]

        def run():
            # Metric state keeps every prediction; reset now and then so memory
            # stays flat (amortised cost < 1% of an update).
            calls[0] += 1
            if calls[0] % 10_000 == 0:
                m.reset()
            m.update(p, y)
            return float("nan")

        return run

    def tm_update_value(d):
        from torchmetrics.classification import BinaryCalibrationError

        p, y = _tensors(d)
        m = BinaryCalibrationError(n_bins=N_BINS, norm="l1")
        m.update(p, y)
        return float(m.compute())

    def tm_functional_setup(d):
        from torchmetrics.functional.classification import binary_calibration_error

        p, y = _tensors(d)
        return lambda: float(binary_calibration_error(p, y, n_bins=N_BINS, norm="l1"))

    def sklearn_setup(d):
        return _sk_ece(d.y, d.p, "l1")

    return Case(
        title="Per-call overhead: ECE of 64 float64 samples, with validation",
        kind="binary",
        reference=reference,
        sizes=(64,),
        impls={
            "fastcal": Impl(fastcal_setup, note="validation on (the default)"),
            "fastcal check=False": Impl(fastcal_nocheck_setup, tol=0.0,
                                        note="value checks skipped (shapes/labels still checked)"),
            "numpy": Impl(numpy_setup, tol=1e-12,
                          note="shape/range/label checks + searchsorted/bincount"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-12, note=_SK_NOTE),
            "torchmetrics update": Impl(tm_update_setup, requires=("torch", "torchmetrics"),
                                        tol=1e-10, ref_kwargs={"right": False},
                                        value=tm_update_value,
                                        note="BinaryCalibrationError().update only (compute "
                                        "not timed); value from update + compute"),
            "torchmetrics functional": Impl(tm_functional_setup,
                                            requires=("torch", "torchmetrics"), tol=1e-10,
                                            ref_kwargs={"right": False},
                                            note="binary_calibration_error"),
        },
    )


# ---------------------------------------------------------------------------
# calibrators (issue 4).  A calibrator's timed call is its fit; agreement is
# checked on what the fit produces: the predictions (isotonic, Platt) on a
# fixed probe, or the NLL at the fitted temperature.

_PROBE = np.linspace(0.0, 1.0, 1001)
_PROBE_W = np.random.default_rng(7).random(1001)


def probe_value(pred):
    """One number that changes with any prediction on the probe: the mean of
    the predictions weighted by fixed random weights (so a difference of d in
    every prediction moves it by d)."""
    pred = np.asarray(pred, dtype=np.float64)
    return float(np.dot(_PROBE_W, np.nan_to_num(pred, nan=-1.0)) / _PROBE_W.sum())


def _isotonic_case():
    def fit_fastcal(d):
        import fastcal.calibrators.isotonic as FI

        return lambda: FI.IsotonicRegression(out_of_bounds="clip").fit(d.p, d.y)

    def reference(d, **kw):
        return probe_value(fit_fastcal(d)().predict(_PROBE))

    def sklearn_setup(d):
        from sklearn.isotonic import IsotonicRegression

        return lambda: IsotonicRegression(out_of_bounds="clip").fit(d.p, d.y)

    def sklearn_value(d):
        return probe_value(sklearn_setup(d)().predict(_PROBE))

    def scipy_setup(d):
        from scipy.optimize import isotonic_regression

        order = np.argsort(d.p, kind="stable")
        ys = d.y[order].astype(np.float64)

        def run():
            isotonic_regression(ys)
            return float("nan")

        return run

    return Case(
        title="IsotonicRegression.fit, binary labels, scores with ties (3 decimals)",
        kind="tied",
        reference=reference,
        sizes=(1_000, 1_000_000, 10_000_000),
        note="Scores are Beta(2.5, 1.2) confidences rounded to 3 decimals (<= 1001 distinct values).",
        impls={
            "fastcal": Impl(lambda d: fit_fastcal(d), value=lambda d: reference(d),
                            note="IsotonicRegression(out_of_bounds='clip').fit(X, y): ties pooled, "
                            "PAV, thresholds; agreement: predictions on a 1001-point probe"),
            "sklearn": Impl(sklearn_setup, requires=("sklearn",), tol=1e-9, value=sklearn_value,
                            note="sklearn.isotonic.IsotonicRegression(out_of_bounds='clip').fit; "
                            "the value compared is a weighted sum of the predictions on a "
                            "1001-point probe (any differing prediction changes it)"),
            "scipy presorted PAV": Impl(scipy_setup, requires=("scipy",), baseline=True,
                                        note="scipy.optimize.isotonic_regression on y already "
                                        "sorted by X outside the timing, ties not pooled: PAV "
                                        "alone, a lower bound for any fit (not the same model)"),
        },
    )


def _nll_at(d, T):
    """Exact float64 mean NLL of softmax(z / T) (the agreement measure)."""
    import fastcal

    return float(fastcal.nll(d.y, np.asarray(d.p, dtype=np.float64) / T, from_logits=True))


def _temperature_case(n_classes, sizes):
    def fastcal_setup(d):
        from fastcal.calibrators.temperature import TemperatureScaling

        return lambda: TemperatureScaling().fit(d.p, d.y).temperature_

    def reference(d, **kw):
        return _nll_at(d, fastcal_setup(d)())

    def torch_setup(d):
        torch = _torch()
        z = torch.from_numpy(d.p)
        y = torch.from_numpy(d.y)

        def run():
            # gpleiss/temperature_scaling (Guo et al. 2017): T starts at 1.5,
            # LBFGS(lr=0.01, max_iter=50), one optimizer.step on CrossEntropyLoss
            t = torch.nn.Parameter(torch.ones(1) * 1.5)
            crit = torch.nn.CrossEntropyLoss()
            opt = torch.optim.LBFGS([t], lr=0.01, max_iter=50)

            def closure():
                opt.zero_grad()
                loss = crit(z / t, y)
                loss.backward()
                return loss

            opt.step(closure)
            return float(t.detach()[0])

        return run

    def scipy_setup(d):
        from scipy.optimize import minimize_scalar
        from scipy.special import logsumexp

        z, y = d.p, d.y
        zy = z[np.arange(z.shape[0]), y]

        def nll(T):
            return float(np.mean(logsumexp(z / T, axis=1) - zy / T))

        def run():
            return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)

        return run

    def value_of(setup):
        return lambda d: _nll_at(d, setup(d)())

    return Case(
        title=f"Temperature scaling fit, (n, {n_classes}) float32 logits",
        kind=f"logits{n_classes}",
        reference=reference,
        sizes=sizes,
        size_label="rows",
        note=(f"Logits of an overconfident model (1.6 x the true logits, {n_classes} classes), "
              "labels from the true softmax. Agreement: the exact float64 NLL at each "
              "implementation's fitted T vs at fastcal's (the optimum: a peer can only be higher)."),
        impls={
            "fastcal": Impl(fastcal_setup, value=value_of(fastcal_setup),
                            note="TemperatureScaling().fit: Newton in 1/T on a fused "
                            "NLL-and-derivatives kernel, validation included"),
            "torch LBFGS": Impl(torch_setup, requires=("torch",), tol=1e-2,
                                value=value_of(torch_setup),
                                note="Guo et al.'s recipe as in gpleiss/temperature_scaling: "
                                "nn.Parameter(1.5), LBFGS(lr=0.01, max_iter=50), "
                                "CrossEntropyLoss on float32 logits / T; tensors built outside "
                                "the timing; with lr=0.01 and 50 iterations it stops short of "
                                "the optimum (its NLL is about 1e-3 above fastcal's here), hence "
                                "the tolerance"),
            "scipy minimize_scalar": Impl(scipy_setup, requires=("scipy",), tol=1e-6,
                                          value=value_of(scipy_setup),
                                          note="minimize_scalar(bounded, (0.05, 20), default "
                                          "xatol) on the mean NLL via scipy.special.logsumexp of "
                                          "the float32 logits / T"),
        },
    )


def _logit(p):
    c = np.clip(p, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
    return np.log(c) - np.log1p(-c)


def _platt_case():
    def fastcal_setup(d, smooth=True):
        from fastcal.calibrators.platt import PlattScaling

        return lambda: PlattScaling(smooth=smooth).fit(d.p, d.y)

    def reference(d, smooth=True):
        return probe_value(fastcal_setup(d, smooth)().predict_proba(_PROBE))

    def sigmoid_setup(d):
        from sklearn.calibration import _sigmoid_calibration

        def run():
            return _sigmoid_calibration(_logit(d.p), d.y)

        return run

    def sigmoid_value(d):
        A, B = sigmoid_setup(d)()
        return probe_value(1.0 / (1.0 + np.exp(A * _logit(_PROBE) + B)))

    def logreg_setup(d):
        from sklearn.linear_model import LogisticRegression

        def run():
            return LogisticRegression(C=np.inf).fit(_logit(d.p)[:, None], d.y)

        return run

    def logreg_value(d):
        lr = logreg_setup(d)()
        return probe_value(lr.predict_proba(_logit(_PROBE)[:, None])[:, 1])

    return Case(
        title="Platt scaling fit, binary confidences",
        kind="binary",
        reference=reference,
        sizes=(1_000, 100_000, 1_000_000),
        note="Agreement: a weighted sum of the calibrated probabilities on a 1001-point probe.",
        impls={
            "fastcal": Impl(fastcal_setup, value=lambda d: reference(d),
                            note="PlattScaling(smooth=True).fit: Newton on the "
                            "fused loss/gradient/Hessian kernel, logit computed on the fly"),
            "fastcal plain": Impl(lambda d: fastcal_setup(d, False), tol=0.0,
                                  ref_kwargs={"smooth": False},
                                  value=lambda d: reference(d, False),
                                  note="PlattScaling(smooth=False): plain maximum likelihood"),
            "sklearn sigmoid": Impl(sigmoid_setup, requires=("sklearn",), tol=1e-5,
                                    value=sigmoid_value,
                                    note="sklearn.calibration._sigmoid_calibration on the logit "
                                    "(computed inside the timing), what CalibratedClassifierCV("
                                    "method='sigmoid') runs; L-BFGS with gtol 1e-6 on the summed "
                                    "loss, hence the tolerance"),
            "sklearn LogisticRegression": Impl(logreg_setup, requires=("sklearn",), tol=1e-4,
                                               ref_kwargs={"smooth": False}, value=logreg_value,
                                               note="LogisticRegression(C=inf) (no penalty) on "
                                               "the logit, default lbfgs tol 1e-4: vs fastcal "
                                               "plain"),
        },
    )


COMPARISONS = {
    "binary_ece": _binary_ce_case("l1"),
    "binary_mce": _binary_ce_case("max"),
    "brier": _brier_case(),
    "nll": _nll_case(),
    "auroc": _auroc_case(),
    "toplabel_ece": _toplabel_case(),
    "small_ece_64": _small_case(),
    "isotonic_fit": _isotonic_case(),
    "temperature_c10": _temperature_case(10, (1_000, 100_000, 1_000_000)),
    "temperature_c1000": _temperature_case(1000, (1_000, 10_000, 100_000)),
    "platt_fit": _platt_case(),
}


def iter_params(max_n=None):
    """(case, impl, n) triples over the whole registry, sizes capped at ``max_n``."""
    for cname, case in COMPARISONS.items():
        for n in case.sizes:
            if max_n is not None and n > max_n and n != min(case.sizes):
                continue
            for iname in case.impls:
                yield cname, iname, n
