"""Train the notes-problems head on MTSamples (CC0) and evaluate it on MTSamples and IU/Open-i.

    nice -n 10 python -m medassist.training.notes_classifier [--data ../shared/data] [--out models/notes-problems]

Labels are weak: a problem is positive when the assertion layer the app itself uses
(:mod:`medassist.notes`, ConText-style) finds a mention that is the patient's
(affirmed, or a chronic problem's history) in the note's description, keywords or transcription;
negated, family, hypothetical and uncertain mentions do not count. The head reads what the app
shows it: the note with sentences that only hold such mentions blanked. Notes that appear twice
in MTSamples (the same transcription filed under "Surgery" and another specialty) are merged
before a hash split (70/15/15), so no note is in two splits. Every note is used, long ones read in
up to 16 windows of 256 tokens; the frozen encoder's window vectors are cached under
``.cache/notes-embeddings/`` (computed once, resumable). The head is trained with plain binary
cross-entropy (no class re-weighting, so its probabilities stay calibrated) and each problem's
threshold is the lowest on validation whose precision reaches ``--target-precision``.
IU/Open-i reports (CC BY-NC-ND) are only *evaluated on*, with their manual MeSH terms as the
reference for the labels both sets share; they never touch the shipped weights. On them the
suggestions themselves (rule layer, evidence required) are scored too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from medassist.models.notes import (
    ENCODER_PACKAGE,
    NotesClassifier,
    chunk_note,
    clean_note,
    encoder_fingerprint,
    load_encoder,
    mean_pool,
    note_vector,
)
from medassist.atomic import atomic_write
from medassist.notes.lexicon import notes_model_lexicon, problem_name
from medassist.notes.mentions import note_problems
from medassist.training.bundle import torch_bytes, write_bundle
from medassist.training.metrics import auroc, calibration_error, f1_scores, rounded

SEED = 7
CHUNK_TOKENS = 256
MAX_CHUNKS = 16
TARGET_PRECISION = 0.8
VERSION = "2.0.0"
WEIGHTS = "head.pt"
IU_REPORTS = 600
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "notes-embeddings"

# Labels shared with IU/Open-i: label -> MeSH major terms that make an IU report positive.
IU_REFERENCE: dict[str, tuple[str, ...]] = {
    "pneumonia": ("Pneumonia",),
    "copd": ("Pulmonary Disease, Chronic Obstructive", "Emphysema", "Pulmonary Emphysema"),
    "cardiomegaly": ("Cardiomegaly",),
    "pleural_effusion": ("Pleural Effusion",),
    "heart_failure": ("Heart Failure",),
}


def rule_labels(text: str) -> dict[str, int]:
    """Weak labels for one note: 1 where the assertion layer finds the problem is the patient's."""
    suggested = set(note_problems(text, list(notes_model_lexicon())).suggested)
    return {label: int(label in suggested) for label in notes_model_lexicon()}


def load_mtsamples(data: Path, with_labels: bool = True) -> pd.DataFrame:
    """MTSamples notes with a transcription, duplicates merged, each with its split (and weak labels)."""
    frame = pd.read_csv(data / "mtsamples" / "mtsamples.csv")
    frame = frame[frame["transcription"].fillna("").str.strip().str.len() > 0].copy()
    frame["text"] = frame["transcription"].map(clean_note)
    frame["key"] = frame["text"].map(lambda t: hashlib.md5(" ".join(t.lower().split()).encode()).hexdigest())
    frame["label_text"] = (
        frame["description"].fillna("") + ".\n" + frame["keywords"].fillna("").str.replace(",", ".") + ".\n" + frame["text"]
    )
    grouped = frame.groupby("key", sort=True).agg(
        note_id=("note_id", "min"),
        text=("text", "first"),
        label_text=("label_text", lambda s: "\n".join(s)),
        specialty=("medical_specialty", lambda s: "|".join(sorted(set(s)))),
    ).reset_index()
    bucket = grouped["key"].map(lambda k: int(k[:8], 16) % 100)
    grouped["split"] = np.where(bucket < 70, "train", np.where(bucket < 85, "val", "test"))
    if with_labels:
        grouped = add_rule_labels(grouped)
    return grouped.sort_values("note_id").reset_index(drop=True)


