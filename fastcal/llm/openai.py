"""OpenAI-style chat completions with logprobs (also what vLLM and other
compatible servers return): the first generated token as the answer, its
probability (or its share among given options) as the confidence, and the
join with a gold file.

Lines are chat-completion objects, or Batch API output lines
``{"custom_id": ..., "response": {"body": <chat completion>}}`` in any order.
They are read by the byte scanner (:mod:`fastcal.io.jsonscan`) in blocks.
"""

import csv
import json
import os
from collections import namedtuple

import numpy as np

from ..io import jsonscan as J
from ..io.jsonl import json_objects
from ..io.readers import InputError
from ..metrics.report import calibration_report

KEY, TOKEN, LOGPROB, TOP_TOKEN, TOP_LOGPROB = range(5)
_FIRST = "choices[0].logprobs.content[0]."
_FIELDS = {"token": TOKEN, "logprob": LOGPROB, "top_logprobs[*].token": TOP_TOKEN,
           "top_logprobs[*].logprob": TOP_LOGPROB}
PATHS = J.Paths({"custom_id": KEY,
                 **{_FIRST + f: lf for f, lf in _FIELDS.items()},
                 **{"response.body." + _FIRST + f: lf for f, lf in _FIELDS.items()}})
#: a log-probability at or below this is the "very unlikely" sentinel: probability 0
SENTINEL = -9999.0

OpenAIConfidence = namedtuple("OpenAIConfidence", ["keys", "answers", "confidence"])
OpenAIConfidence.__doc__ = """Answers and confidences of chat completions.

keys : ndarray
    The lines' ``custom_id`` (str), or their positions 0, 1, ... (int64)
    when the lines have none.
answers : ndarray of str
    The first generated token, stripped of whitespace.
confidence : ndarray of float64
    Its probability, or its share of the options' probabilities."""


def _pack(text):
    b = text.encode("utf-8")
    return int.from_bytes(b, "little") if len(b) <= 8 and b.isascii() else None


def _options(options):
    if options is None:
        return None
    if isinstance(options, str):
        options = options.split(",")
    opts = [str(o).strip() for o in options]
    if len(opts) < 2 or any(not o for o in opts) or len(set(opts)) != len(opts):
        raise ValueError(f"options must be at least two distinct non-empty strings; found "
                         f"{list(options)!r}.")
    return opts


def _option_index(b, rows, opts):
    """The option index of each record's stripped string (-1: none)."""
    idx = np.full(rows.shape[0], -1, np.int64)
    if rows.shape[0] == 0:
        return idx
    fl = b.rec[rows, J.FLAGS]
    packed = (fl & J.IS_PACKED) != 0
    codes = [(c, k) for k, c in enumerate(_pack(o) for o in opts) if c is not None]
    if codes:
        cs = np.array(sorted(codes), np.int64)
        pk = b.rec[rows[packed], J.PACKED]
        j = np.minimum(np.searchsorted(cs[:, 0], pk), cs.shape[0] - 1)
        idx[packed] = np.where(cs[j, 0] == pk, cs[j, 1], -1)
    other = np.flatnonzero(~packed)
    if other.size:
        lookup = {o: k for k, o in enumerate(opts)}
        for i, t in zip(other, b.stripped(rows[other])):
            idx[i] = lookup.get(str(t), -1)
    return idx


def _one_each(b, leaf, file, field, keys):
    """The record row of ``leaf`` of each object; an error for a line without."""
    rows = np.flatnonzero(b.rec[:, J.LEAF] == leaf)
    n = len(b.lines)
    have = np.bincount(b.rec[rows, J.OBJ], minlength=n)
    if (have != 1).any():
        i = int(np.argmax(have != 1))
        who = f" (custom_id {str(keys[i])!r})" if keys is not None else ""
        raise InputError(f"{file}, line {b.lines[i]}{who}, field {field}: "
                         + ("missing (was the request made with logprobs=true? a failed batch "
                            "request has none)." if have[i] == 0 else "appears twice."))
    return rows


