"""The course's "[option] BERT" measured: masked-LM pretraining of a small Transformer
encoder on unlabelled reviews, then fine-tuning on a small labelled subset, against the
same classifier trained from scratch on that subset.

Data: Rotten Tomatoes review snippets (``seqlab.datasets.load("rotten_tomatoes")``,
12,808, fresh/rotten). A fixed test set (``--test`` reviews) is never used for
anything but the final accuracy. Each seed gets its own labelled subset, ``--labelled``
of the data (10% by default); the subsets of the seeds are disjoint. The pretraining
corpus (one pretraining run, shared by the seeds: CPU time is scarce; the seeds vary the
labelled subset and the initialisation of head and scratch model) is the text, never the
label, of the other non-test reviews (``--corpus others``) or of every non-test review
(``--corpus all``), plus with ``--plots`` the corpus's unlabelled plot summaries.

    pretrained: MaskedLanguageModel.pretrain (15% of tokens, 80/10/10; BERT's warmup and
                linear decay of the rate, 100 epochs of a d_model 128 encoder) on the unlabelled
                texts -> classifier_from_pretrained -> fine-tune on the labelled subset
    scratch:    the same TransformerClassifier, random encoder, same subset and recipe

Both classifiers choose, from the same grid of fine-tuning recipes (``--lrs``,
``--encoder-lr-scales``, ``--embedding-lr-scales``, ``--word-dropouts``) and up to
``--epochs`` epochs, on the labelled subset only (``--select``: a 10% validation split,
or cross-validation then training on the whole subset); the test accuracy of the choice
is reported. The script prints the difference (pretrained - scratch) per seed, its mean
and its spread (sample std, min, max).

    OMP_NUM_THREADS=1 python bench/bert_pretrain.py --save-mlm mlm.safetensors   # 10%
    OMP_NUM_THREADS=1 python bench/bert_pretrain.py --load-mlm mlm.safetensors --labelled 0.02
    OMP_NUM_THREADS=1 python bench/bert_pretrain.py --quick      # smoke run

The defaults are the recipe measured in docs/results/bert_pretrain.md.

Prints the figures and one JSON line at the end; writes nothing.
"""
from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import numpy as np
import torch

import seqlab
from seqlab import datasets
from seqlab.data import Tokenizer
from seqlab.models.pretraining import MaskedLanguageModel, classifier_from_pretrained
from seqlab.models.transformers import TransformerClassifier


UNK = 1  # the tokenizer's id of <unk>


def grid(args) -> list[dict]:
    """Every fine-tuning recipe tried (the same grid for both classifiers)."""
    floats = lambda text: [float(v) for v in text.split(",")]  # noqa: E731
    return [{"lr": lr, "encoder_lr_scale": scale, "embedding_lr_scale": emb, "word_dropout": d}
            for lr in floats(args.lrs) for scale in floats(args.encoder_lr_scales)
            for emb in floats(args.embedding_lr_scales) for d in floats(args.word_dropouts)]


def select(make, labelled, test, args, seed) -> dict:
    """Choose the recipe and the number of epochs on the labelled subset only, then
    report the test accuracy of that choice.

    ``--select val``: 90% of the subset trains, 10% validates; the (recipe, epoch) with
    the best validation accuracy gives the test accuracy of that very model.
    ``--select cv``: ``--folds``-fold cross-validation on the subset picks the (recipe,
    epochs) with the best mean validation accuracy over the folds (ten times more
    validation reviews, so less luck in the choice); a fresh model then trains on the
    whole subset with that recipe for that many epochs."""
    x, y = labelled
    n = len(x)
    if args.select == "val":
        n_val = max(1, n // 10)
        train, val = (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])
        best = {"val": -1.0}
        for recipe in grid(args):
            torch.manual_seed(seed + 1000)
            model = make()
            curve = train_classifier(model, train, recipe, args, seed,
                                     watch=[val, test])  # [(val, test)] per epoch
            epoch = int(np.argmax([v for v, _ in curve]))
            if curve[epoch][0] > best["val"]:
                best = {"val": curve[epoch][0], "test": curve[epoch][1], "epoch": epoch + 1,
                        **recipe}
        return best
    folds = np.array_split(np.arange(n), args.folds)
    best = {"val": -1.0}
    for recipe in grid(args):
        curves = []
        for k, fold in enumerate(folds):
            rest = np.setdiff1d(np.arange(n), fold)
            torch.manual_seed(seed + 1000 + k)
            curve = train_classifier(make(), ([x[i] for i in rest], y[rest]), recipe, args,
                                     seed + k, watch=[([x[i] for i in fold], y[fold])])
            curves.append([v for v, in curve])
        mean = np.mean(curves, axis=0)  # (epochs,) mean validation accuracy over folds
        epoch = int(np.argmax(mean))
        if mean[epoch] > best["val"]:
            best = {"val": float(mean[epoch]), "epoch": epoch + 1, **recipe}
    torch.manual_seed(seed + 1000)
    final = train_classifier(make(), labelled, best, args, seed, watch=[test],
                             epochs=best["epoch"])
    best["test"] = final[-1][0]
    return best