def add_rule_labels(notes: pd.DataFrame) -> pd.DataFrame:
    """``notes`` with one 0/1 column per rule label, from its ``label_text``."""
    labels = pd.DataFrame([rule_labels(t) for t in notes["label_text"]], index=notes.index)
    return pd.concat([notes, labels], axis=1)


def load_iu_reports(data: Path) -> pd.DataFrame:
    """IU/Open-i reports (findings + impression) with reference labels from their manual MeSH terms."""
    frame = pd.read_csv(data / "reports_iu_openi" / "reports.csv")
    text = ("FINDINGS: " + frame["findings"].fillna("") + "\nIMPRESSION: " + frame["impression"].fillna("")).str.strip()
    frame = frame.assign(text=text)
    frame = frame[(frame["findings"].fillna("") + frame["impression"].fillna("")).str.strip().str.len() > 0]
    terms = frame["mesh_major"].fillna("").map(lambda s: {t.split("/")[0] for t in s.split("|")})
    for label, mesh in IU_REFERENCE.items():
        frame[label] = terms.map(lambda found, mesh=mesh: int(bool(found & set(mesh))))
    return frame.reset_index(drop=True)


def _chunk_key(ids: torch.Tensor, mask: torch.Tensor) -> str:
    return hashlib.sha1(ids[: int(mask.sum())].numpy().tobytes()).hexdigest()


@torch.no_grad()
def embed_notes(texts: list[str], encoder_sha: str, batch_chunks: int = 16,
                deadline: float | None = None) -> list[np.ndarray | None]:
    """Chunk vectors ``[n_chunks, 384]`` per note, in the order given; ``None`` for a note not (fully)
    embedded when ``deadline`` (a ``time.time()``) passed. Every chunk vector is cached under the SHA-1 of
    its token ids (``.cache/notes-embeddings/``), so any subset of notes reuses earlier work and an
    interrupted run resumes where it stopped. Notes are embedded in blocks, in order, so a deadline
    leaves whole notes done, chosen by the caller's order (not by length)."""
    store_path = CACHE / f"chunks-{encoder_sha[:12]}-{CHUNK_TOKENS}.npz"
    store: dict[str, np.ndarray] = {}
    if store_path.is_file():
        saved = np.load(store_path)
        store = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    encoder, tokenizer = load_encoder(encoder_sha)
    per_note: list[list[tuple[str, torch.Tensor, torch.Tensor]]] = []
    for text in texts:
        note = chunk_note(tokenizer, text, CHUNK_TOKENS, MAX_CHUNKS)
        per_note.append([(_chunk_key(note.input_ids[c], note.attention_mask[c]), note.input_ids[c], note.attention_mask[c])
                         for c in range(note.input_ids.shape[0])])

    def save() -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        atomic_write(store_path, lambda handle: np.savez(handle, keys=np.array(list(store)), vectors=np.stack(list(store.values()))))

    started, done_chunks, block = time.time(), 0, 32
    for first in range(0, len(per_note), block):
        if deadline is not None and time.time() > deadline:
            print(f"  CPU budget spent: {first} of {len(per_note)} notes embedded", flush=True)
            break
        todo = sorted({k: (k, ids, mask) for chunks in per_note[first:first + block] for k, ids, mask in chunks
                       if k not in store}.values(), key=lambda c: int(c[2].sum()))
        for b in range(0, len(todo), batch_chunks):
            batch = todo[b:b + batch_chunks]
            width = max(int(c[2].sum()) for c in batch)
            ids = torch.stack([c[1][:width] for c in batch])
            mask = torch.stack([c[2][:width] for c in batch])
            pooled = mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask).numpy()
            store.update({c[0]: vector for c, vector in zip(batch, pooled, strict=True)})
        done_chunks += len(todo)
        if todo:
            save()
            print(f"  notes {min(first + block, len(per_note))}/{len(per_note)}: {done_chunks} new chunks "
                  f"({time.time() - started:.0f} s)", flush=True)
    return [np.stack([store[k] for k, _, _ in chunks]).astype(np.float32) if all(k in store for k, _, _ in chunks) else None
            for chunks in per_note]


def note_token_counts(texts: list[str]) -> np.ndarray:
    """WordPiece tokens per note (without [CLS]/[SEP])."""
    from transformers import AutoTokenizer

    from medassist.models.notes import encoder_folder

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_folder()), local_files_only=True)
    tokenizer.model_max_length = 1_000_000
    return np.array([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]])


