"""Regenerate the HELM run folders in this directory (offline, a few minutes).

Needs a virtualenv with HELM (``crfm-helm``) and what its runner imports:

    python3 -m venv /work/venv-helm
    /work/venv-helm/bin/pip install torch==2.13.0          # first: nothing else may pull torch
    /work/venv-helm/bin/pip install --no-deps crfm-helm
    /work/venv-helm/bin/pip install -c <(echo torch==2.13.0) ubelt bottle cattrs colorlog \
        dacite Mako pandas pyhocon retrying sqlitedict tqdm zstandard uncertainty-calibration \
        scikit-learn scipy numpy transformers tokenizers nltk rouge-score datasets requests spacy
    /work/venv-helm/bin/python tests/data/helm/make_fixtures.py

What it does, all seeded: writes multiple-choice questions as a JSONL file
for HELM's ``custom_mcqa`` scenario (which reads local files: nothing is
downloaded), trains a byte-level BPE tokenizer on them and a tiny GPT-2
(one layer, 32 dimensions, ~200 KB) for 100 Adam steps, saves both as a
local Hugging Face model, then runs ``helm-run`` in this process (after
``torch.manual_seed``) with ``--enable-local-huggingface-models`` and
``temperature=1``.  The model cannot add: it learns to answer with a letter
and how often each letter is right (accuracy near 1/4).  HELM's
multiple-choice joint adapter samples 5 one-token answers; ``max_prob`` is the
probability of the likeliest sampled one and ``exact_match`` scores the
first, so the confidences take a few values, each repeated with
last-digit differences from question to question (near-ties), and
correctness varies with the sampling.  HELM's
own ``stats.json`` then holds its calibration numbers; only
``per_instance_stats.json``, ``stats.json`` and ``run_spec.json`` of each run
are kept here.
"""

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LETTERS = "ABCD"
STEPS, LR, VOCAB = 100, 1e-2, 600  # Adam steps (batches of 8), learning rate, BPE vocabulary
EMBD, LAYERS = 32, 1  # GPT-2 width and depth
RUNS = {"tiny_gpt2_n40": (40, 0), "tiny_gpt2_n100": (100, 1)}  # name: (questions, seed)


def questions(n, seed):
    """Questions 'What is a + b?' with four numeric options, one right."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        right = a + b
        opts = {right}
        while len(opts) < 4:
            opts.add(rng.randint(0, 18))
        opts = sorted(opts)
        rng.shuffle(opts)
        out.append({
            "input": {"text": f"What is {a} + {b}?"},
            "references": [{"output": {"text": str(o)}, "tags": ["correct"] if o == right else []}
                           for o in opts],
            "split": "test",
            "id": f"id{i}",
        })
    return out


def prompt(q, with_answer):
    """HELM's multiple-choice joint prompt (what the model is trained on)."""
    lines = ["The following are multiple choice questions (with answers).", "",
             f"Question: {q['input']['text']}"]
    for letter, ref in zip(LETTERS, q["references"]):
        lines.append(f"{letter}. {ref['output']['text']}")
    ans = next(letter for letter, ref in zip(LETTERS, q["references"]) if ref["tags"])
    lines.append("Answer:" + (f" {ans}" if with_answer else ""))
    return "\n".join(lines)


def make_model(model_dir, train, seed):
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    texts = [prompt(q, True) for q in train]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=VOCAB, min_frequency=1,
                            special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                  model_max_length=256)
    tok.save_pretrained(model_dir)
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=EMBD, n_layer=LAYERS, n_head=2,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = GPT2LMHeadModel(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    ids = [torch.tensor(tok(t)["input_ids"]) for t in texts]
    model.train()
    for step in range(STEPS):  # a few seeded steps: a weak, imperfectly calibrated model
        batch = [ids[(step * 8 + j) % len(ids)] for j in range(8)]
        L = max(len(x) for x in batch)
        x = torch.stack([torch.nn.functional.pad(b, (0, L - len(b)), value=tok.eos_token_id)
                         for b in batch])
        mask = torch.stack([torch.arange(L) < len(b) for b in batch]).long()
        labels = x.masked_fill(mask == 0, -100)
        loss = model(input_ids=x, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(model_dir)


def run_helm(name, n, seed, work):
    import torch

    model_dir = work / name / "tinygpt"
    model_dir.mkdir(parents=True)
    # train on other questions than the evaluated ones
    make_model(str(model_dir), questions(400, 1000 + seed), seed)
    qfile = work / name / "questions.jsonl"
    qfile.write_text("".join(json.dumps(q) + "\n" for q in questions(n, seed)))
    out = work / name / "benchmark_output"
    from helm.benchmark.run import main

    torch.manual_seed(seed)
    argv = sys.argv
    sys.argv = ["helm-run", "--run-entries",
                f"custom_mcqa:path={qfile},model=huggingface/tinygpt,temperature=1",
                "--enable-local-huggingface-models", str(model_dir),
                "--suite", "fixtures", "--max-eval-instances", str(n), "-o", str(out),
                "-n", "1", "--disable-cache", "--local-path", str(work / name / "prod_env")]
    try:
        main()
    finally:
        sys.argv = argv
    runs = list((out / "runs" / "fixtures").glob("custom_mcqa*"))
    assert len(runs) == 1, runs
    dest = HERE / name
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    for f in ("per_instance_stats.json", "stats.json", "run_spec.json"):
        shutil.copy(runs[0] / f, dest / f)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (n, seed) in RUNS.items():
            run_helm(name, n, seed, Path(tmp))
