"""``python -m medassist.training.cxr_pneumonia``: load the films, train (resumably), evaluate, write the bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from medassist import paths
from medassist.training import cxr_pneumonia
from medassist.training.cxr_pneumonia import MODEL_NAME, SEED
from medassist.training.cxr_pneumonia.bundle import write_cxr_bundle
from medassist.training.cxr_pneumonia.data import load_pixels, load_table, shortcut_check
from medassist.training.cxr_pneumonia.evaluation import evaluate
from medassist.training.cxr_pneumonia.training import train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(cxr_pneumonia.__doc__ or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--per-epoch", type=int, default=3200, help="training images drawn per epoch")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=paths.install_root() / "models" / MODEL_NAME)
    parser.add_argument("--work", type=Path, default=paths.user_cache_dir() / "cxr-training",
                        help="checkpoint folder (a rerun resumes here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-only", action="store_true", help="stop after training (checkpoint kept)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    data = paths.shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data is not available")
    table = load_table(data)
    shortcuts = shortcut_check(table)
    pixels = load_pixels(table.file, data)
    model, history = train(table, pixels, args.epochs, args.per_epoch, args.seed, args.work)
    if args.train_only:
        return
    write_cxr_bundle(args, model, evaluate(args, model, table, pixels, data, shortcuts), history, table, data)


if __name__ == "__main__":
    main()
