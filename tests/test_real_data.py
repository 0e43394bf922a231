"""fastcal on real model outputs (../shared/data, see its README).

CIFAR softmax outputs: every metric equals the reference and scikit-learn.
ImageNet top-1 predictions: the same, and the top-label ECE with 10
right-closed equal-width bins reproduces the published table.
Skips cleanly when ../shared/data is absent.
"""

import functools
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastcal
import reference as ref

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

# hollance/reliability-diagrams, ImageNet_pytorch-image-models: ECE-10 (%), right-closed bins
PUBLISHED_ECE10 = {
    "densenetblur121d": 6.96,
    "efficientnet_b1": 10.00,
    "efficientnet_b3a": 12.38,
    "ese_vovnet19b_dw": 12.29,
    "gluon_senet154": 5.06,
    "mixnet_m": 6.49,
    "mobilenetv3_large_100": 6.70,
    "resnet34": 7.79,
    "resnext50_32x4d": 5.80,
    "tf_inception_v3": 1.66,
}

RTOL = 1e-12
ATOL = 1e-12
NORMS = ("l1", "l2", "max", "signed")


def _files(sub, pattern):
    d = DATA_DIR / sub
    files = sorted(d.glob(pattern)) if d.is_dir() else []
    return [pytest.param(f, id=f.stem) for f in files] or [pytest.param(None, id="no-data")]


def _need(path):
    if path is None:
        pytest.skip(f"real model outputs not found under {DATA_DIR}")


@functools.lru_cache(maxsize=None)
def load_cifar(path):
    with np.load(path) as z:
        P = z["predictions"]
        y = z["ground_truth"]
    assert P.dtype == np.float32 and y.dtype == np.int64
    return y, P


@functools.lru_cache(maxsize=None)
def load_imagenet(path):
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    true, pred, conf = d[:, 0], d[:, 1], d[:, 2]
    return true, pred, conf


def close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    actual, expected = float(actual), float(expected)
    assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol), (
        f"{what}: fastcal {actual!r} != expected {expected!r} (diff {actual - expected:.3g})")


