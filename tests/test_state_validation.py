"""Issue 16, item 9: every ``from_dict`` and ``__setstate__`` checks values as the
constructors do and names the bad field; a property-based fuzz of tampered states
(random edits of valid ones) finds no crash and no silent load of a changed value."""

import copy
import functools
import json
import math
import os
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastcal import (
    CalibrationAccumulator,
    GaugeRecorder,
    HistogramBinning,
    IsotonicRegression,
    PlattScaling,
    TemperatureScaling,
    WindowedAccumulator,
)
from fastcal.streaming.auroc_accumulator import AUROCAccumulator

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")


def _data(n=300, seed=0, C=None):
    rng = np.random.default_rng(seed)
    if C is None:
        p = np.round(rng.random(n), 3)
        return (rng.random(n) < p).astype(np.int64), p
    z = rng.normal(0, 2, (n, C))
    P = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return rng.integers(0, C, n), P


def json_round(d):
    return json.loads(json.dumps(d))


# ------------------------------------------------------------------------------
# the cases of the issue, each with the field named


def _cal_state():
    y, p = _data()
    return CalibrationAccumulator(5).update(y, p).to_dict()


@pytest.mark.parametrize("path, value, field", [
    (("n",), -5, "n"),
    (("layout",), "evil", "layout"),
    (("version",), 0, "version"),
    (("version",), -1, "version"),
    (("version",), True, "version"),
    (("version",), "2", "version"),
    (("settings", "right"), "False", "settings.right"),
    (("settings", "half_life"), 0, "settings.half_life"),
    (("settings", "half_life"), -1, "settings.half_life"),
    (("settings", "half_life"), float("nan"), "settings.half_life"),
    (("settings", "n_bins"), 5.0, "settings.n_bins"),
    (("settings", "classwise"), 1, "settings.classwise"),
    (("hi", 3), float("nan"), r"hi\[3\]"),
    (("hi", 0), -1.0, r"hi\[0\] \+ lo\[0\]"),
    (("hi", 10), 1e6, r"hi\[0:3 n_bins\] \(bin 0\)"),  # more correct weight than weight
    (("weighted",), "no", "weighted"),
    (("nll_modes", 0), "float8", r"nll_modes\[0\]"),
    (("t",), 3.0, "t"),
])
def test_calibration_accumulator_values_are_checked(path, value, field):
    d = _cal_state()
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=rf"invalid CalibrationAccumulator state: {field} must"):
        CalibrationAccumulator.from_dict(d)


def test_calibration_accumulator_right_false_string_was_loaded_as_true():
    d = _cal_state()
    d["settings"]["right"] = "False"
    with pytest.raises(ValueError, match=r"settings.right must be True or False; found 'False'"):
        CalibrationAccumulator.from_dict(d)
    with pytest.raises(ValueError, match=r"pickled CalibrationAccumulator state: settings.right"):
        CalibrationAccumulator.__new__(CalibrationAccumulator).__setstate__(
            dict(pickle.loads(pickle.dumps(d)), settings=d["settings"]))


@pytest.mark.parametrize("edit, field", [
    (lambda c: c["index"].__setitem__(0, -3), r"cells\.index\[0\] must be an integer in"),
    (lambda c: c["index"].__setitem__(0, 188419), r"cells\.index\[0\] must be an integer in"),
    (lambda c: c["neg"].__setitem__(0, -1.0), r"cells\.neg\[0\] must be a finite number >= 0"),
    (lambda c: c["pos"].__setitem__(1, float("nan")), r"cells\.pos\[1\] must be a finite"),
    (lambda c: c["index"].reverse(), r"cells\.index\[1\] must be greater than"),
    (lambda c: c["score"].__setitem__(0, 0.99), r"cells\.score\[0\] must be a score that falls"),
    (lambda c: c["score"].__setitem__(0, "0.2"), r"cells\.score must be a list of numbers"),
    (lambda c: c["neg"].pop(), r"cells\.neg must have length 2; found length 1"),
])
def test_auroc_accumulator_cells_are_checked(edit, field):
    d = AUROCAccumulator().update([0, 1], [0.2, 0.7]).to_dict()
    edit(d["cells"])
    with pytest.raises(ValueError, match=rf"invalid AUROCAccumulator state: {field}"):
        AUROCAccumulator.from_dict(d)


