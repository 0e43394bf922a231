"""The errors and warnings fastcal raises for bad input, and the messages of
kernel statuses.

Kernels report the first invalid element as ``(code, index)``;
:func:`raise_for_status` turns that into an :class:`InputError` naming the
argument, the expectation, what was found and the likely fix.
"""

import warnings

import numpy as np

from .._kernels import common as KC


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for this input (for example AUROC with one class)."""


class NotFittedError(ValueError, AttributeError):
    """A calibrator was used before ``fit`` (same bases as scikit-learn's)."""


class InputError(ValueError):
    """Bad input: a ``ValueError`` that also says, as attributes, which argument
    and which row is at fault, so that a program can act on it (or word it
    in its own terms) without reading the message.

    Raised for invalid values (labels outside 0/1 or [0, C), probabilities
    outside [0, 1], rows not summing to 1, NaN/inf logits or scores,
    negative or NaN weights), mismatched lengths and wrong shapes of an
    argument, by every public function, calibrator and accumulator; and by
    the file readers of the command line and of ``lm_eval_report``,
    ``openai_report`` and ``helm_report``.  A subclass of ``ValueError``: an
    ``except ValueError`` catches it, and its message is the same text.

    Attributes
    ----------
    param : str or None
        The argument at fault, as the function's message names it:
        ``"y_true"``, ``"y_prob"``, ``"y_score"``, ``"logits"``,
        ``"sample_weight"``, ``"score_b"``, ``"ignore_index"``, ... For two
        arguments whose lengths differ, the one checked against the other's
        rows (``y_true`` against ``y_prob``; ``sample_weight``). None for
        the errors of the file readers: their message names the file, line,
        data row and column itself.
    index : int or None
        The first offending row, 0-based, in the order of the input's rows
        (the first in index order, however the work was split into chunks
        or threads); (..., C) input counts its rows as
        ``y_prob.reshape(-1, C)`` does. None when the error is not about
        one row (a length, a shape, a sum over every row).
    column : int or None
        For (n, C) input, the column (class) of the offending entry in row
        ``index``; None otherwise.
    value : object or None
        The offending value as a Python scalar (the label, probability,
        logit or weight; the row's sum for a row that does not sum to 1).
    hint : str or None
        The fix the message suggests: ``"logits"`` (pass
        ``from_logits=True``, or logits instead of probabilities),
        ``"ignore_index"`` (pass ``ignore_index=value``), ``"multiclass"``
        (pass probabilities of shape (n, C) for multiclass labels), or None.
    model : str or None
        :func:`fastcal.compare`: the model whose input is at fault.
    problem : str
        The message as a :meth:`str.format` template whose fields are the
        words another interface may phrase its own way: ``{y_true}``,
        ``{y_prob}``, ``{sample_weight}``, ``{ignore_index}`` (how the
        message names those arguments), ``{at}`` (where the value was
        found: ``" at index 7"``, ``" in row 7"``), ``{row}`` (the row as
        the subject of a sentence: ``"row 7"``), ``{fix}`` (the fix of
        ``hint``: ``"pass from_logits=True"``) and ``{model}``
        (``"model 'a': "``).
    terms : dict
        The library's wording of each field of ``problem``:
        ``str(exc) == exc.problem.format(**exc.terms)``.

    Examples
    --------
    >>> import fastcal
    >>> try:
    ...     fastcal.ece([0, 1, 1], [0.2, 1.5, 0.7])
    ... except fastcal.InputError as exc:
    ...     print(exc)
    ...     print(exc.param, exc.index, exc.value, exc.hint)
    ...     print(exc.reword(y_prob="the scores", at="", fix="use logits"))
    y_prob must hold probabilities in [0, 1]; found 1.5 at index 1. If these are logits, pass from_logits=True.
    y_prob 1 1.5 logits
    the scores must hold probabilities in [0, 1]; found 1.5. If these are logits, use logits.
    """

    def __init__(self, message=None, *, param=None, index=None, column=None, value=None,
                 hint=None, model=None, problem=None, terms=None):
        terms = {} if terms is None else dict(terms)
        if problem is None:  # a message with no fields: the template is its text
            problem = _literal(message)
        if message is None:
            message = problem.format(**terms)
        super().__init__(message)
        self.param, self.index, self.column, self.value = param, index, column, value
        self.hint, self.model, self.problem, self.terms = hint, model, problem, terms

    def reword(self, **terms):
        """The message with some of its ``terms`` worded otherwise (the others
        as the library words them), e.g. ``reword(y_prob="--probs 'p'")``."""
        return self.problem.format(**dict(self.terms, **terms))


# tracebacks (and pickles) name the class where users find it: fastcal.InputError
InputError.__module__ = "fastcal"


def _literal(text):
    """``text`` as a :meth:`str.format` template without fields."""
    return str(text).replace("{", "{{").replace("}", "}}")


def input_error(problem, terms=None, **attrs):
    """An :class:`InputError` from its ``problem`` template and ``terms``."""
    return InputError(problem=problem, terms=terms, **attrs)


def model_error(exc, model):
    """``exc`` (an :class:`InputError`) about the input of model ``model`` of a
    comparison: its message starts with ``model 'name': ``."""
    return InputError(problem="{model}" + exc.problem,
                      terms=dict(exc.terms, model=f"model {model!r}: "), param=exc.param,
                      index=exc.index, column=exc.column, value=exc.value, hint=exc.hint,
                      model=model)


def _scalar(v):
    """``v`` as a Python scalar (``v`` itself when it is none)."""
    try:
        return v.item()
    except Exception:
        return v
def _fmt(v):
    try:
        return repr(v.item())
    except Exception:
        return repr(v)


def _f(v):
    """:func:`_fmt` for a template (see :class:`InputError`)."""
    return _literal(_fmt(v))

class _DecodedRows:
    """Rows of 16-bit float input (uint16 bits) decoded for error messages."""

    def __init__(self, bits, fmt):
        from .validation import half_table  # validation imports this module

        self._bits, self._tab = bits, half_table(fmt)
        self.ndim, self.shape = bits.ndim, bits.shape

    def __getitem__(self, i):
        return self._tab[self._bits[i]]


def raise_for_status(code, index, y_true, y_prob, sample_weight=None, prob_name="y_prob",
                     ignore_index=None, src=None):
    """Raise the :class:`InputError` for a kernel status; no-op for OK. ``src``
    names the format of 16-bit input passed as its bits."""
    if code == KC.OK:
        return
    exc = status_error(code, index, y_true, y_prob, sample_weight, prob_name, ignore_index, src)
    raise exc


def status_error(code, index, y_true, y_prob, sample_weight=None, prob_name="y_prob",
                 ignore_index=None, src=None):
    """The :class:`InputError` of a kernel status (see :func:`raise_for_status`)."""
    from .validation import _ONE_BITS

    i = int(index)
    if y_prob.dtype == np.uint16 and src in _ONE_BITS:
        y_prob = _DecodedRows(y_prob, src)
    terms = {"y_true": "y_true", "y_prob": prob_name, "at": f" at index {i}", "row": f"row {i}"}
    at = {"param": prob_name, "index": i}
    logits = {"hint": "logits", "fix": "pass from_logits=True"}
    if code == KC.BAD_BINARY_LABEL:
        terms["fix"] = f"pass {prob_name} of shape (n, C)"
        return input_error(
            f"{{y_true}} must be 0/1 (or bool) for a 1-D {{y_prob}}; found {_f(y_true[i])}{{at}}. "
            "For multiclass labels {fix}.", terms, param="y_true", index=i,
            value=_scalar(y_true[i]), hint="multiclass")
    if code == KC.BAD_CLASS_LABEL:
        C = y_prob.shape[1]
        hint = ""
        lab = y_true[i]
        kind = None
        if ignore_index is None and lab < 0 and float(lab).is_integer():
            # the integer, also for float labels (-1.0): what ignore_index takes
            hint = f" If {_f(lab)} marks padding, {{fix}}."
            terms["fix"] = f"pass ignore_index={int(lab)}"
            kind = "ignore_index"
        return input_error(
            f"{{y_true}} must hold integer class labels in [0, {C}) to match {{y_prob}} of shape "
            f"(n, {C}); found {_f(lab)}{{at}}.{hint}", terms, param="y_true", index=i,
            value=_scalar(lab), hint=kind)
    if code == KC.BAD_PROB:
        row = y_prob[i]
        column = None
        if y_prob.ndim == 2:
            bad = np.flatnonzero(~((row >= 0) & (row <= 1)))
            column = int(bad[0]) if bad.size else None
            v = row[column] if bad.size else row
            terms["at"] = f" in row {i}"
        else:
            v = row
        terms["fix"] = logits["fix"]
        return input_error(
            f"{{y_prob}} must hold probabilities in [0, 1]; found {_f(v)}{{at}}. "
            "If these are logits, {fix}.", terms, column=column, value=_scalar(v),
            hint="logits", **at)
    if code == KC.BAD_ROW_SUM:
        s = float(np.sum(y_prob[i], dtype=np.float64))
        terms["fix"] = logits["fix"]
        return input_error(
            f"each row of {{y_prob}} must sum to 1; {{row}} sums to {s:.9g}. "
            "If these are logits, {fix}; otherwise normalise the rows.", terms, value=s,
            hint="logits", **at)
    if code == KC.BAD_WEIGHT:
        terms["sample_weight"] = "sample_weight"
        return input_error(
            f"{{sample_weight}} must be finite and non-negative; found "
            f"{_f(sample_weight[i])}{{at}}.", terms, param="sample_weight", index=i,
            value=_scalar(sample_weight[i]))
    if code == KC.BAD_LOGIT:
        row = y_prob[i]
        if "logit" not in prob_name:
            terms["y_prob"] = f"{prob_name} (logits)"
        if y_prob.ndim == 2:
            r64 = np.asarray(row, dtype=np.float64)
            bad = np.flatnonzero(np.isnan(r64) | (r64 == np.inf))
            if bad.size == 0:
                return input_error(
                    "{y_prob}: {row} has no finite value (every entry is -inf); -inf marks a "
                    "masked class, and each row needs one that is not.", terms, **at)
            v = row[bad[0]]
            terms["at"] = f" in row {i}"
            return input_error(
                f"{{y_prob}} must be finite or -inf (a masked class); found {_f(v)}{{at}}.",
                terms, column=int(bad[0]), value=_scalar(v), **at)
        return input_error(f"{{y_prob}} must be finite; found {_f(row)}{{at}}.", terms,
                           value=_scalar(row), **at)
    if code == KC.BAD_SCORE:
        return input_error(f"{{y_prob}} must be finite; found {_f(y_prob[i])}{{at}}.", terms,
                           value=_scalar(y_prob[i]), **at)
    raise RuntimeError(f"internal error: unknown kernel status {code}")  # pragma: no cover


def warn_undefined(msg):
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=3)


_WEIGHT = {"sample_weight": "sample_weight"}


def weight_sum_error(kept=False):
    """The error for weights that sum to zero (over the rows kept, with
    ``kept``: those without the ignored label)."""
    if kept:
        return input_error("{sample_weight} sums to zero over the rows kept (those without the "
                           "ignored label); at least one of them needs a positive weight.",
                           _WEIGHT, param="sample_weight")
    return input_error("{sample_weight} sums to zero; at least one sample needs a positive "
                       "weight.", _WEIGHT, param="sample_weight")


def all_ignored_error():
    """The error for input whose every row has the ``ignore_index`` label."""
    return input_error("no row is left to score: every row has the ignored label "
                       "({ignore_index}).", {"ignore_index": "ignore_index"}, param="y_true",
                       hint="ignore_index")
