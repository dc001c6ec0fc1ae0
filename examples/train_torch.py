#!/usr/bin/env python3
"""A small real CPU training job for trying wattprint: a character-level language model on generated text.

    wattprint run -- python3 examples/train_torch.py            # ~10-20 s on 2 cores
    python3 examples/train_torch.py --epochs 1 --steps-per-epoch 5   # also fine outside wattprint

It reports a "data" phase, then a "train" and an "eval" phase per epoch and exact cumulative progress (samples = sequences,
tokens = sequences x seq_len predicted characters) through the wattprint Python client, and ends with
``done: steps=.. samples=.. tokens=..`` so a test can compare what the tracker stored. Needs only torch (no
downloads: the corpus is generated from a tiny grammar). Exits 1 if the model fails to learn.
"""

import argparse
import math
import os
import random
import sys
import time

try:
    import wattprint
except ImportError:  # not installed: use the client from this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "clients", "python"))
    import wattprint

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit("error: this example needs PyTorch (pip install torch, or on Debian: apt install python3-torch)")

SUBJECTS = ["the cat", "a dog", "my robot", "the old sailor", "every student", "a tiny bird", "the engineer"]
VERBS = ["sees", "builds", "paints", "follows", "counts", "measures", "repairs", "finds"]
OBJECTS = ["the moon", "a red boat", "seven apples", "the quiet river", "a broken clock", "the long road"]
ENDINGS = [".", "!", " today.", " again.", " at night."]


def make_corpus(n_sentences, rng):
    """Text from a tiny grammar: enough structure for a GRU to learn well below the uniform loss in seconds."""
    return " ".join(
        "%s %s %s%s" % (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(ENDINGS))
        for _ in range(n_sentences))


CONTEXT = 8  # characters the model sees before the one it predicts


class CharMLP(nn.Module):
    """A fixed-context MLP language model (Bengio-style). Not a GRU on purpose: a recurrent net runs its tiny
    per-character matmuls one after another, which is slow on a CPU torch with reference BLAS (Debian's), while
    this one does each step as two matmuls over all positions."""

    def __init__(self, vocab_size, embed_dim=16, hidden_dim=128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(CONTEXT * embed_dim, hidden_dim)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, contexts):  # (batch, seq_len, CONTEXT) -> (batch, seq_len, vocab) logits
        e = self.embed(contexts)
        return self.head(torch.relu(self.hidden(e.reshape(e.shape[0], e.shape[1], -1))))


def batches(data, batch_size, seq_len, generator):
    """Random windows of the corpus: seq_len predictions per sequence, each from the CONTEXT chars before it."""
    starts = torch.randint(0, data.numel() - seq_len - CONTEXT, (batch_size,), generator=generator)
    windows = torch.stack([data[s:s + seq_len + CONTEXT] for s in starts.tolist()])
    return windows[:, :-1].unfold(1, CONTEXT, 1), windows[:, CONTEXT:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--eval-batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    if min(args.epochs, args.steps_per_epoch, args.batch_size, args.seq_len, args.eval_batches) < 1:
        parser.error("--epochs, --steps-per-epoch, --batch-size, --seq-len and --eval-batches must be >= 1")

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    with wattprint.phase("data"):
        rng = random.Random(args.seed)
        text = make_corpus(4000, rng)
        vocab = sorted(set(text))
        index = {c: i for i, c in enumerate(vocab)}
        data = torch.tensor([index[c] for c in text], dtype=torch.long)
        split = int(data.numel() * 0.9)
        train_data, val_data = data[:split], data[split:]

    model = CharMLP(len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    train_gen = torch.Generator().manual_seed(args.seed)
    total_steps = args.epochs * args.steps_per_epoch
    tokens_per_step = args.batch_size * args.seq_len  # every position predicts its next character
    uniform_loss = math.log(len(vocab))

    print("wattprint: %s" % ("reporting to the tracker" if wattprint.enabled() else "not under wattprint"))
    print("corpus %d chars, vocab %d, %d steps of %d x %d" % (len(text), len(vocab), total_steps, args.batch_size,
                                                             args.seq_len), flush=True)
    step = 0
    val_loss = float("nan")
    started = time.monotonic()
    # Phases are siblings (data, then train and eval each epoch), so they never overlap and add up to at most
    # the run; the report also sums the windows of each name.
    for epoch in range(1, args.epochs + 1):
        with wattprint.phase("train"):
            model.train()
            for _ in range(args.steps_per_epoch):
                x, y = batches(train_data, args.batch_size, args.seq_len, train_gen)
                loss = loss_fn(model(x).reshape(-1, len(vocab)), y.reshape(-1))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                wattprint.progress(step=step, total_steps=total_steps, samples=step * args.batch_size,
                                   tokens=step * tokens_per_step)
        with wattprint.phase("eval"):
            model.eval()
            # The same validation windows every epoch, so the losses compare.
            val_gen = torch.Generator().manual_seed(args.seed + 1)
            with torch.no_grad():
                losses = [loss_fn(model(x).reshape(-1, len(vocab)), y.reshape(-1)).item()
                          for x, y in (batches(val_data, args.batch_size, args.seq_len, val_gen)
                                       for _ in range(args.eval_batches))]
            val_loss = sum(losses) / len(losses)
        print("epoch %d: train loss %.3f, val loss %.3f (uniform %.3f), %.1f s" % (
            epoch, loss.item(), val_loss, uniform_loss, time.monotonic() - started), flush=True)

    delivered = wattprint.flush(timeout=5)
    snap = wattprint.snapshot()
    if snap is not None and isinstance(snap.get("itEnergyJoules"), (int, float)):
        print("wattprint: %.1f J of IT energy so far" % snap["itEnergyJoules"])
    if wattprint.enabled() and not delivered:
        print("wattprint: some reports were not delivered", file=sys.stderr)
    samples, tokens = step * args.batch_size, step * tokens_per_step
    print("done: steps=%d samples=%d tokens=%d" % (step, samples, tokens), flush=True)
    if not math.isfinite(val_loss) or val_loss >= uniform_loss:
        print("error: the model did not learn (val loss %.3f >= uniform %.3f)" % (val_loss, uniform_loss),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