def stack_notes(embedded: Sequence[np.ndarray | None]) -> torch.Tensor:
    """Per-note chunk vectors -> ``[N, 768]`` note vectors (the head's input); every note must be embedded."""
    vectors = [v for v in embedded if v is not None]
    if len(vectors) != len(embedded):
        raise ValueError("a note was not embedded before the deadline: stack only the embedded prefix")
    width = max(v.shape[0] for v in vectors)
    padded = torch.zeros(len(vectors), width, vectors[0].shape[1])
    present = torch.zeros(len(vectors), width)
    for i, v in enumerate(vectors):
        padded[i, : v.shape[0]] = torch.from_numpy(v)
        present[i, : v.shape[0]] = 1
    return note_vector(padded, present)


def train_head(
    x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor, hidden: int
) -> tuple[torch.nn.Module, int]:
    """Train the head with plain BCE (calibrated probabilities) and early stopping on validation loss."""
    torch.manual_seed(SEED)
    model = NotesClassifier(n_labels=y_train.shape[1], hidden=hidden, load_pretrained_encoder=False).head
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    generator = torch.Generator().manual_seed(SEED)
    best, best_state, best_epoch, patience = float("inf"), None, 0, 0
    for epoch in range(300):
        model.train()
        for batch in torch.randperm(len(x_train), generator=generator).split(64):
            optimizer.zero_grad()
            loss_fn(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(x_val), y_val))
        if val_loss < best - 1e-4:
            best, best_epoch, patience = val_loss, epoch, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            patience += 1
            if patience >= 20:
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return model, best_epoch


def precision_thresholds(probs: np.ndarray, truth: np.ndarray, target: float = TARGET_PRECISION) -> np.ndarray:
    """Per label, the lowest threshold whose validation precision reaches ``target`` (at least one true
    positive); where none does, the threshold of the best F0.5 (precision weighted over recall)."""
    grid = np.round(np.linspace(0.05, 0.95, 91), 2)
    chosen = []
    for j in range(truth.shape[1]):
        best, best_f = 0.5, -1.0
        picked = None
        for t in grid:
            predicted = probs[:, j] >= t
            tp = int((predicted & (truth[:, j] == 1)).sum())
            precision = tp / max(int(predicted.sum()), 1)
            recall = tp / max(int(truth[:, j].sum()), 1)
            if picked is None and tp > 0 and precision >= target:
                picked = float(t)
            f_half = 1.25 * precision * recall / max(0.25 * precision + recall, 1e-9)
            if f_half > best_f:
                best, best_f = float(t), f_half
        chosen.append(picked if picked is not None else best)
    return np.array(chosen)