def _block(b, file, opts, state):
    n = len(b.lines)
    kr = np.flatnonzero(b.rec[:, J.LEAF] == KEY)
    has_key = np.bincount(b.rec[kr, J.OBJ], minlength=n) > 0
    if state["keyed"] is None:
        state["keyed"] = bool(has_key[0])
    if (has_key != state["keyed"]).any():
        i = int(np.argmax(has_key != state["keyed"]))
        raise InputError(f"{file}, line {b.lines[i]}, field custom_id: "
                         + ("missing, while other lines have one." if state["keyed"] else
                            "present, while other lines have none."))
    keys = None
    if state["keyed"]:
        kr = _one_each(b, KEY, file, "custom_id", None)
        keys = b.texts(kr)
    tok = _one_each(b, TOKEN, file, _FIRST + "token", keys)
    lp = b.numbers(_one_each(b, LOGPROB, file, _FIRST + "logprob", keys), file,
                   _FIRST + "logprob")
    answers = b.stripped(tok)
    if opts is None:
        conf = np.where(lp <= SENTINEL, 0.0, np.exp(lp))
    else:
        tt = np.flatnonzero(b.rec[:, J.LEAF] == TOP_TOKEN)
        tl = np.flatnonzero(b.rec[:, J.LEAF] == TOP_LOGPROB)
        if tt.shape[0] != tl.shape[0] or (b.rec[tt, J.OBJ] != b.rec[tl, J.OBJ]).any():
            c1 = np.bincount(b.rec[tt, J.OBJ], minlength=n)
            c2 = np.bincount(b.rec[tl, J.OBJ], minlength=n)
            i = int(np.argmax(c1 != c2))
            raise InputError(f"{file}, line {b.lines[i]}, field {_FIRST}top_logprobs: an "
                             "entry without both token and logprob.")
        x = b.numbers(tl, file, _FIRST + "top_logprobs[i].logprob")
        p = np.where(x <= SENTINEL, 0.0, np.exp(x))
        k = _option_index(b, tt, opts)
        K = len(opts)
        m = k >= 0
        P = np.bincount(b.rec[tt[m], J.OBJ] * K + k[m], weights=p[m],
                        minlength=n * K).reshape(n, K)
        S = P.sum(axis=1)
        if (S <= 0).any():
            i = int(np.argmax(S <= 0))
            who = f" (custom_id {str(keys[i])!r})" if keys is not None else ""
            raise InputError(f"{file}, line {b.lines[i]}{who}, field {_FIRST}top_logprobs: no "
                             f"option of {','.join(opts)} among the top log-probabilities "
                             "(request more with top_logprobs=N).")
        a = _option_index(b, tok, opts)
        conf = np.where(a >= 0, P[np.arange(n), np.maximum(a, 0)] / S, 0.0)
    state["parts"].append((keys, answers, conf, b.lines))


def _source(path_or_objects):
    """(what to scan, its name): a path, or the objects serialised as JSON Lines."""
    if isinstance(path_or_objects, (str, os.PathLike)):
        return path_or_objects, os.fspath(path_or_objects)
    lines = []
    for o in path_or_objects:
        if hasattr(o, "model_dump_json"):
            lines.append(o.model_dump_json())
        elif isinstance(o, dict):
            lines.append(json.dumps(o))
        else:
            raise TypeError(f"expected chat-completion objects (dicts or openai types); found "
                            f"{type(o).__name__}.")
    return "\n".join(lines).encode("utf-8"), "<objects>"


def _read(path_or_objects, options):
    opts = _options(options)
    src, name = _source(path_or_objects)
    state = {"keyed": None, "parts": []}
    for b in J.scan(src, PATHS, name=name):
        _block(b, name, opts, state)
    if not state["parts"]:
        raise InputError(f"{name}: no completions.")
    parts = state["parts"]
    answers = np.concatenate([p[1] for p in parts])
    conf = np.concatenate([p[2] for p in parts])
    lines = np.concatenate([p[3] for p in parts])
    keys = np.concatenate([p[0] for p in parts]) if state["keyed"] else \
        np.arange(answers.shape[0], dtype=np.int64)
    return OpenAIConfidence(keys, answers, conf), lines, name


def openai_confidence(path_or_objects, *, options=None):
    """Answers and confidences of OpenAI-style chat completions with logprobs.

    The answer is the first generated token (``choices[0].logprobs.content[0]``)
    stripped of whitespace.  Without ``options`` its confidence is
    ``exp(logprob)``.  With ``options`` (such as ``["A", "B", "C", "D"]``) the
    probabilities of the ``top_logprobs`` tokens equal to an option after
    stripping whitespace are added per option (``"B"`` and ``" B"`` are one
    option) and renormalised over the options; the confidence is the answer's
    share (0 when the answer is no option).  An option absent from
    ``top_logprobs`` has probability 0, and so has the ``-9999.0`` "very
    unlikely" sentinel.

    Parameters
    ----------
    path_or_objects : str, path-like or iterable
        A JSON Lines file of chat-completion objects or of Batch API output
        lines (``{"custom_id", "response": {"body": ...}}``), or the objects
        themselves (dicts or ``openai`` types).
    options : sequence of str or comma-separated str, optional

    Returns
    -------
    OpenAIConfidence
        ``(keys, answers, confidence)``: the ``custom_id`` of each line (or
        its position when the lines have none), the answers, the confidences.

    Examples
    --------
    >>> import fastcal
    >>> def completion(token, logprob, top):
    ...     first = {"token": token, "logprob": logprob, "bytes": None,
    ...              "top_logprobs": [{"token": t, "logprob": lp, "bytes": None}
    ...                               for t, lp in top]}
    ...     return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
    ...             "choices": [{"index": 0, "finish_reason": "length",
    ...                          "message": {"role": "assistant", "content": token},
    ...                          "logprobs": {"content": [first]}}]}
    >>> rows = [completion(" B", -0.5, [(" B", -0.5), ("A", -1.5), ("B", -2.0), ("x", -3.0)])]
    >>> out = fastcal.openai_confidence(rows, options="A,B")
    >>> out.answers.tolist(), out.confidence.round(4).tolist()
    (['B'], [0.7688])
    """
    return _read(path_or_objects, options)[0]


