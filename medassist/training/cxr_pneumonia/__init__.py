"""Train the bundled chest radiograph model: ``python -m medassist.training.cxr_pneumonia``.

Seeded, resumable and reproducible on a CPU (2 threads). Reads ``../shared/data/cxr``: the
Kermany pediatric set (official train/test; ``split == val`` is 10% of train patients) and two
NIH adult sets (the 300 px pneumonia subset and the films from the original 1024 px PNGs;
patient-hash train/val, their test patients are withheld). NIH pneumonia has no
bacterial/viral label, so those images train only P(pneumonia) = P(bacterial) + P(viral).

The NIH sets carry a view shortcut in opposite directions (AP films are mostly pneumonias in
one and mostly normals in the other), so training draws images such that within every
(source, view) cell normals and pneumonias have equal mass: neither view nor source tells
the label. Augmentations (crops and borders, burned-in markers and text, lines and tubes,
gamma and contrast, blur and resampling, noise, JPEG) make acquisition irrelevant.

Checkpoints go to ``--work`` after every epoch; a rerun resumes there (and only evaluates
when training is complete). Writes ``models/cxr-pneumonia/``: weights, input gate, model card
with the metrics printed here, reliability plot and reference outputs that tests compare against.

The package holds the steps in order: :mod:`.data` (the labelled films, their pixels as the app
sees them, the balancing), :mod:`.augmentation`, :mod:`.training` (the network, the loss, the
resumable loop), :mod:`.evaluation` (calibration, threshold, held-out metrics, saliency checks,
the input gate) and :mod:`.bundle` (the card, written through :mod:`medassist.training.bundle`).
This module holds what they share: the model's name, version, input size, network and sources.
"""

from __future__ import annotations

SIZE = (128, 128)
WIDTHS = (16, 32, 48, 96, 128)
STRIDES = (2, 2, 1, 1)
MEAN, STD = 0.5, 0.25
SEED = 20261203
OUTPUTS = {"pneumonia": ["bacterial", "viral"], "bacterial pneumonia": ["bacterial"], "viral pneumonia": ["viral"]}
SUBTYPES = {"pneumonia": ["bacterial pneumonia", "viral pneumonia"]}
KERMANY = "kermany_pediatric"
NIH = ("nih_cxr14_pneumonia_subset300", "nih_cxr14_1024")
SOURCES = (KERMANY, *NIH)
SHORT = {KERMANY: "kermany", NIH[0]: "nih_pneumonia300", NIH[1]: "nih_cxr14_1024"}
# share of each source in what training draws: adults (both NIH sets) get more than half
SOURCE_SHARE = {KERMANY: 0.40, NIH[0]: 0.35, NIH[1]: 0.25}
ADULT_YEARS = 18
MODEL_NAME = "cxr-pneumonia"
VERSION = "2.2.0"
