"""LLM evaluation helpers: multiple-choice answers scored by option
log-likelihoods, and confidences stated in words or numbers.

Token-level calibration over vocabulary logits needs nothing special: the
metrics and the accumulator take (..., V) logits with (...) labels,
float16/bfloat16 and ``ignore_index`` directly.
"""

import math
import re

import numpy as np

from ..core import validation as V
from ..core import errors as E
from ..metrics.report import calibration_report

_NUM = re.compile(r"^[+]?(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _padded_options(option_loglik, offsets):
    """float64 (n, K) option log-likelihoods with -inf where an option is missing."""
    if offsets is None:
        x, _ = V.as_prob(option_loglik, "option_loglik", ndims=(2,))
        return np.array(x, dtype=np.float64)
    vals, _ = V.as_prob(option_loglik, "option_loglik", ndims=(1,))
    off = V._native(V._to_numpy(offsets, "offsets"))
    if off.dtype.kind not in "iu" or off.ndim != 1 or off.shape[0] < 2:
        raise ValueError("offsets must be a 1-D integer array of n + 1 row starts "
                         f"(offsets[0] = 0, offsets[-1] = len(values)); found {off!r}.")
    off = off.astype(np.int64)
    d = np.diff(off)
    if off[0] != 0 or off[-1] != vals.shape[0] or (d < 1).any():
        bad = int(np.argmax(d < 1)) if (d < 1).any() else None
        where = f" (row {bad} has {d[bad]} options)" if bad is not None else ""
        raise E.InputError(
            "offsets must start at 0, end at len(option_loglik) and increase by at least 1 "
            f"per row{where}; found offsets[0]={int(off[0])}, offsets[-1]={int(off[-1])} "
            f"for {vals.shape[0]} values.", param="offsets", index=bad)
    n, K = d.shape[0], int(d.max())
    out = np.full((n, K), -np.inf)
    rows = np.repeat(np.arange(n), d)
    cols = np.arange(vals.shape[0]) - np.repeat(off[:-1], d)
    out[rows, cols] = vals
    return out


def multiple_choice_report(answer, option_loglik, *, offsets=None, option_lengths=None,
                           n_bins=15, strategy="uniform", right=True, sample_weight=None):
    """Calibration of multiple-choice answers scored by option log-likelihoods.

    Each question's options are normalised into probabilities by a softmax of
    their log-likelihoods (the model's choice is the most likely option, its
    confidence that option's probability); the report is top-label over these.

    Parameters
    ----------
    answer : array-like of shape (n,)
        Index of the correct option of each question.
    option_loglik : array-like
        Padded: shape (n, K), ``-inf`` where a question has fewer than K
        options (the only place an infinity is valid; each row needs one
        finite value). Ragged: flat values of all options, row by row, with
        ``offsets``.
    offsets : array-like of shape (n + 1,), optional
        Row starts of the ragged form (``offsets[0] = 0``,
        ``offsets[-1] = len(option_loglik)``).
    option_lengths : array-like, optional
        Token counts of the options, in the same layout as
        ``option_loglik``: the log-likelihoods are divided by them (length
        normalisation, as in common evaluation harnesses' ``acc_norm``).
    n_bins, strategy, right, sample_weight :
        As for :func:`fastcal.calibration_report`.

    Returns
    -------
    CalibrationReport

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> ll = [[-1.2, -0.4, -np.inf], [-2.0, -0.1, -3.0]]   # question 0 has two options
    >>> r = fastcal.multiple_choice_report([1, 2], ll, n_bins=5)
    >>> r.accuracy, round(r.confidence, 4)
    (0.5, 0.7601)
    >>> flat = [-1.2, -0.4, -2.0, -0.1, -3.0]
    >>> fastcal.multiple_choice_report([1, 2], flat, offsets=[0, 2, 5], n_bins=5) == r
    True
    """
    z = _padded_options(option_loglik, offsets)
    if option_lengths is not None:
        lens = _padded_options(option_lengths, offsets)
        finite = np.isfinite(z)
        bad = finite & ~(lens > 0)
        if bad.any():
            i, k = (int(j) for j in np.argwhere(bad)[0])
            raise E.InputError(f"option_lengths must be positive token counts; found "
                               f"{float(lens[i, k])!r} for option {k} of row {i}.",
                               param="option_lengths", index=i, column=k,
                               value=float(lens[i, k]))
        z = np.where(finite, z / np.where(finite, lens, 1.0), z)
    bad = np.isnan(z) | (z == np.inf)
    if bad.any():
        i, k = (int(j) for j in np.argwhere(bad)[0])
        raise E.InputError(f"option_loglik must be finite or -inf (a missing option); found "
                           f"{float(z[i, k])!r} for option {k} of row {i}.",
                           param="option_loglik", index=i, column=k, value=float(z[i, k]))
    none = ~np.isfinite(z).any(axis=1)
    if none.any():
        i = int(np.argmax(none))
        raise E.InputError(f"row {i} of option_loglik has no finite option (all -inf); every "
                           "question needs at least one option.", param="option_loglik",
                           index=i)
    if z.shape[1] < 2:
        z = np.concatenate([z, np.full((z.shape[0], 1), -np.inf)], axis=1)
    # a missing option has probability exactly 0: exp(-huge - max) == 0
    z[z == -np.inf] = np.finfo(np.float64).min
    r = calibration_report(answer, z, n_bins=n_bins, strategy=strategy, right=right,
                           from_logits=True, sample_weight=sample_weight)
    r.convention["target"] = ("multiple choice: top-label over the softmax of the option "
                              "log-likelihoods" + (" / option length" if option_lengths
                                                   is not None else ""))
    return r


def parse_confidence(values, *, words=None, missing="raise"):
    """Stated confidences to probabilities in [0, 1].

    Accepts numbers and strings: ``"85%"`` and ``"85 %"`` (percent),
    ``"0.85"`` (a probability: numbers at most 1), ``"85"`` (a number above 1
    and at most 100 is a percentage), and words of estimative probability
    through ``words``, a user-given table such as ``{"almost certain": 0.95,
    "likely": 0.7}`` (matched case-insensitively, surrounding whitespace and
    a final period ignored). Anything else raises a ValueError naming the
    row and the value.

    Parameters
    ----------
    values : sequence of str or numbers
    words : dict, optional
        Phrase -> probability in [0, 1].
    missing : {"raise", "nan"}, default="raise"
        What to do with None, NaN and empty strings.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> import fastcal
    >>> fastcal.parse_confidence(["85%", "0.85", "85", " 90 % ", 0.3, "likely"],
    ...                          words={"likely": 0.7}).tolist()
    [0.85, 0.85, 0.85, 0.9, 0.3, 0.7]
    >>> fastcal.parse_confidence(["very sure"])
    Traceback (most recent call last):
    ...
    ValueError: cannot read a confidence from 'very sure' at row 0: expected a probability (0.85), a percentage (85% or 85) or a phrase from words.
    """
    if missing not in ("raise", "nan"):
        V.check_choice(missing, "missing", ("raise", "nan"))
    table = {}
    for k, v in (words or {}).items():
        p = float(v)
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"words must map phrases to probabilities in [0, 1]; found "
                             f"{k!r}: {v!r}.")
        table[" ".join(str(k).lower().split()).rstrip(".")] = p
    if isinstance(values, (str, bytes)):
        raise TypeError("values must be a sequence of confidences; for one value pass [value].")
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    out = np.empty(len(vals))
    for i, v in enumerate(vals):
        out[i] = _one_confidence(i, v, table, missing)
    return out


def _one_confidence(i, v, table, missing):
    def bad(why=""):
        return ValueError(f"cannot read a confidence from {v!r} at row {i}{why}: expected a "
                          "probability (0.85), a percentage (85% or 85) or a phrase from "
                          "words.")

    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str)
                                                                and not v.strip()):
        if missing == "nan":
            return math.nan
        raise ValueError(f"missing confidence at row {i} ({v!r}); pass missing='nan' to keep "
                         "it as NaN.")
    if isinstance(v, (bool, np.bool_)):
        raise bad()
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        percent = False
    elif isinstance(v, str):
        s = " ".join(v.lower().split()).rstrip(".")
        if s in table:
            return table[s]
        percent = s.endswith("%")
        if percent:
            s = s[:-1].strip()
        if not _NUM.match(s):
            raise bad()
        x = float(s)
    else:
        raise bad()
    if not math.isfinite(x) or x < 0:
        raise bad()
    if percent or x > 1.0:
        if x > 100.0:
            raise bad(" (above 100%)")
        x /= 100.0
    return x
