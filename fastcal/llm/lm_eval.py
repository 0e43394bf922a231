"""lm-evaluation-harness ``--log_samples`` output: one calibration report per task.

What lm-eval writes (``samples_<task>_<date>.jsonl``, one document a line):
``filtered_resps`` holds one ``[log-likelihood, is-greedy]`` pair of strings
per request (``["-0.2386", "False"]``), ``arguments.gen_args_i.arg_1`` the
continuation scored (the task's ``target_delimiter`` then the option text),
``target`` the gold as a string (an index, or the option's text), and the
per-document metrics (``acc``, ``acc_norm``, ...) are top-level fields.
``results_<date>.json`` beside it holds each task's config (its
``target_delimiter``, ``output_type`` and ``metric_list``).

Scores are read by the byte scanner (:mod:`fastcal.io.jsonscan`); the reports
come from :func:`fastcal.multiple_choice_report`.
"""

import glob
import json
import os
import re

import numpy as np

from ..io import jsonscan as J
from ..io.readers import InputError
from .multiple_choice import multiple_choice_report

_SAMPLES = re.compile(r"^samples_(.+)_(\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.jsonl$")
NORMS = {"none": "acc", "chars": "acc_norm", "bytes": "acc_bytes"}

TARGET, LL, ARG0, ARG1, ACC, ACC_NORM, ACC_BYTES, ACC_MI, FILTER = range(9)
_METRIC_LEAF = {"acc": ACC, "acc_norm": ACC_NORM, "acc_bytes": ACC_BYTES}
PATHS = J.Paths({
    "target": TARGET,
    "filtered_resps[*][0]": LL,
    "arguments.*.arg_0": ARG0,
    "arguments.*.arg_1": ARG1,
    "acc": ACC,
    "acc_norm": ACC_NORM,
    "acc_bytes": ACC_BYTES,
    "acc_mutual_info": ACC_MI,
    "filter": FILTER,
}, light=(ARG0,))  # a context: only whether it is empty


def find_samples(path, task=None):
    """``{task: (samples file, results file or None)}`` of a file or an output folder."""
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "**", "samples_*.jsonl"), recursive=True))
        if not files:
            raise InputError(f"{path}: no samples_<task>_<date>.jsonl file in this folder; run "
                             "lm_eval with --log_samples.")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise InputError(f"{path}: no such file or folder.")
    out = {}
    for f in files:
        m = _SAMPLES.match(os.path.basename(f))
        if m is None:
            raise InputError(f"{f}: not an lm-eval samples file (expected the name "
                             "samples_<task>_<date>.jsonl).")
        name, date = m.groups()
        if name in out:
            raise InputError(f"{path}: task {name!r} has two samples files ({out[name][0]} and "
                             f"{f}); pass one of them.")
        res = os.path.join(os.path.dirname(f), f"results_{date}.json")
        out[name] = (f, res if os.path.isfile(res) else None)
    if task is not None:
        tasks = [task] if isinstance(task, str) else list(task)
        missing = [t for t in tasks if t not in out]
        if missing:
            raise InputError(f"{path}: no samples of task {missing[0]!r}; found "
                             f"{', '.join(sorted(out))}.")
        out = {t: out[t] for t in tasks}
    return out


def _config(results, name):
    if results is None:
        return {}
    try:
        with open(results, encoding="utf-8") as f:
            d = json.load(f)
    except ValueError as exc:
        raise InputError(f"{results}: not valid JSON ({exc}).") from None
    cfg = (d.get("configs") or {}).get(name) or {}
    if not isinstance(cfg, dict):
        raise InputError(f"{results}, field configs.{name}: expected an object.")
    return cfg