def train_classifier(model, train, recipe: dict, args, seed, watch=(),
                     epochs=None) -> list:
    """Fit epoch by epoch with ``recipe``; returns, per epoch, the accuracy on each
    (x, y) of ``watch``.

    The encoder's parameters learn at ``encoder_lr_scale * lr``, the head at ``lr``
    (discriminative fine-tuning, Howard & Ruder 2018: a small scale keeps the pretrained
    features), and the token embeddings at ``embedding_lr_scale`` times the encoder's
    rate (0 freezes them). With ``word_dropout`` > 0, each epoch replaces that share of
    the training tokens by <unk>, so that no review can be memorised by its rare words."""
    lr, scale = recipe["lr"], recipe["encoder_lr_scale"]
    emb_scale, drop = recipe["embedding_lr_scale"], recipe["word_dropout"]
    emb = list(model.body.embedding.parameters())
    emb_ids = {id(p) for p in emb}
    body = [p for p in model.body.parameters() if id(p) not in emb_ids]
    ids = {id(p) for p in model.body.parameters()}
    head = [p for p in model.parameters() if id(p) not in ids]
    for p in emb:
        p.requires_grad_(emb_scale > 0)
    groups = [{"params": body, "lr": scale * lr}, {"params": head, "lr": lr}]
    if emb_scale > 0:
        groups.append({"params": emb, "lr": emb_scale * scale * lr})
    optimizer = torch.optim.Adam(groups, lr=lr)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"],
                  clipnorm=1.0)
    rng = np.random.default_rng(seed)
    curve = []
    for epoch in range(args.epochs if epochs is None else epochs):
        texts = train[0] if drop <= 0 else [
            np.where(rng.random(len(s)) < drop, UNK, s).tolist() for s in train[0]]
        model.fit(texts, train[1], epochs=epoch + 1, initial_epoch=epoch,
                  batch_size=args.batch_size, verbose=0, seed=seed if epoch == 0 else None)
        curve.append(tuple(model.evaluate(wx, wy, verbose=0, batch_size=256)[1]
                           for wx, wy in watch))
    return curve


