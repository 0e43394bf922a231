"""Obvious per-line ``json.loads`` readers of lm-eval samples and OpenAI-style
completions: the references of tests/test_llm_readers.py and the baselines of
benchmarks/llm_readers.py.  Each follows issue 14's wording literally."""

import json
import math

import numpy as np


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def lm_eval_samples(path, norm="none", delimiter=" ", mutual_info=False):
    """Per document: (gold index, option probabilities, lm-eval's own metric
    fields) of an lm-eval samples file."""
    gold, probs, own = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            lls = [float(r[0]) for r in d["filtered_resps"]]
            args = d["arguments"]
            conts = [args[f"gen_args_{i}"]["arg_1"] for i in range(len(args))]
            if mutual_info:
                lls, conts = lls[:len(lls) // 2], conts[:len(conts) // 2]
            choices = [c[len(delimiter):] if c.startswith(delimiter) else c for c in conts]
            z = np.array(lls)
            if norm == "chars":
                z = z / np.array([float(len(c)) for c in choices])
            elif norm == "bytes":
                z = z / np.array([float(len(c.encode("utf-8"))) for c in choices])
            t = d["target"]
            gold.append(int(t) if t.isdigit() else choices.index(t))
            probs.append(softmax(z))
            own.append({k: d[k] for k in ("acc", "acc_norm", "acc_bytes", "acc_mutual_info")
                        if k in d})
    return gold, probs, own


def lm_eval_toplabel(path, **kw):
    """(correct, confidence) arrays of :func:`lm_eval_samples`: the first argmax."""
    gold, probs, _ = lm_eval_samples(path, **kw)
    correct = np.array([int(np.argmax(p) == g) for g, p in zip(gold, probs)])
    conf = np.array([float(np.max(p)) for p in probs])
    return correct, conf


def _completion(d):
    if "response" in d and "custom_id" in d:
        return d["custom_id"], d["response"]["body"]
    return None, d


def openai_lines(path, options=None):
    """(keys, answers, confidences) of a JSONL file of chat completions or
    Batch API output lines."""
    keys, answers, conf = [], [], []
    opts = None if options is None else [o.strip() for o in options]
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            key, c = _completion(json.loads(line))
            first = c["choices"][0]["logprobs"]["content"][0]
            ans = first["token"].strip()
            if opts is None:
                lp = float(first["logprob"])
                p = 0.0 if lp <= -9999.0 else math.exp(lp)
            else:
                mass = dict.fromkeys(opts, 0.0)
                for t in first["top_logprobs"]:
                    tok = t["token"].strip()
                    if tok in mass and t["logprob"] > -9999.0:
                        mass[tok] += math.exp(t["logprob"])
                total = sum(mass.values())
                p = mass[ans] / total if ans in mass else 0.0
            keys.append(key if key is not None else len(keys))
            answers.append(ans)
            conf.append(p)
    return keys, answers, np.array(conf)
