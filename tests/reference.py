"""Slow, obviously-correct reference implementations of the fastcal metrics.

They follow docs/design.md, section 3 literally (Python loops over bins, explicit
pair counting for AUROC) and are used only by the tests.  Nothing here is
fast or clever on purpose: every number is computed the way the convention
is written down, in float64.

Conventions
-----------
* Edges: uniform ``np.linspace(0, 1, n_bins + 1)``; quantile
  ``np.quantile(conf, np.linspace(0, 1, n_bins + 1))`` (with weights: the
  same "linear" quantile of the sample with each row repeated by its weight,
  positions measured in cumulative weight; see ``weighted_linear_quantile``).
* Bin of a confidence: ``np.searchsorted(edges[1:-1], conf, side="left")``
  for right-closed bins (default), ``side="right"`` for left-closed bins.
* Top-label: confidence ``max_k p_k``, prediction the FIRST argmax, correct
  when prediction == y.  Classwise: mean over classes k of the binary error
  of ``(p_k, y == k)``.
* Logits: sigmoid (1-D) or float64 softmax per row (2-D).
"""

import math

import numpy as np

# ---------------------------------------------------------------------------
# inputs


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    assert w.shape == (n,)
    return w


def sigmoid(z):
    """Numerically stable logistic function in float64 (libm exp, one value at a time)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty(z.shape, dtype=np.float64)
    for i, v in enumerate(z.tolist()):
        if v >= 0.0:
            out[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            out[i] = e / (1.0 + e)
    return out


def softmax(Z):
    """Row-wise softmax in float64: exp(z_k - max z) / sum_j exp(z_j - max z),
    with libm exp and a left-to-right sum (as written, no vector tricks)."""
    Z = np.asarray(Z, dtype=np.float64)
    P = np.empty(Z.shape, dtype=np.float64)
    for i, row in enumerate(Z.tolist()):
        m = max(row)
        e = [math.exp(v - m) for v in row]
        s = 0.0
        for v in e:
            s += v
        P[i] = [v / s for v in e]
    return P


def probabilities(y_prob, from_logits=False):
    """Probabilities in float64 (sigmoid / softmax of logits when asked)."""
    y_prob = np.asarray(y_prob)
    if from_logits:
        return sigmoid(y_prob) if y_prob.ndim == 1 else softmax(y_prob)
    return np.asarray(y_prob, dtype=np.float64)


def toplabel(y_true, P, scores=None):
    """(confidence, correct) for multiclass probabilities P (n, C).

    The prediction is the FIRST argmax of ``scores`` (default: of ``P``).  For
    logits pass them as ``scores``: softmax is strictly increasing, so the first
    argmax of the logits is the first argmax of the exact probabilities, even
    where two float64 probabilities round to the same value (logits 0 and 1e-90).
    """
    y = np.asarray(y_true)
    pred = np.argmax(P if scores is None else np.asarray(scores), axis=1)  # FIRST maximum
    conf = P[np.arange(P.shape[0]), pred].astype(np.float64)
    corr = (pred == y).astype(np.float64)
    return conf, corr


# ---------------------------------------------------------------------------
# binning


def edges_for(conf, n_bins, strategy="uniform", sample_weight=None):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    assert strategy == "quantile"
    q = np.linspace(0.0, 1.0, n_bins + 1)
    conf = np.asarray(conf, dtype=np.float64)
    if sample_weight is None:
        return np.quantile(conf, q)
    w = np.asarray(sample_weight, dtype=np.float64)
    return np.array([weighted_linear_quantile(conf, w, qi) for qi in q])


def weighted_linear_quantile(x, w, q):
    """numpy's default ("linear", Hyndman-Fan 7) quantile of the sample in which
    row i is repeated w_i times: for integer weights exactly
    ``np.quantile(np.repeat(x, w), q)``; for real weights the positions of the
    order statistics are measured in cumulative weight."""
    pairs = sorted(((float(a), float(b)) for a, b in zip(x, w) if b > 0), key=lambda t: t[0])
    cum = []
    total = 0.0
    for _, wi in pairs:
        total += wi
        cum.append(total)

    def value_at(pos):  # the first row whose cumulative weight exceeds pos
        for (xi, _), c in zip(pairs, cum):
            if c > pos:
                return xi
        return pairs[-1][0]

    virtual = (total - 1) * q
    if virtual >= total - 1:
        return pairs[-1][0]
    if virtual < 0:
        return pairs[0][0]
    prev = math.floor(virtual)
    a, b = value_at(prev), value_at(prev + 1)
    t = virtual - prev
    if t >= 0.5:  # numpy's _lerp, bit for bit
        return b - (b - a) * (1 - t)
    return a + (b - a) * t


def bin_index(conf, edges, right=True):
    side = "left" if right else "right"
    return np.searchsorted(edges[1:-1], np.asarray(conf, dtype=np.float64), side=side)


def binned_sums(conf, target, sample_weight=None, n_bins=15, strategy="uniform", right=True,
                edges=None):
    """Per bin: total weight, sum of weight*confidence, sum of weight*target.

    Returns ``(edges, W, S_conf, S_target)``; a Python loop over bins.  ``edges``
    overrides the edges the strategy would compute.
    """
    conf = np.asarray(conf, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    n = conf.shape[0]
    w = _weights(sample_weight, n)
    if edges is None:
        edges = edges_for(conf, n_bins, strategy, sample_weight)
    idx = bin_index(conf, edges, right)
    W = np.zeros(n_bins)
    Sc = np.zeros(n_bins)
    St = np.zeros(n_bins)
    for b in range(n_bins):
        m = idx == b
        W[b] = np.sum(w[m])
        Sc[b] = np.sum(w[m] * conf[m])
        St[b] = np.sum(w[m] * target[m])
    return edges, W, Sc, St


def _errors_from_sums(W, Sc, St):
    """dict of l1, l2, max, signed from per-bin sums (loop over bins)."""
    total = float(sum(W))
    l1 = 0.0
    l2 = 0.0
    signed = 0.0
    gaps = []
    for b in range(len(W)):
        if W[b] > 0:
            conf_b = Sc[b] / W[b]
            acc_b = St[b] / W[b]
            frac = W[b] / total
            l1 += frac * abs(acc_b - conf_b)
            l2 += frac * (acc_b - conf_b) ** 2
            signed += frac * (conf_b - acc_b)
            gaps.append(abs(acc_b - conf_b))
    return {"l1": l1, "l2": math.sqrt(l2), "max": max(gaps) if gaps else 0.0,
            "signed": signed, "total": total}


def binary_errors(conf, target, sample_weight=None, n_bins=15, strategy="uniform", right=True,
                  edges=None):
    _, W, Sc, St = binned_sums(conf, target, sample_weight, n_bins, strategy, right, edges)
    return _errors_from_sums(W, Sc, St)


# ---------------------------------------------------------------------------
# public-like API


def calibration_error(y_true, y_prob, n_bins=15, norm="l1", strategy="uniform", right=True,
                      classwise=False, from_logits=False, sample_weight=None):
    y = np.asarray(y_true).astype(np.float64)
    P = probabilities(y_prob, from_logits)
    if P.ndim == 1:
        assert not classwise
        return binary_errors(P, y, sample_weight, n_bins, strategy, right)[norm]
    if classwise:
        C = P.shape[1]
        vals = [binary_errors(P[:, k], (y == k).astype(np.float64), sample_weight, n_bins,
                              strategy, right)[norm] for k in range(C)]
        return sum(vals) / C
    conf, corr = toplabel(y, P, y_prob if from_logits else None)
    return binary_errors(conf, corr, sample_weight, n_bins, strategy, right)[norm]


def reliability_curve(y_true, y_prob, n_bins=15, strategy="uniform", right=True,
                      from_logits=False, sample_weight=None):
    """(edges, count, mean confidence, accuracy) with NaN for empty bins."""
    y = np.asarray(y_true).astype(np.float64)
    P = probabilities(y_prob, from_logits)
    if P.ndim == 1:
        conf, corr = P, y
    else:
        conf, corr = toplabel(y, P, y_prob if from_logits else None)
    edges, W, Sc, St = binned_sums(conf, corr, sample_weight, n_bins, strategy, right)
    mean_conf = np.full(n_bins, np.nan)
    acc = np.full(n_bins, np.nan)
    for b in range(n_bins):
        if W[b] > 0:
            mean_conf[b] = Sc[b] / W[b]
            acc[b] = St[b] / W[b]
    return edges, W, mean_conf, acc


def _onehot(y, C):
    Y = np.zeros((y.shape[0], C))
    for k in range(C):
        Y[:, k] = y == k
    return Y


def brier_score(y_true, y_prob, from_logits=False, sample_weight=None):
    """Binary: mean (p - y)^2. Multiclass: mean over rows of sum_k (p_k - [y == k])^2."""
    y = np.asarray(y_true).astype(np.float64)
    P = probabilities(y_prob, from_logits)
    w = _weights(sample_weight, P.shape[0])
    if P.ndim == 1:
        terms = (P - y) ** 2
    else:
        terms = np.sum((P - _onehot(y, P.shape[1])) ** 2, axis=1)
    return float(np.sum(w * terms) / np.sum(w))


def nll(y_true, y_prob, from_logits=False, sample_weight=None):
    """Mean NLL. Probabilities: clipped to [eps, 1 - eps], eps the input dtype's
    machine epsilon, computed in float64. Logits: exact, unclipped
    (logsumexp(z) - z_y; binary log(1 + exp(-z)) for y = 1, log(1 + exp(z)) for y = 0)."""
    y_prob = np.asarray(y_prob)
    y = np.asarray(y_true).astype(np.float64)
    n = y_prob.shape[0]
    w = _weights(sample_weight, n)
    if from_logits:
        Z = y_prob.astype(np.float64)
        if Z.ndim == 1:
            # log(1 + exp(x)) = logaddexp(0, x), exact for any float64 x
            terms = np.where(y == 1, np.logaddexp(0.0, -Z), np.logaddexp(0.0, Z))
        else:
            m = Z.max(axis=1)
            lse = m + np.log(np.sum(np.exp(Z - m[:, None]), axis=1))
            terms = lse - Z[np.arange(n), y.astype(np.int64)]
        return float(np.sum(w * terms) / np.sum(w))
    eps = float(np.finfo(y_prob.dtype).eps)
    P = y_prob.astype(np.float64)
    if P.ndim == 1:
        q = np.where(y == 1, P, 1.0 - P)
    else:
        q = P[np.arange(n), y.astype(np.int64)]
    q = np.clip(q, eps, 1.0 - eps)
    return float(np.sum(w * -np.log(q)) / np.sum(w))


def auroc(y_true, y_score, sample_weight=None):
    """Weighted Mann-Whitney by explicit pair counting: sum over (positive i,
    negative j) of w_i w_j ([s_i > s_j] + [s_i == s_j] / 2), over W_pos W_neg.
    NaN when a class has no weight."""
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    w = _weights(sample_weight, s.shape[0])
    pos = y == 1
    sp, wp = s[pos], w[pos]
    sn, wn = s[~pos], w[~pos]
    Wp, Wn = wp.sum(), wn.sum()
    if not (Wp > 0 and Wn > 0):
        return float("nan")
    num = 0.0
    block = 512
    for a in range(0, sp.shape[0], block):  # blocks only to bound memory
        si = sp[a:a + block, None]
        wi = wp[a:a + block, None]
        pair = (si > sn[None, :]) + 0.5 * (si == sn[None, :])
        num += float(np.sum(wi * wn[None, :] * pair))
    return num / (Wp * Wn)


def auroc_sorted(y_true, y_score, sample_weight=None):
    """Same pair count as :func:`auroc`, but each positive counts the negative
    weight below / equal to it by binary search in the sorted negatives
    (O(n log n), for the large real-data files)."""
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    w = _weights(sample_weight, s.shape[0])
    pos = y == 1
    sp, wp = s[pos], w[pos]
    sn, wn = s[~pos], w[~pos]
    Wp, Wn = wp.sum(), wn.sum()
    if not (Wp > 0 and Wn > 0):
        return float("nan")
    order = np.argsort(sn, kind="stable")
    sn, wn = sn[order], wn[order]
    cw = np.concatenate([[0.0], np.cumsum(wn)])
    lo = np.searchsorted(sn, sp, side="left")  # negatives strictly below
    hi = np.searchsorted(sn, sp, side="right")  # below or equal
    below = cw[lo]
    equal = cw[hi] - cw[lo]
    return float(np.sum(wp * (below + 0.5 * equal)) / (Wp * Wn))


def report(y_true, y_prob, n_bins=15, strategy="uniform", right=True, from_logits=False,
           sample_weight=None):
    """Every gauge of fastcal.calibration_report (top-label for 2-D input)."""
    y = np.asarray(y_true).astype(np.float64)
    P = probabilities(y_prob, from_logits)
    if P.ndim == 1:
        conf, corr = P, y
    else:
        conf, corr = toplabel(y, P, y_prob if from_logits else None)
    w = _weights(sample_weight, conf.shape[0])
    errs = binary_errors(conf, corr, sample_weight, n_bins, strategy, right)
    return {
        "n": conf.shape[0],
        "weight": float(w.sum()),
        "accuracy": float(np.sum(w * corr) / w.sum()),
        "confidence": float(np.sum(w * conf) / w.sum()),
        "ece": errs["l1"],
        "mce": errs["max"],
        "rmsce": errs["l2"],
        "signed_error": errs["signed"],
        "brier": brier_score(y_true, y_prob, from_logits, sample_weight),
        "nll": nll(y_true, y_prob, from_logits, sample_weight),
        "auroc": auroc(corr, conf, sample_weight),
    }