class _Task:
    """What the report of one samples file needs, gathered block by block."""

    def __init__(self, file, delimiter):
        self.file, self.delim = file, delimiter
        self.lines, self.ll, self.lls_of, self.nchar, self.nbyte, self.first = [], [], [], [], [], []
        self.ctx_empty, self.arg_of = [], []
        self.target, self.tgt_text = [], {}
        self.metric = {ACC: [], ACC_NORM: [], ACC_BYTES: [], ACC_MI: []}
        self.nobj = 0
        self.filters = set()

    def add(self, b):
        rec, leaf, n = b.rec, b.rec[:, J.LEAF], len(b.lines)
        obj = rec[:, J.OBJ]
        self.lines.append(b.lines)
        # the target: one per document; an index, or a text matched to the options later
        t = np.flatnonzero(leaf == TARGET)
        have = np.bincount(obj[t], minlength=n)
        if (have != 1).any():
            i = int(np.argmax(have != 1))
            raise InputError(f"{self.file}, line {b.lines[i]}, field target: "
                             + ("missing." if have[i] == 0 else "appears twice."))
        tv = np.full(n, -1, np.int64)
        x = b.val[t]
        isidx = ((rec[t, J.FLAGS] & J.NUMBER) != 0) & (x == np.floor(x)) & (x >= 0)
        tv[obj[t[isidx]]] = x[isidx].astype(np.int64)
        for r in t[~isidx]:
            self.tgt_text[self.nobj + int(obj[r])] = b.text(r) if rec[r, J.FLAGS] & J.STRING \
                else b.buf[rec[r, J.START]:rec[r, J.STOP]].tobytes().decode()
        self.target.append(tv)
        r = np.flatnonzero(leaf == LL)
        self.ll.append(b.numbers(r, self.file, "filtered_resps[i][0] (log-likelihood)"))
        self.lls_of.append(obj[r] + self.nobj)
        a = np.flatnonzero(leaf == ARG1)
        self.arg_of.append(obj[a] + self.nobj)
        self.nchar.append(rec[a, J.NCHAR])
        self.nbyte.append(rec[a, J.NBYTE])
        # the first byte of each continuation, to check the target delimiter
        s = rec[a, J.START] + 1
        self.first.append(np.where(rec[a, J.STOP] - rec[a, J.START] > 2,
                                   b.buf[np.minimum(s, b.buf.shape[0] - 1)], -1))
        c = np.flatnonzero(leaf == ARG0)
        self.ctx_empty.append(rec[c, J.STOP] - rec[c, J.START] == 2)  # ""
        for lf, acc in self.metric.items():
            m = np.flatnonzero(leaf == lf)
            col = np.full(n, np.nan)
            col[obj[m]] = b.numbers(m, self.file, _LEAF_NAME[lf])
            acc.append(col)
        self.filters.update(np.unique(b.stripped(np.flatnonzero(leaf == FILTER))).tolist())
        self.nobj += n


_LEAF_NAME = {ACC: "acc", ACC_NORM: "acc_norm", ACC_BYTES: "acc_bytes", ACC_MI: "acc_mutual_info"}


def _cat(parts, dtype=None):
    return np.concatenate(parts) if parts else np.array([], dtype=dtype)