def calibration(probs: np.ndarray, truth: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Brier score and expected calibration error over every (note, label) pair."""
    p, y = probs.reshape(-1), truth.reshape(-1)
    return {"brier": round(float(np.mean((p - y) ** 2)), 4), "ece": round(calibration_error(y, p, bins)[0], 4)}


def evaluate(probs: np.ndarray, truth: np.ndarray, thresholds: np.ndarray, labels: list[str]) -> dict:
    """Per-label AUROC/precision/recall/F1/n_positive, micro/macro F1, mean AUROC, calibration."""
    predicted = (probs >= thresholds).astype(int)
    per_label = {}
    for j, label in enumerate(labels):
        tp = int((predicted[:, j] & truth[:, j]).sum())
        per_label[label] = {
            "auroc": rounded(auroc(truth[:, j], probs[:, j])),
            "precision": round(tp / predicted[:, j].sum(), 4) if predicted[:, j].sum() else None,
            "recall": round(tp / truth[:, j].sum(), 4) if truth[:, j].sum() else None,
            "f1": round(f1_scores(truth[:, j : j + 1], predicted[:, j : j + 1])["micro_f1"], 4),
            "n_positive": int(truth[:, j].sum()),
            "predicted": int(predicted[:, j].sum()),
        }
    aurocs = [v["auroc"] for v in per_label.values() if v["auroc"] is not None]
    return {
        "n_notes": int(len(truth)),
        **f1_scores(truth, predicted),
        "macro_auroc": round(float(np.mean(aurocs)), 4) if aurocs else None,
        **calibration(probs, truth),
        "per_label": per_label,
    }


def evaluate_suggestions(texts: list[str], truth: np.ndarray, labels: list[str]) -> dict:
    """Precision/recall of what the app suggests (evidence required) against a reference."""
    suggested = np.array([[int(label in set(note_problems(t, list(notes_model_lexicon())).suggested)) for label in labels] for t in texts])
    per_label = {}
    for j, label in enumerate(labels):
        tp = int((suggested[:, j] & truth[:, j]).sum())
        per_label[label] = {
            "precision": round(tp / suggested[:, j].sum(), 4) if suggested[:, j].sum() else None,
            "recall": round(tp / truth[:, j].sum(), 4) if truth[:, j].sum() else None,
            "n_positive": int(truth[:, j].sum()),
            "suggested": int(suggested[:, j].sum()),
        }
    return {"n_notes": len(texts), **f1_scores(truth, suggested), "per_label": per_label}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "notes-problems")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--min-positives", type=int, default=12)
    parser.add_argument("--target-precision", type=float, default=TARGET_PRECISION)
    parser.add_argument("--iu-reports", type=int, default=IU_REPORTS, help="IU reports to evaluate on (hash order)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="stop embedding new notes after this long and train on the notes embedded so far "
                             "(taken in hash order, so every length and specialty is represented)")
    args = parser.parse_args(argv)
    deadline = time.time() + 60 * args.budget_minutes if args.budget_minutes else None
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)  # the shared 2-core machine: one thread wastes least time spinning
    version, encoder_sha = encoder_fingerprint()

    iu_texts, reports = iu_sample(args.data, args.iu_reports)
    iu_vectors = stack_notes(embed_notes(iu_texts, encoder_sha))
    notes = load_mtsamples(args.data).sort_values("key").reset_index(drop=True)  # hash order: a fair sample if cut short
    n_distinct = len(notes)
    embedded = embed_notes([note_problems(t, list(notes_model_lexicon())).patient_text() for t in notes["text"]], encoder_sha, deadline=deadline)
    n_used = next((i for i, v in enumerate(embedded) if v is None), len(embedded))  # the hash-order prefix only
    notes = notes.head(n_used).reset_index(drop=True)
    vectors = stack_notes(embedded[:n_used])
    tokens = note_token_counts(notes["text"].tolist())
    train_mask = notes["split"] == "train"
    labels = [label for label in notes_model_lexicon() if notes.loc[train_mask, label].sum() >= args.min_positives]
    print(f"MTSamples: {len(notes)} of {n_distinct} distinct notes embedded ({int((tokens > CHUNK_TOKENS * 2).sum())} "
          f"longer than two windows); labels with >= {args.min_positives} training positives: {labels}")
    y = torch.tensor(notes[labels].to_numpy(), dtype=torch.float32)
    split = {s: torch.from_numpy((notes["split"] == s).to_numpy()) for s in ("train", "val", "test")}

    head, best_epoch = train_head(vectors[split["train"]], y[split["train"]], vectors[split["val"]], y[split["val"]], args.hidden)
    with torch.no_grad():
        probs = torch.sigmoid(head(vectors)).numpy()
    truth = y.numpy().astype(int)
    val, test = split["val"].numpy(), split["test"].numpy()
    thresholds = precision_thresholds(probs[val], truth[val], args.target_precision)
    long_test = test & (tokens > CHUNK_TOKENS * 2)
    metrics = {
        "mtsamples_val": evaluate(probs[val], truth[val], thresholds, labels),
        "mtsamples_test": evaluate(probs[test], truth[test], thresholds, labels),
        "mtsamples_test_long_notes": evaluate(probs[long_test], truth[long_test], thresholds, labels),
    }
    metrics["mtsamples_test_long_notes"]["selection"] = f"test notes longer than {CHUNK_TOKENS * 2} tokens (3+ windows)"

    shared = [label for label in IU_REFERENCE if label in labels]
    with torch.no_grad():
        iu_probs = torch.sigmoid(head(iu_vectors)).numpy()
    columns = [labels.index(label) for label in shared]
    iu_truth = reports[shared].to_numpy().astype(int)
    metrics["iu_openi_reports"] = evaluate(iu_probs[:, columns], iu_truth, thresholds[columns], shared)
    metrics["iu_openi_reports"]["reference"] = "manual MeSH major terms of each report (see docs/notes-model.md)"
    metrics["iu_openi_reports"]["sample"] = f"{len(reports)} reports of 3,927 with text, first by MD5 of report_id"
    metrics["iu_openi_suggestions"] = evaluate_suggestions(reports["text"].tolist(), iu_truth, shared)
    metrics["iu_openi_suggestions"]["what"] = (
        "what the app suggests (a mention the assertion layer reads as the patient's; evidence required) "
        "against the radiologists' MeSH major terms: an independent reference for the rule layer")

    print(json.dumps(metrics, indent=1))
    history = previous_versions(args.out / "metadata.json")
    counts = {s: {label: int(notes.loc[notes["split"] == s, label].sum()) for label in labels} for s in ("train", "val", "test")}
    card = build_card(labels, thresholds, metrics, version, encoder_sha, args.hidden, counts, best_epoch,
                      len(notes), n_distinct, int((tokens > (CHUNK_TOKENS - 2) * MAX_CHUNKS).sum()), args.target_precision,
                      history)
    written = write_bundle(args.out, card, {WEIGHTS: torch_bytes({f"head.{k}": v for k, v in head.state_dict().items()})})
    print(f"wrote {args.out} (weights SHA-256 {written.weights.sha256})")
    return metrics


def iu_sample(data: Path, n: int) -> tuple[list[str], pd.DataFrame]:
    """The IU/Open-i evaluation reports (first ``n`` by MD5 of report_id) and their patient texts."""
    reports = load_iu_reports(data)
    order = reports["report_id"].map(lambda r: hashlib.md5(str(r).encode()).hexdigest()).argsort().to_numpy()
    reports = reports.iloc[np.sort(order[:n])].reset_index(drop=True)
    return [note_problems(t, list(notes_model_lexicon())).patient_text() for t in reports["text"]], reports


def previous_versions(card_path: Path) -> list[dict]:
    """The card's earlier versions with their headline numbers, so a retrain never hides what came before."""
    if not card_path.is_file():
        return []
    old = json.loads(card_path.read_text(encoding="utf-8"))
    if old.get("version") == VERSION:
        return old.get("history", [])
    test = old.get("metrics", {}).get("mtsamples_test", {})
    entry = {
        "version": old.get("version"),
        "weights_sha256": old.get("weights", {}).get("sha256"),
        "notes_used": old.get("training_data", {}).get("notes_used"),
        "mtsamples_test": {k: test.get(k) for k in ("n_notes", "micro_f1", "macro_f1", "macro_auroc")},
        "iu_openi_macro_auroc": old.get("metrics", {}).get("iu_openi_reports", {}).get("macro_auroc"),
        "suggestions": "every problem at or above its threshold (no assertion status, no evidence)",
    }
    return old.get("history", []) + [entry]


def build_card(labels: list[str], thresholds: np.ndarray, metrics: dict[str, Any], version: str,
               encoder_sha: str, hidden: int, counts: dict[str, dict[str, int]], best_epoch: int, n_notes: int,
               n_distinct: int, n_truncated: int, target_precision: float, history: list[dict]) -> dict[str, Any]:
    return {
        "schema_version": "2",
        "name": "notes-problems",
        "version": VERSION,
        "display_name": "Problems from a clinical note (assertion rules + MiniLM head)",
        "task": "text-classification",
        "description": (
            "Suggests the patient's problems documented in a clinical note, each with the sentence(s) it rests on. "
            "A ConText-style rule layer finds every mention of a problem and its status (affirmed, negated, "
            "historical, family, hypothetical, uncertain); only problems with a mention that is the patient's are "
            "suggested, the others are listed as 'mentioned, <status>'. A frozen all-MiniLM-L6-v2 encoder (from the "
            "installed Python package) reads the note (sentences that only hold non-patient mentions blanked) in "
            "256-token windows; a small trained head gives each problem a calibrated probability from the mean and "
            "max of the window vectors, which ranks the suggestions."
        ),
        "weights": {"file": WEIGHTS, "format": "state_dict", "sha256": None},  # set by the bundle writer
        "architecture": {
            "name": "notes-minilm-head",
            "kwargs": {
                "n_labels": len(labels),
                "hidden": hidden,
                "chunk_tokens": CHUNK_TOKENS,
                "max_chunks": MAX_CHUNKS,
                "encoder_version": version,
                "encoder_sha256": encoder_sha,
            },
        },
        "inputs": [{
            "name": "note", "type": "text", "shape": ["chunks", CHUNK_TOKENS], "dtype": "int64",
            "preprocessing": "MTSamples ',HEADER:,' artefacts undone; sentences whose problem mentions are all negated/family/hypothetical/uncertain/past-acute blanked; WordPiece (uncased) tokens in chunks of 254 + [CLS]/[SEP]; at most 16 chunks (~3,500 words), the rest is ignored and reported",
        }],
        "outputs": [{"name": "problems", "type": "probabilities", "shape": [len(labels)], "value_range": [0.0, 1.0]}],
        "labels": labels,
        "thresholds": {label: round(float(t), 3) for label, t in zip(labels, thresholds, strict=True)},
        "intended_use": (
            "Decision support: point a clinician to problems a note documents for the patient, each with the "
            "sentence(s) that say so, and to problems it mentions only as negated, family history, hypothetical or "
            "uncertain. Not a diagnosis; not a coding tool."
        ),
        "limitations": [
            "Suggestions come from a rule layer (a problem lexicon and ConText-style triggers, see docs/notes-model.md): a problem named in words the lexicon lacks is not suggested, and unusual phrasing of negation, family history or hypotheticals can be misread. Each suggestion shows its evidence so a reader can check it.",
            "Training labels are weak: the same rule layer over MTSamples descriptions, keywords and transcriptions, not clinician annotation; the head's MTSamples metrics measure agreement with those rules.",
            "MTSamples are sample transcriptions, not real hospital records; performance on real notes is unknown.",
            f"Thresholds are the lowest on validation with precision >= {target_precision} (F0.5-best where none reaches it); with few validation positives per problem they are uncertain.",
            "On IU/Open-i chest X-ray reports (a different kind of text) see metrics.iu_openi_reports (head) and metrics.iu_openi_suggestions (what is suggested).",
            f"English only. Notes longer than 16 chunks (~3,500 words) are read only up to that point ({n_truncated} MTSamples notes are longer).",
            "Integrated Gradients attributes one problem's score on its evidence sentences read alone (at most four); attention rollout shows where the encoder looked (class-agnostic). Neither proves the reasoning is right.",
        ],
        "training_data": {
            "dataset": "MTSamples (Kaggle 'Medical Transcriptions', T. Boyle), CC0",
            "notes_used": n_notes,
            "notes_distinct": n_distinct,
            "notes_selection": (
                "every distinct MTSamples note with a transcription, long ones too (read in up to 16 windows)"
                if n_notes == n_distinct else
                f"the first {n_notes} of {n_distinct} distinct notes in hash order (all lengths, long ones read in up "
                "to 16 windows): the CPU budget of the shared build machine ran out before the rest were embedded"),
            "split": "hash of the normalized transcription: 70% train / 15% val / 15% test; duplicate notes merged first",
            "label_rules": "medassist.notes (rules; patterns in problems.yaml): a mention the assertion layer reads as the patient's (affirmed, or historical for a chronic problem)",
            "positives_per_split": counts,
            "best_epoch": best_epoch,
            "loss": "binary cross-entropy without class weights (calibrated probabilities), early stopping on validation loss",
            "evaluation_only": "IU/Open-i chest X-ray reports (CC BY-NC-ND 4.0): never used for training or threshold choice",
        },
        "metrics": metrics,
        "history": history,
        "explanations": ["evidence", "integrated_gradients", "attention_rollout"],
        "license": "Head weights: Apache-2.0 (trained on CC0 data). Encoder: all-MiniLM-L6-v2, Apache-2.0, from the installed package.",
        "training_script": "python -m medassist.training.notes_classifier",
        "text": {
            "encoder": {
                "package": ENCODER_PACKAGE,
                "version": version,
                "weights_file": "model.safetensors",
                "sha256": encoder_sha,
                "note": "The encoder is not shipped here; it is loaded from the installed package with no network and its SHA-256 checked at load.",
            },
            "label_names": {label: problem_name(label) for label in labels},
        },
    }


if __name__ == "__main__":
    main()
