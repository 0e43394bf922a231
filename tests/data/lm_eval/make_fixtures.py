"""Regenerate the lm-evaluation-harness fixtures of this folder.

Runs lm-eval itself (its built-in ``dummy`` model: random log-likelihoods,
the generation "lol") offline on four small local tasks and copies its
``--log_samples`` output here:

* ``fc_mc``: multiple choice, 2 to 5 options per question (ragged), non-ASCII
  options (characters and UTF-8 bytes differ), metrics acc, acc_norm, acc_bytes;
* ``fc_text``: the target is the answer's text, the target delimiter ``": "``;
* ``fc_mi``: scored with acc_mutual_info (conditional and unconditional scores);
* ``fc_gen``: a generation task (no option scores).

Usage (lm-eval installed; see tests/test_llm_readers.py for the venv)::

    python tests/data/lm_eval/make_fixtures.py [--lm-eval /path/to/lm_eval] [--out DIR]

Without ``--out`` the files replace the ones in this folder.
"""

import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORDS = ["apple", "pear", "fig", "kiwi", "plum", "crème brûlée", "naïve", "日本", "🍎 emoji",
         "a much longer option text", "b", "yes", "no", "maybe so"]


def _task(name, text, target, output_type="multiple_choice", extra=""):
    """A task on the local data file (``dataset_path: json`` with ``data_files``)."""
    return (f"task: {name}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
            f"    test: fc_data.jsonl\ntest_split: test\noutput_type: {output_type}\n"
            f"doc_to_text: {text}\ndoc_to_target: {target}\n" + extra)


QUESTION = '"Question: {{question}}\\nAnswer:"'


def _metrics(*names):
    return "metric_list:\n" + "".join(f"  - metric: {m}\n" for m in names)


TASKS = {
    "fc_mc": _task("fc_mc", QUESTION, "label", extra="doc_to_choice: choices\n"
                   + _metrics("acc", "acc_norm", "acc_bytes")),
    "fc_text": _task("fc_text", '"{{question}}"', '"{{choices[label]}}"',
                     extra='doc_to_choice: choices\ntarget_delimiter: ": "\n'
                     + _metrics("acc", "acc_norm")),
    "fc_mi": _task("fc_mi", QUESTION, "label", extra="doc_to_choice: choices\n"
                   + _metrics("acc", "acc_norm", "acc_mutual_info")),
    "fc_gen": _task("fc_gen", QUESTION, '"{{choices[label]}}"', "generate_until",
                    'generation_kwargs:\n  until: ["\\n"]\n  max_gen_toks: 8\n'
                    + _metrics("exact_match")),
}


def make_data(path, n=40, seed=0):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            k = rng.randint(2, 5)
            choices = rng.sample(WORDS, k)
            doc = {"question": f"Which one, number {i}? \"quoted\" \\ text",
                   "choices": choices, "label": rng.randrange(k)}
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lm-eval", default=shutil.which("lm_eval") or "lm_eval",
                    help="the lm_eval command")
    ap.add_argument("--out", default=HERE, help="where to put the output files")
    ap.add_argument("--tasks", default=",".join(TASKS))
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        make_data(os.path.join(tmp, "fc_data.jsonl"))
        for name, text in TASKS.items():
            with open(os.path.join(tmp, f"{name}.yaml"), "w") as f:
                f.write(text)
        env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false", HF_DATASETS_CACHE=os.path.join(tmp, "cache"))
        cmd = [a.lm_eval, "--model", "dummy", "--tasks", a.tasks, "--include_path", tmp,
               "--output_path", os.path.join(tmp, "out"), "--log_samples", "--seed", "0"]
        subprocess.run(cmd, cwd=tmp, env=env, check=True, stdout=sys.stderr)
        files = glob.glob(os.path.join(tmp, "out", "**", "*.json*"), recursive=True)
        os.makedirs(a.out, exist_ok=True)
        for old in glob.glob(os.path.join(a.out, "samples_*.jsonl")) + \
                glob.glob(os.path.join(a.out, "results_*.json")):
            os.remove(old)
        for src in files:
            shutil.copy(src, a.out)
            print(os.path.join(a.out, os.path.basename(src)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