@pytest.mark.parametrize("key, value", [("version", "2"), ("version", True), ("n", -1),
                                        ("n", 2.0), ("exact", "False"), ("transform", "tanh"),
                                        ("score_range", [1, 0])])
def test_auroc_accumulator_settings_are_checked(key, value):
    d = AUROCAccumulator().update([0, 1], [0.2, 0.7]).to_dict()
    d[key] = value
    with pytest.raises(ValueError, match=rf"invalid AUROCAccumulator state: {key}"):
        AUROCAccumulator.from_dict(d)


def test_auroc_pickled_state_is_checked():
    acc = AUROCAccumulator().update([0, 1, 1], [0.2, 0.7, 0.9])
    v, d = acc.__getstate__()
    cells = np.frombuffer(d["cells"], "<i4").copy()
    cells[0] = -5  # wrapped to the last cells before
    bad = dict(d, cells=cells.astype("<i4").tobytes())
    with pytest.raises(ValueError, match=r"pickled AUROCAccumulator state: index\[0\] must be"):
        AUROCAccumulator.__new__(AUROCAccumulator).__setstate__((v, bad))
    vals = np.frombuffer(d["values"], "<f8").copy()
    vals[0] = -2.0
    with pytest.raises(ValueError, match=r"neg\[0\] must be a finite number >= 0"):
        AUROCAccumulator.__new__(AUROCAccumulator).__setstate__(
            (v, dict(d, values=vals.tobytes())))
    with pytest.raises(ValueError, match=r"state: version must be an integer in 1\.\.2; found '1'"):
        AUROCAccumulator.__new__(AUROCAccumulator).__setstate__(("1", d))


def test_isotonic_thresholds_are_checked():
    X = np.linspace(0, 1, 50)
    ir = IsotonicRegression().fit(X, X ** 2)
    d = ir.to_dict()
    d["fitted"]["X_thresholds_"] = d["fitted"]["X_thresholds_"][::-1]
    with pytest.raises(ValueError, match=r"fitted\.X_thresholds_\[1\] must be greater than the "
                                         r"previous threshold"):
        IsotonicRegression.from_dict(d)  # used to predict NaN everywhere
    d = ir.to_dict()
    d["fitted"]["X_thresholds_"] = [[v] for v in d["fitted"]["X_thresholds_"]]
    with pytest.raises(ValueError, match=r"fitted\.X_thresholds_ must be a list of numbers"):
        IsotonicRegression.from_dict(d)  # used to raise a Numba TypingError at predict
    d = ir.to_dict()
    d["fitted"]["y_thresholds_"][3] = 5.0
    with pytest.raises(ValueError, match=r"fitted\.y_thresholds_\[4\] must be at least"):
        IsotonicRegression.from_dict(d)
    d = IsotonicRegression(y_max=0.5).fit(X, X).to_dict()
    d["fitted"]["y_thresholds_"][-1] = 0.75
    with pytest.raises(ValueError, match=r"y_thresholds_\[\d+\] must be a finite number in "
                                         r"\[-inf, 0.5\]|y_thresholds_\[\d+\] must be a finite "
                                         r"number <= 0.5"):
        IsotonicRegression.from_dict(d)
    d = IsotonicRegression().fit(X.astype(np.float32), X.astype(np.float32)).to_dict()
    d["fitted"]["y_thresholds_"][1] = 0.1  # not a float32 value: would be rounded silently
    with pytest.raises(ValueError, match=r"must be a value exact in float32"):
        IsotonicRegression.from_dict(d)


def test_histogram_binning_values_are_probabilities():
    p = np.linspace(0, 1, 40)
    d = HistogramBinning(n_bins=4).fit(p, p > 0.5).to_dict()
    d["fitted"]["bin_values"][2] = 7.0
    with pytest.raises(ValueError, match=r"fitted\.bin_values\[2\] must be a finite number in "
                                         r"\[0.0, 1.0\]; found 7.0"):
        HistogramBinning.from_dict(d)  # predicted 7.0 before
    d = HistogramBinning(n_bins=4).fit(p, p > 0.5).to_dict()
    d["fitted"]["bin_edges"][1] = 0.3
    with pytest.raises(ValueError, match=r"bin_edges must be np.linspace\(0, 1, 5\)"):
        HistogramBinning.from_dict(d)
    d = HistogramBinning(n_bins=4).fit(p, p > 0.5).to_dict()
    d["params"]["right"] = "False"
    with pytest.raises(ValueError, match=r"params\.right must be True or False"):
        HistogramBinning.from_dict(d)


