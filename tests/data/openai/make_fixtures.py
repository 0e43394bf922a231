"""Regenerate the OpenAI-style fixtures of this folder with the ``openai``
package's own types (``ChatCompletion.model_validate`` then
``model_dump_json``: exactly what the client library serialises).

* ``completions.jsonl``: 40 chat completions (a multiple-choice answer A-D as
  the first token, with ``top_logprobs``: the options with and without a
  leading space, other tokens, the ``-9999.0`` sentinel, an answer that is no
  option, escaped and non-ASCII tokens); ``gold.csv``: their answers in line
  order.
* ``batch_output.jsonl``: the same completions as Batch API output lines
  (``custom_id``, ``response.body``) in shuffled order; ``gold.jsonl``: the
  answers by ``custom_id``.

Usage: ``python tests/data/openai/make_fixtures.py [--out DIR]``.
"""

import argparse
import csv
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIONS = ["A", "B", "C", "D"]
OTHER = ["The", "\n", " Answer", "é", "**", " ", "\"A\""]


def _softmax_logprobs(rng, tokens):
    z = [rng.gauss(0.0, 2.0) for _ in tokens]
    m = max(z)
    lse = m + math.log(sum(math.exp(v - m) for v in z))
    return [v - lse for v in z]


def completion(rng, i):
    toks = []
    for o in rng.sample(OPTIONS, rng.randint(2, 4)):
        toks.append(o)
        if rng.random() < 0.4:
            toks.append(" " + o)  # the same option with a leading space
    toks += rng.sample(OTHER, rng.randint(0, 3))
    toks = list(dict.fromkeys(toks))
    rng.shuffle(toks)
    lps = _softmax_logprobs(rng, toks)
    if rng.random() < 0.2:
        lps[-1] = -9999.0  # the "very unlikely" sentinel
    top = sorted(zip(toks, lps), key=lambda t: -t[1])
    first_tok, first_lp = top[0] if i % 13 != 7 else top[-1]  # sometimes not the top token
    content = [{"token": first_tok, "logprob": first_lp,
                "bytes": list(first_tok.encode("utf-8")),
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
                                 for t, lp in top]},
               {"token": ".", "logprob": -0.01, "bytes": [46], "top_logprobs": []}]
    from openai.types.chat import ChatCompletion

    return ChatCompletion.model_validate({
        "id": f"chatcmpl-{i:04d}", "object": "chat.completion", "created": 1700000000 + i,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_fixture",
        "choices": [{"index": 0, "finish_reason": "length",
                     "message": {"role": "assistant", "content": first_tok + ".",
                                 "refusal": None},
                     "logprobs": {"content": content, "refusal": None}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 2, "total_tokens": 52},
    })


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--n", type=int, default=40)
    a = ap.parse_args(argv)
    rng = random.Random(14)
    comps = [completion(rng, i) for i in range(a.n)]
    # right about 60% of the time: the first token when it is an option, else a random one
    firsts = [c.choices[0].logprobs.content[0].token.strip() for c in comps]
    gold = [f if f in OPTIONS and rng.random() < 0.6 else rng.choice(OPTIONS) for f in firsts]
    with open(os.path.join(a.out, "completions.jsonl"), "w", encoding="utf-8") as f:
        for c in comps:
            f.write(c.model_dump_json() + "\n")
    with open(os.path.join(a.out, "gold.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer"])
        for i, g in enumerate(gold):
            w.writerow([f"q{i}", g])
    order = list(range(a.n))
    rng.shuffle(order)
    with open(os.path.join(a.out, "batch_output.jsonl"), "w", encoding="utf-8") as f:
        for i in order:
            line = {"id": f"batch_req_{i:04d}", "custom_id": f"request-{i}",
                    "response": {"status_code": 200, "request_id": f"req_{i:04d}",
                                 "body": comps[i].model_dump(mode="json")},
                    "error": None}
            f.write(json.dumps(line) + "\n")
    with open(os.path.join(a.out, "gold.jsonl"), "w", encoding="utf-8") as f:
        for i, g in enumerate(gold):
            f.write(json.dumps({"custom_id": f"request-{i}", "answer": g}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