def check_curve_against_bin_sums(curve, conf, corr, n_bins):
    """calibration_curve-style bin sums: np.bincount over searchsorted bins."""
    from sklearn.calibration import calibration_curve

    edges = np.linspace(0, 1, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], conf)
    count = np.bincount(ids, minlength=n_bins)
    sum_conf = np.bincount(ids, weights=conf, minlength=n_bins)
    sum_corr = np.bincount(ids, weights=corr, minlength=n_bins)
    np.testing.assert_array_equal(curve.count, count)
    ne = count > 0
    np.testing.assert_allclose(curve.confidence[ne] * count[ne], sum_conf[ne], rtol=RTOL)
    np.testing.assert_allclose(curve.accuracy[ne] * count[ne], sum_corr[ne], rtol=RTOL)
    prob_true, prob_pred = calibration_curve(corr, conf, n_bins=n_bins, pos_label=1)
    np.testing.assert_allclose(curve.accuracy[ne], prob_true, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(curve.confidence[ne], prob_pred, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------
# CIFAR: float32 softmax outputs, C = 10 or 100


@pytest.mark.parametrize("path", _files("cifar", "*.npz"))
def test_cifar_scores_match_sklearn_and_reference(path):
    from sklearn.metrics import brier_score_loss, log_loss

    _need(path)
    y, P = load_cifar(path)
    C = P.shape[1]
    labels = list(range(C))
    eps32 = float(np.finfo(np.float32).eps)
    nll = fastcal.nll(y, P)
    brier = fastcal.brier_score(y, P)
    close(nll, ref.nll(y, P), what="nll vs reference")
    close(brier, ref.brier_score(y, P), what="brier vs reference")
    # scikit-learn keeps float32 and computes in float32: looser tolerance
    with warnings.catch_warnings():  # rows sum to 1 only within ~2e-7 (float32 softmax)
        warnings.filterwarnings("ignore", "The y_prob values do not sum to one")
        sk_nll = log_loss(y, P, labels=labels)
        sk_nll64 = log_loss(y, np.clip(P.astype(np.float64), eps32, 1 - eps32), labels=labels)
        sk_brier = brier_score_loss(y, P, labels=labels, scale_by_half=False)
        sk_brier64 = brier_score_loss(y, P.astype(np.float64), labels=labels,
                                      scale_by_half=False)
    close(nll, sk_nll, rtol=1e-6, what="nll vs log_loss")
    close(brier, sk_brier, rtol=1e-5, what="brier vs brier_score_loss")
    # and exactly in float64 when sklearn gets the float64 values (clipping eps of float32)
    close(nll, sk_nll64, rtol=1e-12, what="nll vs float64 log_loss with float32 clipping")
    close(brier, sk_brier64, rtol=1e-12, what="brier vs float64 brier_score_loss")


@pytest.mark.parametrize("path", _files("cifar", "*.npz"))
def test_cifar_binned_metrics_match_reference(path):
    _need(path)
    y, P = load_cifar(path)
    for opts in (dict(), dict(n_bins=10), dict(right=False), dict(strategy="quantile"),
                 dict(strategy="quantile", right=False, n_bins=20)):
        for norm in NORMS:
            close(fastcal.calibration_error(y, P, norm=norm, **opts),
                  ref.calibration_error(y, P, norm=norm, **opts), what=f"top-label {norm} {opts}")
    for opts in (dict(), dict(strategy="quantile", n_bins=10)):
        for norm in ("l1", "max"):
            close(fastcal.calibration_error(y, P, norm=norm, classwise=True, **opts),
                  ref.calibration_error(y, P, norm=norm, classwise=True, **opts),
                  what=f"classwise {norm} {opts}")


@pytest.mark.parametrize("path", _files("cifar", "*.npz"))
def test_cifar_report_matches_sklearn_and_reference(path):
    from sklearn.metrics import roc_auc_score

    _need(path)
    y, P = load_cifar(path)
    r = fastcal.calibration_report(y, P)
    conf, corr = ref.toplabel(y, P)
    close(r.auroc, roc_auc_score(corr, conf), what="auroc vs roc_auc_score")
    close(r.auroc, ref.auroc_sorted(corr, conf), what="auroc vs reference")
    close(r.accuracy, corr.mean(), what="accuracy")
    close(r.confidence, conf.mean(), what="confidence")
    close(r.ece, ref.calibration_error(y, P), what="ece")
    close(r.nll, ref.nll(y, P), what="nll")
    close(r.brier, ref.brier_score(y, P), what="brier")
    assert r.n == y.shape[0]
    check_curve_against_bin_sums(r.reliability, conf, corr, 15)
    check_curve_against_bin_sums(fastcal.reliability_curve(y, P, n_bins=10), conf, corr, 10)


@pytest.mark.parametrize("path", _files("cifar", "*.npz"))
def test_cifar_log_probabilities_as_logits(path):
    """log(p) are logits up to a per-row constant (where p > 0): from_logits metrics
    equal the reference on them (zeros replaced by a tiny floor)."""
    _need(path)
    y, P = load_cifar(path)
    Z = np.log(np.maximum(P.astype(np.float64), 1e-30))
    close(fastcal.nll(y, Z, from_logits=True), ref.nll(y, Z, from_logits=True), what="nll")
    close(fastcal.brier_score(y, Z, from_logits=True),
          ref.brier_score(y, Z, from_logits=True), rtol=1e-11, what="brier")
    close(fastcal.ece(y, Z, from_logits=True), ref.calibration_error(y, Z, from_logits=True),
          what="ece")
    # float32 logits are read natively and agree with their exact float64 values
    Z32 = Z.astype(np.float32)
    close(fastcal.ece(y, Z32, from_logits=True), fastcal.ece(y, Z32.astype(np.float64),
                                                             from_logits=True), rtol=0, atol=0)


# ---------------------------------------------------------------------------
# ImageNet: top-1 confidence and correctness (binary problem), 50,000 rows


@pytest.mark.parametrize("path", _files("imagenet", "*.csv"))
def test_imagenet_ece10_matches_published_table(path):
    _need(path)
    true, pred, conf = load_imagenet(path)
    correct = (true == pred).astype(np.int64)
    ece = fastcal.ece(correct, conf, n_bins=10)  # right-closed (lo, hi], the default
    assert path.stem in PUBLISHED_ECE10, f"no published value for {path.stem}"
    close(ece, ref.calibration_error(correct, conf, n_bins=10), what="ece-10 vs reference")
    assert round(ece * 100, 2) == PUBLISHED_ECE10[path.stem], (path.stem, ece * 100)
    # the confidences are float32 printed as text: parsing them as float32 changes nothing
    conf32 = conf.astype(np.float32)
    np.testing.assert_array_equal(conf32.astype(np.float64), conf)
    assert fastcal.ece(correct, conf32, n_bins=10) == ece


@pytest.mark.skipif(not (DATA_DIR / "imagenet").is_dir(), reason="no real data")
def test_imagenet_every_published_model_present():
    stems = {p.stem for p in (DATA_DIR / "imagenet").glob("*.csv")}
    assert stems == set(PUBLISHED_ECE10)


@pytest.mark.parametrize("path", _files("imagenet", "*.csv"))
def test_imagenet_metrics_match_sklearn_and_reference(path):
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    _need(path)
    true, pred, conf = load_imagenet(path)
    correct = (true == pred).astype(np.int64)
    r = fastcal.calibration_report(correct, conf, n_bins=10)
    close(r.ece, ref.calibration_error(correct, conf, n_bins=10), what="ece")
    close(r.mce, ref.calibration_error(correct, conf, n_bins=10, norm="max"), what="mce")
    close(r.rmsce, ref.calibration_error(correct, conf, n_bins=10, norm="l2"), what="rmsce")
    close(r.signed_error, ref.calibration_error(correct, conf, n_bins=10, norm="signed"),
          what="signed")
    close(r.brier, brier_score_loss(correct, conf), what="brier vs brier_score_loss")
    close(r.brier, ref.brier_score(correct, conf), what="brier vs reference")
    close(r.nll, log_loss(correct, conf, labels=[0, 1]), what="nll vs log_loss")
    close(r.nll, ref.nll(correct, conf), what="nll vs reference")
    close(r.auroc, roc_auc_score(correct, conf), what="auroc vs roc_auc_score")
    close(r.auroc, ref.auroc_sorted(correct, conf), what="auroc vs reference")
    close(fastcal.auroc(correct, conf), r.auroc, what="auroc vs report")
    close(r.accuracy, correct.mean(), what="accuracy")
    check_curve_against_bin_sums(r.reliability, conf, correct.astype(np.float64), 10)
    for opts in (dict(right=False), dict(strategy="quantile"), dict(n_bins=15)):
        for norm in NORMS:
            close(fastcal.calibration_error(correct, conf, norm=norm, **opts),
                  ref.calibration_error(correct, conf, norm=norm, **opts), what=f"{norm} {opts}")


@pytest.mark.parametrize("path", _files("imagenet", "*.csv"))
def test_imagenet_weighted_metrics_match_reference(path):
    _need(path)
    true, pred, conf = load_imagenet(path)
    correct = (true == pred).astype(np.int64)
    w = np.random.default_rng(0).integers(0, 4, conf.shape[0]).astype(np.float64)
    for opts in (dict(n_bins=10), dict(strategy="quantile")):
        for norm in NORMS:
            close(fastcal.calibration_error(correct, conf, norm=norm, sample_weight=w, **opts),
                  ref.calibration_error(correct, conf, norm=norm, sample_weight=w, **opts),
                  what=f"weighted {norm} {opts}")
    close(fastcal.brier_score(correct, conf, sample_weight=w),
          ref.brier_score(correct, conf, sample_weight=w), what="weighted brier")
    close(fastcal.nll(correct, conf, sample_weight=w),
          ref.nll(correct, conf, sample_weight=w), what="weighted nll")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        close(fastcal.auroc(correct, conf, sample_weight=w),
              ref.auroc_sorted(correct, conf, sample_weight=w), what="weighted auroc")