def test_temperature_binary_flag_must_be_a_bool():
    z = np.random.default_rng(0).normal(size=100)
    d = TemperatureScaling().fit(z, (z > 0).astype(int)).to_dict()
    d["fitted"]["binary"] = "false"
    with pytest.raises(ValueError, match=r"fitted\.binary must be True or False; found 'false'"):
        TemperatureScaling.from_dict(d)  # became True before
    d["fitted"]["binary"] = True
    d["fitted"]["temperature"] = 1e-300
    with pytest.raises(ValueError, match=r"fitted\.temperature must be in \[T_MIN, T_MAX\]"):
        TemperatureScaling.from_dict(d)


def test_platt_parameters_are_finite_reals():
    p = np.linspace(0.05, 0.95, 50)
    d = PlattScaling(smooth=True).fit(p, p > 0.4).to_dict()
    for bad in (float("nan"), float("inf"), "1.5", True, None):
        e = copy.deepcopy(d)
        e["fitted"]["a"] = bad
        with pytest.raises(ValueError, match=r"invalid PlattScaling state: fitted\.a must be"):
            PlattScaling.from_dict(e)
    e = copy.deepcopy(d)
    e["params"]["smooth"] = "yes"
    with pytest.raises(ValueError, match=r"params\.smooth must be True or False"):
        PlattScaling.from_dict(e)


# ------------------------------------------------------------------------------
# fuzz: random edits of valid states

def _acc_states():
    y, p = _data(400, 1)
    yc, P = _data(300, 2, C=3)
    w = np.random.default_rng(3).random(400)
    accs = {
        "bounded": CalibrationAccumulator(5).update(y, p),
        "weighted": CalibrationAccumulator(4, right=False).update(y, p, sample_weight=w),
        "top-label, no AUROC": CalibrationAccumulator(6, auroc=None).update(yc, P),
        "classwise, exact AUROC": CalibrationAccumulator(3, classwise=True, auroc="exact")
        .update(yc, P),
        "decayed": CalibrationAccumulator(5, half_life=50.0).update(y[:200], p[:200])
        .update(y[200:], p[200:]),
        "bootstrap": CalibrationAccumulator(3, n_resamples=4, random_state=7, stream=2)
        .update(y, p),
        "empty": CalibrationAccumulator(3),
    }
    return accs


def _auroc_states():
    y, p = _data(200, 4)
    w = np.random.default_rng(5).random(200)
    return {
        "bounded": AUROCAccumulator().update(y, p).update([0, 1], [0.4, 0.400001]),
        "exact": AUROCAccumulator(True).update(y, p, sample_weight=w),
        "exact, unweighted": AUROCAccumulator(True).update(y[:20], p[:20]),
        "exact, empty": AUROCAccumulator(True),
        "sigmoid": AUROCAccumulator(transform="sigmoid").update(y, p * 40 - 20),
        "score_range": AUROCAccumulator(score_range=(-2, 2)).update(y, p * 4 - 2),
    }


def _calibrators():
    rng = np.random.default_rng(6)
    p = np.round(rng.uniform(0.02, 0.98, 300), 3)
    y = (rng.random(300) < p).astype(int)
    z = rng.normal(0, 2, (300, 3))
    yc = rng.integers(0, 3, 300)
    return {
        "isotonic": IsotonicRegression(y_min=0.05).fit(p, y),
        "isotonic float32": IsotonicRegression(increasing=False, out_of_bounds="clip")
        .fit(p.astype(np.float32), 1 - y),
        "isotonic unfitted": IsotonicRegression(increasing="auto"),
        "histogram uniform": HistogramBinning(n_bins=6).fit(p, y),
        "histogram quantile top-label": HistogramBinning(n_bins=4, strategy="quantile",
                                                         right=False).fit(z, yc, from_logits=True),
        "temperature": TemperatureScaling().fit(z, yc),
        "temperature binary ece": TemperatureScaling(objective="ece", n_bins=5)
        .fit(z[:, 0], (z[:, 0] > 0).astype(int)),
        "platt": PlattScaling().fit(p, y),
        "platt smooth": PlattScaling(smooth=True).fit(p, y),
        "platt unfitted": PlattScaling(),
    }