def _read(file, name, cfg):
    """The report's inputs from one samples file (None: a task without option scores)."""
    delim = cfg.get("target_delimiter", " ")
    if not isinstance(delim, str):
        delim = " "
    t = _Task(file, delim)
    for b in J.scan(file, PATHS):
        t.add(b)
    n = t.nobj
    if n == 0:
        raise InputError(f"{file}: no documents.")
    if len(t.filters) > 1:  # lm-eval logs each document once per filter
        raise InputError(f"{file}, field filter: the task has {len(t.filters)} filters "
                         f"({', '.join(sorted(t.filters))}), so each document appears once per "
                         "filter; fastcal reads tasks with one.")
    lines = _cat(t.lines, np.int64)
    out_type = cfg.get("output_type")
    lls_of = _cat(t.lls_of, np.int64)
    k = np.bincount(lls_of, minlength=n)
    if out_type not in (None, "multiple_choice") or (out_type is None and (k == 0).all()):
        return None  # a generation task: no option scores, no confidence
    if (k == 0).any():
        i = int(np.argmax(k == 0))
        raise InputError(f"{file}, line {lines[i]}, field filtered_resps: no option "
                         "log-likelihoods ([\"-0.23\", \"False\"] pairs).")
    ll = _cat(t.ll)
    nchar, nbyte, first = _cat(t.nchar, np.int64), _cat(t.nbyte, np.int64), _cat(t.first)
    na = np.bincount(_cat(t.arg_of, np.int64), minlength=n)
    if (na != k).any():
        i = int(np.argmax(na != k))
        raise InputError(f"{file}, line {lines[i]}, field arguments: {na[i]} continuations "
                         f"(gen_args_i.arg_1) for {k[i]} option scores (filtered_resps).")
    metric = {lf: _cat(v) for lf, v in t.metric.items()}
    keep = np.ones(ll.shape[0], bool)
    mi = not np.isnan(metric[ACC_MI]).all() or any(
        isinstance(m, dict) and m.get("metric") == "acc_mutual_info"
        for m in cfg.get("metric_list") or ())
    off = np.concatenate([[0], np.cumsum(k)])
    if mi:
        # K conditional scores, then the same K continuations with an empty context
        ctx_empty = _cat(t.ctx_empty, bool)
        if ctx_empty.shape[0] != ll.shape[0]:
            raise InputError(f"{file}: {ll.shape[0]} option scores but {ctx_empty.shape[0]} "
                             "arguments.gen_args_i.arg_0 contexts.")
        pos = np.arange(ll.shape[0]) - np.repeat(off[:-1], k)
        half = np.repeat(k // 2, k)
        uncond = pos >= half
        bad = (k % 2 == 1) | (np.bincount(np.repeat(np.arange(n), k), weights=uncond != ctx_empty,
                                          minlength=n) > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{file}, line {lines[i]}, field filtered_resps: the task scores "
                f"acc_mutual_info, which needs K conditional scores then K unconditional ones "
                f"(empty context); found {k[i]} scores that are not in that form (the task "
                "mixes option counts with mutual-information scoring).")
        keep = ~uncond
        k = k // 2
        off = np.concatenate([[0], np.cumsum(k)])
    ll, nchar, nbyte, first = ll[keep], nchar[keep], nbyte[keep], first[keep]
    # the choice's length without the target delimiter (lm-eval: len(choice))
    dchar, dbyte = len(delim), len(delim.encode("utf-8"))
    if dchar:
        db = delim.encode("utf-8")[0]
        has = first == db
        if not has.any():  # a chat template drops the delimiter
            dchar = dbyte = 0
        elif not has.all():
            j = int(np.argmax(~has))
            i = int(np.searchsorted(off, j, side="right") - 1)
            raise InputError(f"{file}, line {lines[i]}, field arguments.gen_args_{j - off[i]}"
                             f".arg_1: the continuation does not start with the task's "
                             f"target_delimiter {delim!r}.")
    target = _cat(t.target, np.int64)
    for obj, text in t.tgt_text.items():
        target[obj] = _gold_from_text(file, lines[obj], text, k[obj], dchar)
    big = target >= k
    if big.any():
        i = int(np.argmax(big))
        raise InputError(f"{file}, line {lines[i]}, field target: gold index {target[i]} but "
                         f"the document has {k[i]} options.")
    return dict(answer=target, ll=ll, offsets=off, nchar=nchar - dchar, nbyte=nbyte - dbyte,
                metric=metric, lines=lines)


def _gold_from_text(file, line, text, k, dchar):
    """The index of the option whose text is the target ``text`` (lm-eval's
    ``choices.index(gold)``), read from the document's line."""
    if text.lstrip().startswith("["):
        raise InputError(f"{file}, line {line}, field target: several gold answers ({text}); "
                         "a calibration report needs one.")
    with open(file, "rb") as f:
        for _ in range(line - 1):
            f.readline()
        doc = json.loads(f.readline())
    args = doc.get("arguments") or {}
    conts = [v.get("arg_1") for v in args.values() if isinstance(v, dict)][:k]
    choices = [c[dchar:] if isinstance(c, str) else c for c in conts]
    if text in choices:
        return choices.index(text)
    raise InputError(f"{file}, line {line}, field target: {text!r} is neither an option index "
                     "nor the text of an option.")


def lm_eval_report(path, *, norm="none", task=None, **report_options):
    """Calibration reports of an lm-evaluation-harness ``--log_samples`` run.

    Each multiple-choice document's options are scored by the log-likelihoods
    lm-eval wrote (``filtered_resps``); the report is top-label over the
    softmax of the scores, the answer their argmax and the gold ``target``.
    With ``norm="chars"`` (``"bytes"``) the scores are first divided by each
    option's length in characters (UTF-8 bytes), the length of the choice
    text without the task's ``target_delimiter``: what lm-eval's
    ``acc_norm`` (``acc_bytes``) ranks by.  Each report's accuracy equals the
    mean of lm-eval's own per-document ``acc`` (``acc_norm``, ``acc_bytes``)
    field when the file has it (checked: a difference is an error).

    Tasks scored with ``acc_mutual_info`` are read from their conditional
    scores (the first half of each document's requests).  Generation (and
    other non-multiple-choice) tasks have no option scores: their entry is
    ``None``.

    Parameters
    ----------
    path : str or path-like
        An output folder of ``lm_eval --log_samples`` (searched recursively
        for ``samples_<task>_<date>.jsonl``) or one samples file;
        ``results_<date>.json`` beside a samples file supplies the task's
        config (a space as the target delimiter without it).
    norm : {"none", "chars", "bytes"}, default="none"
    task : str or list of str, optional
        Only these tasks.
    **report_options :
        ``n_bins``, ``strategy``, ``right``: as for
        :func:`fastcal.calibration_report`.

    Returns
    -------
    dict
        ``{task: CalibrationReport or None}``, sorted by task name.

    Raises
    ------
    ValueError
        A one-line message naming the file, line and field of bad input.

    Examples
    --------
    >>> import os, fastcal
    >>> runs = os.path.join(os.path.dirname(os.path.dirname(fastcal.__file__)), "tests", "data")
    >>> reports = fastcal.lm_eval_report(os.path.join(runs, "lm_eval"), norm="chars")
    >>> sorted(reports)
    ['fc_gen', 'fc_mc', 'fc_mi', 'fc_text']
    >>> reports["fc_gen"] is None, reports["fc_mc"].n
    (True, 40)
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(map(repr, NORMS))}; found {norm!r}.")
    bad = set(report_options) - {"n_bins", "strategy", "right"}
    if bad:
        raise TypeError(f"lm_eval_report() got an unexpected keyword argument {sorted(bad)[0]!r}")
    out = {}
    for name, (file, results) in sorted(find_samples(os.fspath(path), task).items()):
        data = _read(file, name, _config(results, name))
        out[name] = None if data is None else _report(file, data, norm, report_options)
    return out


def _report(file, d, norm, report_options):
    lens = None if norm == "none" else (d["nchar"] if norm == "chars" else d["nbyte"])
    try:
        r = multiple_choice_report(d["answer"], d["ll"], offsets=d["offsets"],
                                   option_lengths=lens, **report_options)
    except ValueError as exc:
        i = getattr(exc, "index", None)  # an InputError's question (row) at fault
        where = f", line {d['lines'][i]}" if i is not None else ""
        raise InputError(f"{file}{where}: {exc}") from None
    metric = NORMS[norm]
    own = d["metric"][_METRIC_LEAF[metric]]
    if not np.isnan(own).any():
        hits = int(np.sum(own))
        if round(r.accuracy * r.n) != hits:
            raise InputError(
                f"{file}: fastcal's accuracy {r.accuracy!r} differs from the mean of lm-eval's "
                f"own {metric} field ({hits / own.shape[0]!r}); the options or their lengths "
                "were not read as lm-eval scored them.")
    r.convention["target"] += f"; lm-eval {metric}" + ("" if norm == "none" else
                                                        f" (scores / option length in {norm})")
    return r