def prepare(args) -> SimpleNamespace:
    """The data of a run: the tokenised reviews, the fixed test set, each seed's labelled
    subset, the pretraining texts and the 500 held-out texts that measure the MLM loss."""
    data = datasets.load("rotten_tomatoes")
    texts, labels = list(data.texts), np.asarray(data.y, dtype="float32")
    order = np.random.default_rng(12345).permutation(len(texts))
    test_idx, rest = order[:args.test], order[args.test:]
    tok = Tokenizer(num_words=args.num_words, oov_token="<unk>")
    tok.fit_on_texts([texts[i] for i in rest])  # never the test texts
    ids = [s[:args.max_len] or [1] for s in tok.texts_to_sequences(texts)]
    vocab = args.num_words + 1  # ids < num_words, plus the mask id
    enc = dict(vocab_size=vocab, d_model=args.d_model, num_heads=args.heads, ff_dim=args.ff,
               num_layers=args.layers, max_length=args.max_len, dropout=args.dropout)
    n_lab = int(round(args.labelled * len(texts)))

    def pick(idx):
        return [ids[i] for i in idx], labels[idx][:, None]

    seeds = [int(s) for s in args.seeds.split(",")]
    perm = np.random.default_rng(0).permutation(rest)
    subsets = {seed: perm[i * n_lab:(i + 1) * n_lab] for i, seed in enumerate(seeds)}
    unlabelled = perm[len(seeds) * n_lab:]
    held, corpus_idx = unlabelled[:500], unlabelled[500:]  # MLM loss measured on unseen text
    if args.corpus == "all":
        corpus_idx = np.concatenate([perm[:len(seeds) * n_lab], corpus_idx])
    corpus = [ids[i] for i in corpus_idx]  # text only, never a label
    if args.plots:
        for seq in tok.texts_to_sequences(data.plots):
            corpus += [seq[i:i + args.max_len] for i in range(0, len(seq), args.max_len)
                       if len(seq[i:i + args.max_len]) >= 8]
    return SimpleNamespace(n_texts=len(texts), test_idx=test_idx, test=pick(test_idx),
                           pick=pick, seeds=seeds, subsets=subsets, n_lab=n_lab,
                           held=[ids[i] for i in held], corpus=corpus, vocab=vocab, enc=enc)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--only-seeds", default=None,
                   help="run only these of --seeds (same subsets: split a run over cores)")
    p.add_argument("--test", type=int, default=2000, help="fixed test reviews")
    p.add_argument("--labelled", type=float, default=0.10, help="labelled share of all reviews")
    p.add_argument("--num-words", type=int, default=4000)
    p.add_argument("--max-len", type=int, default=48, help="words kept per review")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ff", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--pretrain-epochs", type=int, default=100)
    p.add_argument("--pretrain-budget", type=float, default=3600.0,
                   help="pretraining stops after the epoch that passes this many seconds")
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--pretrain-schedule", choices=("constant", "linear"), default="linear",
                   help="'linear': BERT's warmup (--pretrain-warmup of the steps) then "
                        "linear decay to 0")
    p.add_argument("--pretrain-warmup", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=15, help="classifier epochs")
    p.add_argument("--lrs", default="5e-4",
                   help="classifier learning rates tried (comma-separated); each model "
                        "keeps the one with the best validation accuracy")
    p.add_argument("--encoder-lr-scales", default="1",
                   help="encoder learning rate / head learning rate, tried (comma-separated) "
                        "like --lrs")
    p.add_argument("--embedding-lr-scales", default="1",
                   help="token embedding rate / encoder rate, tried like --lrs (0 freezes "
                        "the embeddings)")
    p.add_argument("--word-dropouts", default="0,0.15,0.3",
                   help="share of training tokens replaced by <unk> each epoch, tried like "
                        "--lrs")
    p.add_argument("--select", choices=("val", "cv"), default="cv",
                   help="how each classifier chooses its recipe and epochs on the labelled "
                        "subset: 'val' = a 10%% validation split, 'cv' = --folds-fold "
                        "cross-validation, then training on the whole subset")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--corpus", choices=("others", "all"), default="all",
                   help="pretraining text: 'others' = reviews outside the test set and "
                        "every seed's labelled subset; 'all' = every non-test review "
                        "(the labelled subsets' text too, never their labels)")
    p.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                   help="add the corpus's 1,097 plot summaries (unlabelled movie text, cut "
                        "into --max-len word pieces) to the pretraining text")
    p.add_argument("--no-tie", action="store_true",
                   help="MLM output layer with its own matrix instead of the embedding's")
    p.add_argument("--save-mlm", default=None, help="save the pretrained model here")
    p.add_argument("--load-mlm", default=None, help="skip pretraining: load this model")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.pretrain_epochs, args.epochs, args.pretrain_budget = "0", 1, 2, 30
        args.folds, args.word_dropouts = 2, "0"
    return args