def _windowed():
    y, p = _data(90, 8)
    w = WindowedAccumulator(2, n_bins=4)
    for k in range(3):
        w.update(y[30 * k:30 * k + 30], p[30 * k:30 * k + 30])
    rec = GaugeRecorder(CalibrationAccumulator(4), every=2, gauges=("ece", "n"))
    for k in range(3):
        rec.update(y[30 * k:30 * k + 30], p[30 * k:30 * k + 30])
    return {"windowed": w, "recorder": rec}


@functools.cache
def objects():
    """The states above by name, built on first use: building them compiles
    kernels for about half a minute, which at import time every test worker
    paid while collecting, whether or not it ran this file."""
    out = {}
    for group in (_acc_states, _auroc_states, _calibrators, _windowed):
        for k, v in group().items():
            out[f"{type(v).__name__}: {k}"] = v
    return out


# Their names and classes, for collection (parametrize) without building
# them; test_the_state_table_is_the_objects checks the two agree.
_CLASSES = {c.__name__: c for c in (CalibrationAccumulator, AUROCAccumulator, WindowedAccumulator,
                                     GaugeRecorder, IsotonicRegression, HistogramBinning,
                                     TemperatureScaling, PlattScaling)}
NAMES = [
    "CalibrationAccumulator: bounded", "CalibrationAccumulator: weighted",
    "CalibrationAccumulator: top-label, no AUROC",
    "CalibrationAccumulator: classwise, exact AUROC", "CalibrationAccumulator: decayed",
    "CalibrationAccumulator: bootstrap", "CalibrationAccumulator: empty",
    "AUROCAccumulator: bounded", "AUROCAccumulator: exact", "AUROCAccumulator: exact, unweighted",
    "AUROCAccumulator: exact, empty", "AUROCAccumulator: sigmoid",
    "AUROCAccumulator: score_range",
    "IsotonicRegression: isotonic", "IsotonicRegression: isotonic float32",
    "IsotonicRegression: isotonic unfitted",
    "HistogramBinning: histogram uniform", "HistogramBinning: histogram quantile top-label",
    "TemperatureScaling: temperature", "TemperatureScaling: temperature binary ece",
    "PlattScaling: platt", "PlattScaling: platt smooth", "PlattScaling: platt unfitted",
    "WindowedAccumulator: windowed", "GaugeRecorder: recorder",
]


def _class_of(name):
    return _CLASSES[name.split(":")[0]]


JSON_KINDS = [k for k in NAMES if hasattr(_class_of(k), "to_dict")]
PICKLE_KINDS = [k for k in NAMES if "__setstate__" in _class_of(k).__dict__]


def _load_json(obj, state):
    return type(obj).from_dict(state)


def _load_pickle(obj, state):
    new = type(obj).__new__(type(obj))
    new.__setstate__(state)
    return new


def _save_json(obj):
    return obj.to_dict()


def _save_pickle(obj):
    return obj.__getstate__()


# -- walking and editing a state tree ------------------------------------------

def _children(x):
    if isinstance(x, dict):
        return list(x.keys())
    if isinstance(x, (list, tuple)):
        return list(range(len(x)))
    if isinstance(x, np.ndarray) and x.ndim >= 1 and x.size:
        return list(range(x.shape[0]))
    if isinstance(x, (AUROCAccumulator, CalibrationAccumulator)):
        return ["<state>"]
    return []


def _get(x, k):
    if k == "<state>":
        return x.__getstate__()
    return x[k]


