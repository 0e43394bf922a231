"""What every calibrator shares: the fitted check, the check that predict's
input has the shape the calibrator was fitted on, and the versioned
``to_dict``/``from_dict`` envelope.

A subclass names its envelope (``_FORMAT``, ``_VERSION``), the attribute
``fit`` sets (``_FITTED``), its parameters (``_PARAMS``) and writes
``_params_state``/``_fitted_state``; ``from_dict`` opens the envelope with
:meth:`Calibrator._open` and reads the rest itself (docs/calibrators.md).
"""

from ..core import errors as E
from ..core import validation as V
from ..core.pipeline import toplabel_confidence
from ..core.state_check import REQUIRED, Check


class Calibrator:
    """Base of the four calibrators (not public)."""

    _FORMAT = ""  # the envelope's "format" value
    _FORMAT_KEY = "format"
    _VERSION = 1
    _FITTED = ""  # the attribute fit sets
    _FIT_CALL = "fit(y_prob, y_true)"
    _PARAMS = ()  # the constructor's parameters, as to_dict writes them and repr shows them
    # from_dict's messages for a dict of another kind and for a newer version
    _WRONG_ENVELOPE = ("d must be a dict made by {name}.to_dict() (format {format!r}); "
                       "found {found}.")
    _NEWER = "d has version {v}; this fastcal reads up to {version}."

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS)
        return f"{type(self).__name__}({args})"

    # -- fitted state ---------------------------------------------------------
    def _is_fitted(self):
        return hasattr(self, self._FITTED)

    def _check_fitted(self):
        if not self._is_fitted():
            raise E.NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                   f"call {self._FIT_CALL} first.")

    def _check_shape(self, binary, n_classes, shape, what="input"):
        """The message for input of another shape than the fit's, or None."""
        if binary == self.binary_ and (binary or n_classes == self.n_classes_):
            return None
        fitted = f"binary (n,) {what}" if self.binary_ else f"{self.n_classes_} classes"
        found = f"binary (n,) {what}" if binary else f"{n_classes} classes"
        return (f"{{y_prob}} must have the shape the calibrator was fitted on: fitted on "
                f"{fitted}, found {found} (shape {shape}).")

    # -- serialisation ----------------------------------------------------------
    def _params_state(self):
        raise NotImplementedError

    def _fitted_state(self):
        raise NotImplementedError

    def to_dict(self):
        """JSON-serialisable state (fitted or not)."""
        d = {self._FORMAT_KEY: self._FORMAT, "version": self._VERSION,
             "params": self._params_state()}
        if self._is_fitted():
            d["fitted"] = self._fitted_state()
        return d

    @staticmethod
    def _restore(obj, **fitted):
        """``obj`` with the fitted attributes ``<name>_`` set from ``fitted``."""
        for k, v in fitted.items():
            setattr(obj, k + "_", v)
        return obj

    @classmethod
    def _open(cls, d, params_default=REQUIRED):
        """``(check, version, params)`` of a :meth:`to_dict` dict: the envelope
        and the version checked, no unknown parameter."""
        if not isinstance(d, dict) or d.get(cls._FORMAT_KEY) != cls._FORMAT:
            raise ValueError(cls._WRONG_ENVELOPE.format(
                name=cls.__name__, format=cls._FORMAT, found=type(d).__name__))
        C = Check(cls.__name__)

        def newer(v):
            raise ValueError(cls._NEWER.format(v=v, version=cls._VERSION))

        version = C.version(C.get(d, "version", "version"), range(1, cls._VERSION + 1), newer)
        p = C.mapping(C.get(d, "params", "params",
                            params_default(version) if callable(params_default) else
                            params_default), "params")
        extra = sorted(str(k) for k in p if k not in cls._PARAMS)
        if extra:
            C.fail("params", f"a dict of {', '.join(cls._PARAMS)}", f"unknown key {extra[0]}")
        return C, version, p

    @staticmethod
    def _read_classes(C, f, binary_what="a binary fit"):
        """``(binary, n_classes)`` of a fitted state."""
        binary = C.boolean(C.get(f, "binary", "fitted.binary"), "fitted.binary")
        n_classes = C.integer(C.get(f, "n_classes", "fitted.n_classes"),
                              "fitted.n_classes", lo=2)
        if binary and n_classes != 2:
            C.fail("fitted.n_classes", f"2 for {binary_what}", n_classes)
        return binary, n_classes


class ConfidenceCalibrator(Calibrator):
    """A calibrator of one confidence per sample: binary probabilities (or
    logits), or the top-label confidence of (n, C) input."""

    def _predict(self, p, logits, src):
        """``(out, bad)`` of the fitted map on confidences ``p`` (of dtype
        ``src``); ``bad`` is the first invalid index or -1."""
        raise NotImplementedError

    def predict_proba(self, y_prob, *, from_logits=False):
        """Calibrated probabilities: (n,) for binary input, the recalibrated
        top-label confidence (n,) for (n, C) input."""
        self._check_fitted()
        p, src = V.as_prob(y_prob, "y_prob")
        binary = p.ndim == 1
        msg = self._check_shape(binary, None if binary else p.shape[1], p.shape)
        if msg is not None:
            raise ValueError(msg.format(y_prob="y_prob"))
        if p.shape[0] == 0:
            raise ValueError("y_prob is empty; at least one sample is required.")
        L = V.on(from_logits)
        if not binary:
            p, src = toplabel_confidence(p, from_logits)
            L = None
        out, bad = self._predict(p, L, src)
        if bad >= 0:
            if L is not None:
                raise ValueError(f"y_prob (logits) must be finite; found {float(p[bad])!r} "
                                 f"at index {bad}.")
            raise ValueError(f"y_prob must hold probabilities in [0, 1]; found "
                             f"{float(p[bad])!r} at index {bad}. If these are logits, pass "
                             f"from_logits=True.")
        return out

    def transform(self, y_prob, *, from_logits=False):
        """Alias of :meth:`predict_proba`."""
        return self.predict_proba(y_prob, from_logits=from_logits)
