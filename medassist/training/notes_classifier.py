"""Train the notes-problems head on MTSamples (CC0) and evaluate it on MTSamples and IU/Open-i.

    nice -n 10 python -m medassist.training.notes_classifier [--data ../shared/data] [--out models/notes-problems]

Labels are weak: keyword rules (with a simple negation check) over each note's description,
keywords and transcription; docs/record-models.md lists the rules. Notes that appear twice in
MTSamples (the same transcription filed under "Surgery" and another specialty) are merged
before a hash split (70/15/15), so no note is in two splits. The frozen encoder's chunk vectors
are cached under ``.cache/notes-embeddings/`` (computed once, resumable). The shipped head was
trained on notes of at most ``--max-note-tokens`` (default 508) tokens because the shared build
machine had a fraction of one CPU core; ``--max-note-tokens 4064`` uses every note.
IU/Open-i reports (CC BY-NC-ND) are only *evaluated on*, with their manual MeSH terms as the
reference for the labels both sets share; they never touch the shipped weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medassist.hashing import sha256_file
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
from medassist.training.metrics import auroc, f1_scores

SEED = 7
CHUNK_TOKENS = 256
MAX_CHUNKS = 16
MAX_NOTE_TOKENS = 508  # two windows; raise (up to 4064) with more CPU time
IU_REPORTS = 600
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "notes-embeddings"

# label -> (regex matched on lower-cased text, display name). Rules are deliberately simple and
# documented; a match preceded in its sentence by a negation cue is ignored.
LABEL_RULES: dict[str, tuple[str, str]] = {
    "hypertension": (r"\bhypertension\b|\bhypertensive\b|\bhtn\b|high blood pressure", "Hypertension"),
    "diabetes": (r"\bdiabet(?:es|ic)\b|\biddm\b|\bniddm\b|\bdm2?\b|\bt2dm\b", "Diabetes mellitus"),
    "hyperlipidemia": (r"hyperlipid|dyslipid|hypercholesterol|high cholesterol", "Hyperlipidemia"),
    "coronary_artery_disease": (
        r"coronary artery disease|\bcad\b|myocardial infarction|\bstemi\b|\bnstemi\b|\bangina\b|coronary stent|\bcabg\b",
        "Coronary artery disease",
    ),
    "heart_failure": (r"heart failure|\bchf\b|cardiomyopathy|reduced ejection fraction", "Heart failure"),
    "atrial_fibrillation": (r"atrial fibrillation|\bafib\b|a-fib|atrial flutter", "Atrial fibrillation/flutter"),
    "stroke": (r"\bstroke\b|cerebrovascular accident|\bcva\b|\btia\b|transient ischemic attack|cerebral infarct", "Stroke/TIA"),
    "copd": (r"\bcopd\b|chronic obstructive|emphysema|chronic bronchitis", "COPD/emphysema"),
    "asthma": (r"\basthma", "Asthma"),
    "pneumonia": (r"pneumonia|pneumonitis", "Pneumonia"),
    "pleural_effusion": (r"pleural effusion|\beffusions?\b(?! of the knee)", "Pleural effusion"),
    "cardiomegaly": (r"cardiomegaly|enlarged (?:cardiac silhouette|heart)|cardiac enlargement", "Cardiomegaly"),
    "chronic_kidney_disease": (
        r"chronic kidney disease|chronic renal (?:failure|insufficiency)|\bckd\b|\besrd\b|end-stage renal|hemodialysis|\bdialysis\b",
        "Chronic kidney disease",
    ),
    "cancer": (
        r"cancer|carcinoma|malignan|lymphoma|leukemia|melanoma|sarcoma|metasta|\bmyeloma\b|neoplasm",
        "Cancer",
    ),
    "obesity": (r"\bobes(?:e|ity)\b|morbid obesity|\bbmi (?:of )?[4-9]\d", "Obesity"),
    "depression": (r"\bdepress(?:ion|ive)\b|\bmdd\b", "Depression"),
    "hypothyroidism": (r"hypothyroid|hashimoto", "Hypothyroidism"),
    "urinary_tract_infection": (r"urinary tract infection|\buti\b|pyelonephritis|cystitis", "Urinary tract infection"),
}
_NEGATION = re.compile(
    r"\b(?:no|not|denies|denied|negative for|without|free of|rule out|r/o|ruled out|no evidence of|no history of|"
    r"no signs? of|absence of|family history|mother|father|sister|brother)\b"
)
_COMPILED = {label: re.compile(pattern) for label, (pattern, _) in LABEL_RULES.items()}

# Labels shared with IU/Open-i: label -> MeSH major terms that make an IU report positive.
IU_REFERENCE: dict[str, tuple[str, ...]] = {
    "pneumonia": ("Pneumonia",),
    "copd": ("Pulmonary Disease, Chronic Obstructive", "Emphysema", "Pulmonary Emphysema"),
    "cardiomegaly": ("Cardiomegaly",),
    "pleural_effusion": ("Pleural Effusion",),
    "heart_failure": ("Heart Failure",),
}


def rule_labels(text: str) -> dict[str, int]:
    """Weak labels for one note: 1 where a rule matches in a sentence without a negation cue before it."""
    lowered = text.lower()
    found = {label: 0 for label in LABEL_RULES}
    for label, pattern in _COMPILED.items():
        for match in pattern.finditer(lowered):
            start = max(lowered.rfind(c, 0, match.start()) for c in ".;:\n") + 1
            if not _NEGATION.search(lowered[start : match.start()]):
                found[label] = 1
                break
    return found


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
def embed_notes(texts: list[str], encoder_sha: str, batch_chunks: int = 16) -> list[np.ndarray]:
    """Chunk vectors ``[n_chunks, 384]`` per note. Every chunk vector is cached under the SHA-1 of its
    token ids (``.cache/notes-embeddings/``), so any subset of notes reuses earlier work and an
    interrupted run resumes where it stopped."""
    store_path = CACHE / f"chunks-{encoder_sha[:12]}-{CHUNK_TOKENS}.npz"
    store: dict[str, np.ndarray] = {}
    if store_path.is_file():
        saved = np.load(store_path)
        store = dict(zip(saved["keys"].tolist(), saved["vectors"]))
    encoder, tokenizer = load_encoder(encoder_sha)
    chunks: list[tuple[int, str, torch.Tensor, torch.Tensor]] = []
    for index, text in enumerate(texts):
        note = chunk_note(tokenizer, text, CHUNK_TOKENS, MAX_CHUNKS)
        for c in range(note.input_ids.shape[0]):
            ids, mask = note.input_ids[c], note.attention_mask[c]
            chunks.append((index, _chunk_key(ids, mask), ids, mask))
    todo = sorted({c[1]: c for c in chunks if c[1] not in store}.values(), key=lambda c: int(c[3].sum()))

    def save() -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(store_path, keys=np.array(list(store)), vectors=np.stack(list(store.values())))

    started = time.time()
    for step, b in enumerate(range(0, len(todo), batch_chunks)):
        batch = todo[b:b + batch_chunks]
        width = max(int(c[3].sum()) for c in batch)
        ids = torch.stack([c[2][:width] for c in batch])
        mask = torch.stack([c[3][:width] for c in batch])
        pooled = mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask).numpy()
        store.update({c[1]: vector for c, vector in zip(batch, pooled)})
        if step % 10 == 0:
            save()
            print(f"  embedded {b + len(batch)}/{len(todo)} new chunks ({time.time() - started:.0f} s)", flush=True)
    if todo:
        save()
    per_note: list[list[np.ndarray]] = [[] for _ in texts]
    for index, key, _, _ in chunks:
        per_note[index].append(store[key])
    return [np.stack(v).astype(np.float32) for v in per_note]


def note_token_counts(texts: list[str]) -> np.ndarray:
    """WordPiece tokens per note (without [CLS]/[SEP])."""
    from transformers import AutoTokenizer

    from medassist.models.notes import encoder_folder

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_folder()), local_files_only=True)
    tokenizer.model_max_length = 1_000_000
    return np.array([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]])


def stack_notes(vectors: list[np.ndarray]) -> torch.Tensor:
    """Per-note chunk vectors -> ``[N, 768]`` note vectors (the head's input)."""
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
    """Train the head with class-balanced BCE and early stopping on validation loss."""
    torch.manual_seed(SEED)
    model = NotesClassifier(n_labels=y_train.shape[1], hidden=hidden, load_pretrained_encoder=False).head
    positives = y_train.sum(0).clamp(min=1)
    pos_weight = ((len(y_train) - positives) / positives).clamp(max=20.0)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
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


def best_thresholds(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-label threshold maximizing F1 on validation."""
    grid = np.linspace(0.05, 0.95, 91)
    chosen = []
    for j in range(truth.shape[1]):
        scores = [f1_scores(truth[:, j : j + 1], (probs[:, j : j + 1] >= t).astype(int))["micro_f1"] for t in grid]
        chosen.append(float(grid[int(np.argmax(scores))]))
    return np.array(chosen)


def evaluate(probs: np.ndarray, truth: np.ndarray, thresholds: np.ndarray, labels: list[str]) -> dict:
    """Per-label AUROC/F1/positives, micro/macro F1 and mean AUROC over labels with both classes."""
    predicted = (probs >= thresholds).astype(int)
    per_label = {}
    for j, label in enumerate(labels):
        f1 = f1_scores(truth[:, j : j + 1], predicted[:, j : j + 1])["micro_f1"]
        per_label[label] = {"auroc": auroc(truth[:, j], probs[:, j]), "f1": round(f1, 4), "positives": int(truth[:, j].sum())}
    aurocs = [v["auroc"] for v in per_label.values() if v["auroc"] is not None]
    return {
        "n_notes": int(len(truth)),
        **f1_scores(truth, predicted),
        "macro_auroc": round(float(np.mean(aurocs)), 4) if aurocs else None,
        "per_label": per_label,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "models" / "notes-problems")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--min-positives", type=int, default=12)
    parser.add_argument("--max-note-tokens", type=int, default=MAX_NOTE_TOKENS,
                        help="train/evaluate on MTSamples notes up to this many WordPiece tokens (CPU budget)")
    parser.add_argument("--iu-reports", type=int, default=IU_REPORTS, help="IU reports to evaluate on (hash order)")
    args = parser.parse_args(argv)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)  # the shared 2-core machine: one thread wastes least time spinning
    version, encoder_sha = encoder_fingerprint()

    notes = load_mtsamples(args.data)
    n_distinct = len(notes)
    notes = notes[note_token_counts(notes["text"].tolist()) <= args.max_note_tokens].reset_index(drop=True)
    train_mask = notes["split"] == "train"
    labels = [l for l in LABEL_RULES if notes.loc[train_mask, l].sum() >= args.min_positives]
    print(f"MTSamples: {len(notes)} of {n_distinct} distinct notes (<= {args.max_note_tokens} tokens); "
          f"labels with >= {args.min_positives} training positives: {labels}")
    vectors = stack_notes(embed_notes(notes["text"].tolist(), encoder_sha))
    y = torch.tensor(notes[labels].to_numpy(), dtype=torch.float32)
    split = {s: torch.from_numpy((notes["split"] == s).to_numpy()) for s in ("train", "val", "test")}

    head, best_epoch = train_head(vectors[split["train"]], y[split["train"]], vectors[split["val"]], y[split["val"]], args.hidden)
    with torch.no_grad():
        probs = torch.sigmoid(head(vectors)).numpy()
    truth = y.numpy().astype(int)
    thresholds = best_thresholds(probs[split["val"].numpy()], truth[split["val"].numpy()])
    metrics = {
        "mtsamples_val": evaluate(probs[split["val"].numpy()], truth[split["val"].numpy()], thresholds, labels),
        "mtsamples_test": evaluate(probs[split["test"].numpy()], truth[split["test"].numpy()], thresholds, labels),
    }

    reports = load_iu_reports(args.data)
    order = reports["report_id"].map(lambda r: hashlib.md5(str(r).encode()).hexdigest()).argsort().to_numpy()
    reports = reports.iloc[np.sort(order[: args.iu_reports])].reset_index(drop=True)
    shared = [l for l in IU_REFERENCE if l in labels]
    iu_vectors = stack_notes(embed_notes(reports["text"].tolist(), encoder_sha))
    with torch.no_grad():
        iu_probs = torch.sigmoid(head(iu_vectors)).numpy()
    columns = [labels.index(l) for l in shared]
    metrics["iu_openi_reports"] = evaluate(
        iu_probs[:, columns], reports[shared].to_numpy().astype(int), thresholds[columns], shared
    )
    metrics["iu_openi_reports"]["reference"] = "manual MeSH major terms of each report (see docs/record-models.md)"
    metrics["iu_openi_reports"]["sample"] = f"{len(reports)} reports of 3,927 with text, first by MD5 of report_id"

    print(json.dumps(metrics, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "head.pt"
    torch.save({f"head.{k}": v for k, v in head.state_dict().items()}, weights)
    counts = {s: {l: int(notes.loc[notes["split"] == s, l].sum()) for l in labels} for s in ("train", "val", "test")}
    card = build_card(labels, thresholds, metrics, weights, version, encoder_sha, args.hidden, counts, best_epoch,
                      len(notes), n_distinct, args.max_note_tokens)
    (args.out / "metadata.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return metrics


def build_card(labels, thresholds, metrics, weights, version, encoder_sha, hidden, counts, best_epoch, n_notes,
               n_distinct, max_note_tokens) -> dict:
    return {
        "schema_version": "1",
        "name": "notes-problems",
        "version": "1.0.0",
        "display_name": "Problems from a clinical note (MiniLM + head)",
        "task": "text-classification",
        "modality": "clinical note (English free text)",
        "description": (
            "Suggests problems/diagnoses mentioned as present in a clinical note (multi-label). A frozen "
            "all-MiniLM-L6-v2 encoder (from the installed Python package) reads the note in 256-token chunks; a "
            "small trained head scores each problem from the mean and max of the chunk vectors."
        ),
        "weights": {"file": weights.name, "format": "state_dict", "sha256": sha256_file(weights)},
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
            "preprocessing": "MTSamples ',HEADER:,' artefacts undone; WordPiece (uncased) tokens in chunks of 254 + [CLS]/[SEP]; at most 16 chunks (~3,500 words), the rest is ignored and reported",
        }],
        "outputs": [{"name": "problems", "type": "probabilities", "shape": [len(labels)], "value_range": [0.0, 1.0]}],
        "labels": labels,
        "thresholds": {l: round(float(t), 3) for l, t in zip(labels, thresholds)},
        "intended_use": (
            "Decision support: point a clinician to problems a note appears to document, with the words that drove "
            "each suggestion highlighted. Not a diagnosis; not a coding tool."
        ),
        "limitations": [
            "Labels are weak: keyword rules with a simple negation check over MTSamples descriptions, keywords and transcriptions, not clinician annotation. The model learns to recognize documented problems, and inherits the rules' errors (e.g. family history phrased unusually, abbreviations).",
            "MTSamples are sample transcriptions, not real hospital records; performance on real notes is unknown.",
            f"Trained and evaluated only on the {n_notes} MTSamples notes of at most {max_note_tokens} tokens (~{max_note_tokens * 3 // 4} words). Longer notes are read window by window (mean and max over windows), but that was not validated.",
            "On IU/Open-i chest X-ray reports (a different kind of text) agreement with the radiologists' MeSH terms is lower than on MTSamples; see metrics.iu_openi_reports.",
            "English only. Notes longer than 16 chunks (~3,500 words) are read only up to that point.",
            "Attention rollout shows where the encoder looked (class-agnostic); Integrated Gradients attributes one problem's logit. Neither proves the reasoning is right.",
        ],
        "training_data": {
            "dataset": "MTSamples (Kaggle 'Medical Transcriptions', T. Boyle), CC0",
            "notes_used": n_notes,
            "notes_distinct": n_distinct,
            "notes_selection": f"notes of at most {max_note_tokens} WordPiece tokens (~{max_note_tokens * 3 // 4} words): the CPU budget of the shared build machine; longer notes were neither trained nor evaluated on",
            "split": "hash of the normalized transcription: 70% train / 15% val / 15% test; duplicate notes merged first",
            "label_rules": {l: LABEL_RULES[l][0] for l in labels},
            "positives_per_split": counts,
            "best_epoch": best_epoch,
            "evaluation_only": "IU/Open-i chest X-ray reports (CC BY-NC-ND 4.0): never used for training or threshold choice",
        },
        "metrics": metrics,
        "explanations": ["attention_rollout", "integrated_gradients"],
        "license": "Head weights: Apache-2.0 (trained on CC0 data). Encoder: all-MiniLM-L6-v2, Apache-2.0, from the installed package.",
        "training_script": "python -m medassist.training.notes_classifier",
        "extra": {
            "encoder": {
                "package": ENCODER_PACKAGE,
                "version": version,
                "weights_file": "model.safetensors",
                "sha256": encoder_sha,
                "note": "The encoder is not shipped here; it is loaded from the installed package with no network and its SHA-256 checked at load.",
            },
            "label_names": {l: LABEL_RULES[l][1] for l in labels},
        },
    }


if __name__ == "__main__":
    main()