def main(argv=None) -> None:
    args = parse_args(argv)

    d = prepare(args)
    enc, held, corpus, test, pick = d.enc, d.held, d.corpus, d.test, d.pick
    seeds, subsets, n_lab, test_idx, vocab = d.seeds, d.subsets, d.n_lab, d.test_idx, d.vocab
    print(f"{d.n_texts} reviews: test {len(test_idx)}, labelled {n_lab} per seed, "
          f"pretraining texts {len(corpus)}; vocab {vocab}; encoder d_model {args.d_model}, "
          f"{args.layers} layers, ff {args.ff}; threads {torch.get_num_threads()}", flush=True)

    torch.manual_seed(0)
    mlm = MaskedLanguageModel(**enc, mask_id=args.num_words, tie_weights=not args.no_tie)
    before = mlm.evaluate_mlm(held, seed=99)
    t0 = time.perf_counter()
    if args.load_mlm:
        mlm = seqlab.load_model(args.load_mlm, compile=False)
        hist = {"loss": [float("nan")]}
    else:
        mlm.compile(optimizer=seqlab.optimizers.Adam(learning_rate=args.pretrain_lr),
                    loss="sparse_categorical_crossentropy", global_clipnorm=1.0)
        hist = mlm.pretrain(corpus, epochs=args.pretrain_epochs, batch_size=64, seed=0,
                            verbose=1, time_budget=args.pretrain_budget,
                            lr_schedule=args.pretrain_schedule, warmup=args.pretrain_warmup)
        if args.save_mlm:
            mlm.save(args.save_mlm)
    pre_time = time.perf_counter() - t0
    after = mlm.evaluate_mlm(held, seed=99)
    unigram = np.bincount([t for text in corpus for t in text], minlength=vocab) + 1.0
    unigram_loss = float(-np.mean([np.log(unigram[t] / unigram.sum()) for text in held
                                   for t in text]))
    print(f"pretraining on {len(corpus)} unlabelled reviews: held-out MLM loss {before:.3f} "
          f"-> {after:.3f} after {len(hist['loss'])} epochs ({pre_time:.0f}s); a unigram "
          f"guess scores {unigram_loss:.3f}", flush=True)

    rows = []
    run_seeds = seeds if args.only_seeds is None else [int(v) for v in args.only_seeds.split(",")]
    for seed in run_seeds:
        labelled = pick(subsets[seed])
        pre = select(lambda: classifier_from_pretrained(mlm, num_classes=1), labelled,
                     test, args, seed)
        scratch = select(lambda: TransformerClassifier(num_classes=1, **enc), labelled,
                         test, args, seed)
        row = {"seed": seed, "pretrained_test_acc": pre["test"],
               "pretrained_epoch": pre["epoch"], "pretrained_lr": pre["lr"],
               "scratch_test_acc": scratch["test"], "scratch_epoch": scratch["epoch"],
               "scratch_lr": scratch["lr"], "difference": pre["test"] - scratch["test"],
               "pretrained_choice": pre, "scratch_choice": scratch}
        rows.append(row)
        print(f"seed {seed}: test accuracy pretrained {pre['test']:.4f} (epoch "
              f"{pre['epoch']}, lr {pre['lr']:g} x{pre['encoder_lr_scale']:g}, embeddings "
              f"x{pre['embedding_lr_scale']:g}, word dropout {pre['word_dropout']:g}) vs "
              f"scratch "
              f"{scratch['test']:.4f} (epoch {scratch['epoch']}, lr {scratch['lr']:g} "
              f"x{scratch['encoder_lr_scale']:g}, embeddings x{scratch['embedding_lr_scale']:g}"
              f", word dropout {scratch['word_dropout']:g}): {row['difference']:+.4f}",
              flush=True)

    diffs = np.array([r["difference"] for r in rows])
    spread = float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0
    summary = {"bench": "bert_pretrain", "seeds": len(rows), "labelled": n_lab,
               "test": len(test_idx), "unlabelled": len(corpus),
               "mlm_loss_before": before, "mlm_loss_after": after, "unigram_loss": unigram_loss,
               "pretrain_epochs": len(hist["loss"]), "pretrain_seconds": round(pre_time, 1), "mean_difference": float(diffs.mean()),
               "std_difference": spread, "min_difference": float(diffs.min()),
               "max_difference": float(diffs.max()),
               "pretrained_mean_acc": float(np.mean([r["pretrained_test_acc"] for r in rows])),
               "scratch_mean_acc": float(np.mean([r["scratch_test_acc"] for r in rows])),
               "config": {k: v for k, v in vars(args).items()}, "rows": rows}
    print(f"\npretrained - scratch test accuracy over {len(rows)} seeds: mean "
          f"{diffs.mean():+.4f}, std {spread:.4f}, min {diffs.min():+.4f}, max "
          f"{diffs.max():+.4f} (pretrained {summary['pretrained_mean_acc']:.4f}, scratch "
          f"{summary['scratch_mean_acc']:.4f})")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