def _read_gold(gold, key):
    """(keys or None, answers, where) of a gold file, mapping or sequence."""
    if isinstance(gold, dict):
        ks = list(gold)
        return np.array([str(k) for k in ks]), np.array([str(gold[k]).strip() for k in ks]), \
            "gold"
    if not isinstance(gold, (str, os.PathLike)):
        return None, np.array([str(a).strip() for a in gold]), "gold"
    path = os.fspath(gold)
    rows = []
    if path.endswith((".jsonl", ".ndjson")):
        with open(path, encoding="utf-8") as f:
            rows = list(json_objects(f, path))
    else:
        with open(path, encoding="utf-8", newline="") as f:
            r = csv.DictReader(f)
            rows = [(ln + 2, d) for ln, d in enumerate(r)]
            if r.fieldnames is None:
                raise InputError(f"{path}: empty file; expected a header with an answer column.")
    keys, answers = [], []
    for ln, d in rows:
        if "answer" not in d or d["answer"] is None:
            raise InputError(f"{path}, line {ln}, field answer: missing.")
        answers.append(str(d["answer"]).strip())
        if key:
            if d.get("custom_id") in (None, ""):
                raise InputError(f"{path}, line {ln}, field custom_id: missing (the "
                                 "completions have custom_id keys).")
            keys.append(str(d["custom_id"]))
    return (np.array(keys) if key else None), np.array(answers), path


def _first_dup(k):
    s = np.sort(k, kind="stable")
    d = np.flatnonzero(s[1:] == s[:-1])
    return None if d.size == 0 else s[d[0]]


def _join(res, name, gold):
    keyed = res.keys.dtype.kind != "i"
    gk, ga, gname = _read_gold(gold, keyed)
    if not keyed:
        if ga.shape[0] != res.answers.shape[0]:
            n = min(ga.shape[0], res.answers.shape[0])
            what = (f"completion {n} (line order) has no gold answer in {gname}"
                    if ga.shape[0] < res.answers.shape[0] else
                    f"gold answer {n} of {gname} has no completion in {name}")
            raise InputError(f"{what}: {res.answers.shape[0]} completions, {ga.shape[0]} gold "
                             "answers.")
        return ga
    if gk is None:
        raise InputError(f"{name}: the completions have custom_id keys; give the gold answers "
                         "with their custom_id.")
    for k, where in ((res.keys, name), (gk, gname)):
        d = _first_dup(k)
        if d is not None:
            raise InputError(f"{where}: custom_id {str(d)!r} appears more than once.")
    order = np.argsort(gk, kind="stable")
    sk = gk[order]
    j = np.minimum(np.searchsorted(sk, res.keys), sk.shape[0] - 1)
    found = sk[j] == res.keys
    if not found.all():
        i = int(np.argmax(~found))
        raise InputError(f"{name}: custom_id {str(res.keys[i])!r} has no gold answer in "
                         f"{gname}.")
    if gk.shape[0] != res.keys.shape[0]:
        used = np.zeros(gk.shape[0], bool)
        used[order[j]] = True
        raise InputError(f"{gname}: custom_id {str(gk[np.argmax(~used)])!r} has no completion "
                         f"in {name}.")
    return ga[order[j]]


def openai_report(path_or_objects, gold, *, options=None, **report_options):
    """Calibration report of chat completions against gold answers.

    The answers and confidences are :func:`openai_confidence`'s; an answer
    is right when it equals the gold answer (both stripped of whitespace).
    The gold answers are joined on ``custom_id`` when the lines have one,
    else by line order; a missing, extra or duplicated key is an error that
    names it.

    Parameters
    ----------
    path_or_objects : str, path-like or iterable
        As for :func:`openai_confidence`.
    gold : str, path-like, dict or sequence
        A CSV or JSON Lines file (``.jsonl``) with an ``answer`` column (and
        ``custom_id`` when the completions have one), a ``{custom_id:
        answer}`` mapping, or the answers in line order.
    options : sequence of str or comma-separated str, optional
    **report_options :
        As for :func:`fastcal.calibration_report` (``n_bins``, ``strategy``,
        ``right``, ``ci``, ...).

    Returns
    -------
    CalibrationReport
        Binary: the confidence of each answer against its correctness.
    """
    res, lines, name = _read(path_or_objects, options)
    truth = _join(res, name, gold)
    correct = (res.answers == truth).astype(np.int64)
    r = calibration_report(correct, res.confidence, **report_options)
    r.convention["target"] = ("first generated token: " + (
        "exp(logprob)" if options is None else
        f"share of the options {','.join(_options(options))} in top_logprobs")
        + " against the gold answer")
    return r