def _paths(x, prefix=(), depth=0):
    """Every path into the state (lists: a few of their elements)."""
    yield prefix
    if depth > 6:
        return
    ks = _children(x)
    if len(ks) > 6 and not isinstance(x, dict):
        ks = [0, 1, len(ks) // 2, len(ks) - 1]
    for k in ks:
        yield from _paths(_get(x, k), prefix + (k,), depth + 1)


def _thaw(x):
    """A deep copy in which tuples are lists (to edit in place) - except the
    top-level pickled (version, dict) pairs, re-tupled by _refreeze."""
    return copy.deepcopy(x)


def _set(root, path, fn):
    """A copy of ``root`` with the value at ``path`` replaced by ``fn(old)``
    (``fn`` returns _DELETE to delete it). Tuples and objects on the way are rebuilt."""
    if not path:
        return fn(root)
    k, rest = path[0], path[1:]
    if k == "<state>":  # an AUROCAccumulator inside a pickled state: edit its state
        st = _set(root.__getstate__(), rest, fn)
        new = type(root).__new__(type(root))
        new.__setstate__(st)  # may raise: that is a load of the tampered state too
        return new
    if isinstance(root, tuple):
        lst = list(root)
        v = _set(lst[k], rest, fn)
        if v is _DELETE:
            del lst[k]
        else:
            lst[k] = v
        return tuple(lst)
    if isinstance(root, np.ndarray):
        a = root.copy()
        v = _set(a[k], rest, fn)
        if v is _DELETE:
            return np.delete(a, k, axis=0)
        try:
            a[k] = v
        except (TypeError, ValueError, OverflowError):
            a = a.astype(object)
            a[k] = v
        return a
    c = copy.copy(root)
    v = _set(c[k], rest, fn)
    if v is _DELETE:
        del c[k]
    else:
        c[k] = v
    return c


_DELETE = object()

REPLACEMENTS = ["x", "1", "False", "True", "", True, False, None, [], {}, 0, 1, -1, 2,
                1.5, -0.5, 0.0, -0.0, 2 ** 70, -(2 ** 70), float("nan"), float("inf"),
                float("-inf"), 1e308, 5e-324, b"\x00\x01", (1, 2), [0.5, 0.5], {"a": 1}]


def _edits():
    """(name, fn(old) -> new) of one field edit."""
    simple = [(f"= {r!r}", (lambda r: lambda old: copy.deepcopy(r))(r)) for r in REPLACEMENTS]

    def num(f):
        def g(old):
            if isinstance(old, (bool, np.bool_)):
                return not old
            if isinstance(old, (int, float, np.number)):
                return f(old)
            return old
        return g

    def seq(f):
        def g(old):
            if isinstance(old, (list, tuple, np.ndarray, bytes)) and len(old):
                return f(old)
            return old
        return g

    def cat(a, b):
        if isinstance(a, np.ndarray):
            return np.concatenate([a, b[:1]])
        return a + b[:1]

    return simple + [
        ("delete", lambda old: _DELETE),
        ("negate", num(lambda v: -v if v else -1)),
        ("plus one", num(lambda v: v + 1)),
        ("times 1e300", num(lambda v: v * 1e300 if v else 1e300)),
        ("to float", num(float)),
        ("to str", num(str)),
        ("truncate", seq(lambda v: v[:-1])),
        ("append", seq(lambda v: cat(v, v))),
        ("reverse", seq(lambda v: v[::-1])),
        ("to list", seq(lambda v: list(v) if not isinstance(v, bytes) else v.decode("latin-1"))),
        ("to ints", seq(lambda v: np.asarray(v).astype(np.int64)
                        if not isinstance(v, bytes) else v)),
        ("2-D", seq(lambda v: [list(v)] if not isinstance(v, bytes) else v)),
    ]


EDITS = _edits()


# -- comparing states -----------------------------------------------------------

def canon(x):
    """A comparable form: bools apart from numbers, NaN equal to itself (and to the
    None strict JSON writes for it), arrays and tuples as lists, objects as states."""
    if isinstance(x, (bool, np.bool_)):
        return ("bool", bool(x))
    if isinstance(x, (int, float, np.integer, np.floating)):
        v = float(x) if not isinstance(x, (int, np.integer)) or abs(x) < 2 ** 53 else int(x)
        if isinstance(v, float) and math.isnan(v):
            return ("nan",)
        return ("num", v + 0.0 if isinstance(v, float) else v)
    if isinstance(x, np.ndarray):
        return [canon(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    if isinstance(x, set):
        return sorted(canon(v) for v in x)
    if isinstance(x, dict):
        return {("key", str(k)): canon(v) for k, v in x.items()}
    if isinstance(x, (AUROCAccumulator, CalibrationAccumulator)):
        return ("object", canon(x.__getstate__()))
    if isinstance(x, bytes):
        return ("bytes", x)
    return x


def _at(x, path):
    for k in path:
        x = _get(x, k)
    return x


def _exists(x, path):
    try:
        _at(x, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def _use(obj):
    """compute()/predict() on the loaded object: may raise a ValueError with a
    message (an empty accumulator, an unfitted calibrator), nothing else."""
    rng = np.random.default_rng(9)
    try:
        if isinstance(obj, (CalibrationAccumulator, WindowedAccumulator)):
            obj.compute()
        elif isinstance(obj, GaugeRecorder):
            obj.accumulator.compute()
        elif isinstance(obj, AUROCAccumulator):
            obj.compute(), obj.bounds()
        elif isinstance(obj, IsotonicRegression):
            obj.predict(rng.random(20))
        elif isinstance(obj, TemperatureScaling):
            C = getattr(obj, "n_classes_", 3)
            obj.predict_proba(rng.normal(size=20) if getattr(obj, "binary_", False)
                              else rng.normal(size=(20, C)))
        else:  # HistogramBinning, PlattScaling: binary or top-label probabilities
            if getattr(obj, "binary_", True):
                obj.predict_proba(rng.random(20))
            else:
                obj.predict_proba(rng.dirichlet(np.ones(obj.n_classes_), 20))
    except ValueError as e:
        assert str(e), "a ValueError without a message"


def check_tampered(kind, fmt, data):
    """Load one tampered state; assert the property of the issue."""
    obj = objects()[kind]
    save, load = (_save_json, _load_json) if fmt == "json" else (_save_pickle, _load_pickle)
    original = json_round(save(obj)) if fmt == "json" else save(obj)
    path = data.draw(st.sampled_from(list(_paths(original))), label="path")
    name, edit = data.draw(st.sampled_from(EDITS), label="edit")
    try:
        tampered = _set(original, path, edit)
        loaded = load(obj, tampered)
    except (ValueError, TypeError) as e:
        assert str(e), "an error without a message"
        return "refused"
    # it loaded: it must be usable, and say what the state said
    _use(loaded)
    again = save(loaded)
    if path and path[0] == "version" or (fmt == "pickle" and path == (0,)
                                         and isinstance(original, tuple)):
        return "loaded"  # an older supported version: saved as the current one
    if _exists(tampered, path):
        want = _at(tampered, path)
        got = _at(again, path) if _exists(again, path) else _DELETE
    elif _exists(again, path):  # an optional field deleted: its default must be what was there
        want, got = _at(original, path), _at(again, path)
    else:  # deleted, and absent again (an unfitted calibrator: no "fitted")
        want = got = None
    nan_as_none = want is None and isinstance(got, float) and math.isnan(got)  # strict JSON
    assert canon(got) == canon(want) or nan_as_none, (
        f"{kind} ({fmt}): edit {name} at {path} loaded silently as {got!r}, the state said "
        f"{want!r}")
    # and the loaded state is one that loads again to the same
    assert canon(save(load(obj, again))) == canon(again)
    return "loaded"


# 40 fixed examples per state in the suite; FASTCAL_FUZZ_EXAMPLES=2000 for a longer,
# random search
_N = os.environ.get("FASTCAL_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_N or 40), deadline=None, derandomize=_N is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind", JSON_KINDS)
@FUZZ
@given(data=st.data())
def test_fuzz_from_dict(kind, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_tampered(kind, "json", data)


@pytest.mark.parametrize("kind", PICKLE_KINDS)
@FUZZ
@given(data=st.data())
def test_fuzz_setstate(kind, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_tampered(kind, "pickle", data)


@pytest.mark.parametrize("kind", sorted(set(JSON_KINDS) | set(PICKLE_KINDS)))
def test_untampered_states_load_and_round_trip(kind):
    obj = objects()[kind]
    if kind in JSON_KINDS:
        d = json_round(obj.to_dict())
        assert canon(type(obj).from_dict(d).to_dict()) == canon(d)
    again = pickle.loads(pickle.dumps(obj))
    assert canon(again.__getstate__()) == canon(obj.__getstate__()) or kind not in PICKLE_KINDS
    _use(again)


def test_the_state_table_is_the_objects():
    assert list(objects()) == NAMES
    assert all(type(v) is _class_of(k) for k, v in objects().items())


def test_every_stateful_class_is_fuzzed():
    classes = {type(v) for v in objects().values()}
    assert classes == {CalibrationAccumulator, AUROCAccumulator, WindowedAccumulator,
                       GaugeRecorder, IsotonicRegression, HistogramBinning, TemperatureScaling,
                       PlattScaling}
    names = " ".join(objects())
    for mode in ("bootstrap", "exact AUROC", "decayed", "classwise", "sigmoid", "unfitted"):
        assert mode in names
