"""The notes model: offline loading with the encoder verified, word-aligned highlights, IG
completeness, progress and cancel on a long note, and held-out metrics recomputed from the bundled head."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch

from medassist.bench.record_models import note_of
from medassist.errors import ModelError
from medassist.domain.inputs import TextInput
from medassist.inference.service import InferenceService
from medassist.jobs import CancelToken, Cancelled, run_job
from medassist.models.notes import NotesClassifier, chunk_note
from medassist.notes.mentions import note_problems
from medassist.paths import bundled_models_dir
from medassist.training import notes_classifier
from medassist.training.metrics import auroc, f1_scores
from tests.services import cpu_service

MODEL = "notes-problems"
NOTE = (
    "HISTORY OF PRESENT ILLNESS: A 67-year-old man with long-standing hypertension and type 2 diabetes mellitus "
    "on metformin presents with two days of productive cough and fever.\n"
    "IMPRESSION: Right lower lobe pneumonia. Blood pressure is controlled on lisinopril."
)


@pytest.fixture(scope="module")
def service() -> InferenceService:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return cpu_service(threads=2)


def test_loads_and_predicts_with_the_network_blocked(service, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    prediction = run_job(service.predict(MODEL, TextInput(NOTE, "note.txt")))
    assert {"hypertension", "diabetes"} <= set(prediction.positive)
    assert "cancer" not in prediction.positive
    assert prediction.outputs["hypertension"] > prediction.outputs["urinary_tract_infection"]
    assert prediction.input_sha256 == TextInput(NOTE).sha256


def test_shipped_weights_hold_only_the_small_head():
    weights = bundled_models_dir() / MODEL / "head.pt"
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert state and all(key.startswith("head.") for key in state)
    assert weights.stat().st_size < 2_000_000


def test_encoder_with_another_checksum_is_refused():
    with pytest.raises(ModelError, match="SHA-256 mismatch"):
        NotesClassifier(n_labels=3, encoder_sha256="0" * 64)


@pytest.mark.parametrize("method", ["evidence", "attention_rollout", "integrated_gradients"])
def test_highlights_map_to_the_words_of_the_note(service, method):
    explanation = run_job(service.explain(MODEL, TextInput(NOTE), method, "hypertension"))
    assert explanation.kind == "token_scores"
    words = NOTE.split()
    assert explanation.labels == words
    assert len(explanation.values) == len(words)
    for (start, end), word in zip(explanation.extra["spans"], explanation.labels, strict=True):
        assert NOTE[start:end] == word
    top = [explanation.labels[i].lower() for i in np.argsort(-explanation.values)[:3]]
    if method == "integrated_gradients":
        assert any("hypertension" in word for word in top), f"top IG words for hypertension: {top}"
        faith = explanation.faithfulness
        assert faith["completeness_gap"] < 0.05 * max(1.0, abs(faith["logit"] - faith["baseline_logit"]))
        assert explanation.extra["attributed"] == "1 of 1 evidence sentences"
    elif method == "evidence":
        assert top[0].startswith("hypertension")
        assert [e["text"] for e in explanation.extra["evidence"]] == ["hypertension"]
    else:
        assert np.all(explanation.values > 0)


def test_long_note_is_chunked_and_fully_highlighted(service):
    text = " ".join([NOTE] * 30)
    prediction = run_job(service.predict(MODEL, TextInput(text)))
    assert prediction.extra["chunks"] > 4 and "truncated" not in prediction.extra
    explanation = run_job(service.explain(MODEL, TextInput(text), "attention_rollout", None))
    assert len(explanation.labels) == len(text.split())
    assert explanation.values[-5:].sum() > 0  # the last chunk's words are scored too


def test_integrated_gradients_on_a_long_note_reads_only_evidence_and_can_be_cancelled(service):
    note = TextInput(note_of(1000), "1000 words")
    messages: list[str] = []
    explanation = run_job(service.explain(MODEL, note, "integrated_gradients", "pneumonia"),
                          on_progress=lambda p: messages.append(p.message))
    sentences = {m.split(" (")[0] for m in messages if m.startswith("Integrated Gradients: sentence")}
    assert len(sentences) == 4 and explanation.extra["attributed"].startswith("4 of ")
    evidence = {(m.sentence_start, m.sentence_end) for m in note_problems(note.text).evidence("pneumonia")}
    scored = [s for s, v in zip(explanation.extra["spans"], explanation.values, strict=True) if v != 0]
    assert scored and all(any(a <= s[0] < b for a, b in evidence) for s in scored)
    token = CancelToken()

    def cancel_at_first_sentence(progress) -> None:
        if progress.message.startswith("Integrated Gradients: sentence"):
            token.cancel()

    with pytest.raises(Cancelled):
        run_job(service.explain(MODEL, note, "integrated_gradients", "pneumonia"), cancel_at_first_sentence, token)


def test_integrated_gradients_for_a_problem_the_note_never_mentions(service):
    """Not the whole note window by window (minutes on a loaded CPU): the four sentences the head,
    reading each alone, scores highest for the problem; only their words get scores."""
    note = TextInput(note_of(1000), "1000 words")
    assert not [m for m in note_problems(note.text).mentions if m.problem == "asthma"]
    explanation = run_job(service.explain(MODEL, note, "integrated_gradients", "asthma"))
    assert explanation.extra["attributed"].startswith("the 4 of ") and "does not mention it" in explanation.extra["attributed"]
    scored_words = int(np.count_nonzero(explanation.values))
    assert 0 < scored_words < 0.2 * len(explanation.values)
    faith = explanation.faithfulness
    assert faith["windows"] == 4
    assert faith["completeness_gap"] < 0.05 * max(1.0, abs(faith["logit"] - faith["baseline_logit"]))


def test_integrated_gradients_takes_more_steps_while_the_completeness_gap_is_large(service, monkeypatch):
    import medassist.explain.text as text_explain

    monkeypatch.setattr(text_explain, "IG_STEPS", 2)
    messages: list[str] = []
    explanation = run_job(service.explain(MODEL, TextInput(NOTE), "integrated_gradients", "hypertension"),
                          on_progress=lambda p: messages.append(p.message))
    faith = explanation.faithfulness
    assert faith["steps"] > 2
    assert "Integrated Gradients: sentence 1 of 1 (2 steps)" in messages
    assert f"Integrated Gradients: sentence 1 of 1 ({int(faith['steps'])} steps)" in messages
    assert faith["completeness_gap"] <= text_explain.IG_GAP_TOLERANCE * max(1.0, abs(faith["logit"] - faith["baseline_logit"]))


def _probabilities(loaded, texts, max_chunks: int | None = None) -> np.ndarray:
    """The head's probabilities as the app computes them: on each note's patient text."""
    model = loaded.module
    rows = []
    with torch.no_grad():
        for text in texts:
            note = chunk_note(model.tokenizer, note_problems(text).patient_text(), model.chunk_tokens,
                              max_chunks or model.max_chunks)
            rows.append(torch.sigmoid(model(note.flat_ids, note.flat_mask))[0].numpy())
    return np.stack(rows)


def test_held_out_mtsamples_subset_above_floor(service, shared_data):
    """The first 40 short test-split notes (by note id, <= 2 windows to keep the test quick), scored by the bundled head."""
    loaded = service.runtime.load(MODEL)
    notes = notes_classifier.load_mtsamples(shared_data, with_labels=False)
    notes = notes[notes["split"] == "test"]
    notes = notes[notes_classifier.note_token_counts(notes["text"].tolist()) <= 508]
    subset = notes_classifier.add_rule_labels(notes.head(40))
    labels = loaded.card.labels
    probs = _probabilities(loaded, subset["text"])
    truth = subset[labels].to_numpy()
    thresholds = np.array([loaded.card.thresholds[label] for label in labels])
    scores = f1_scores(truth, probs >= thresholds)
    aurocs = [auroc(truth[:, j], probs[:, j]) for j in range(len(labels)) if truth[:, j].sum() >= 2]
    assert scores["micro_f1"] >= 0.25, scores
    assert np.mean(aurocs) >= 0.75, aurocs


@pytest.mark.slow
def test_card_metrics_are_reproduced_on_the_whole_test_split(service, shared_data):
    """The notes the card was trained and evaluated on are the first ``notes_used`` in hash order."""
    loaded = service.runtime.load(MODEL)
    notes = notes_classifier.load_mtsamples(shared_data).sort_values("key").reset_index(drop=True)
    notes = notes.head(loaded.card.training_data["notes_used"])
    test = notes[notes["split"] == "test"]
    labels = loaded.card.labels
    probs = _probabilities(loaded, test["text"])
    thresholds = np.array([loaded.card.thresholds[label] for label in labels])
    metrics = notes_classifier.evaluate(probs, test[labels].to_numpy(), thresholds, labels)
    card = loaded.card.metrics["mtsamples_test"]
    assert metrics["micro_f1"] == pytest.approx(card["micro_f1"], abs=2e-3)
    assert metrics["macro_auroc"] == pytest.approx(card["macro_auroc"], abs=2e-3)
