"""MedAssist: offline clinical decision support.

Everything below ``medassist`` except ``medassist.ui`` is Qt-free core that a script,
the CLI and the tests use directly; ``medassist.ui`` is a thin PySide6 layer on top.
"""

__version__ = "0.1.0"

APP_NAME = "MedAssist"

DECISION_SUPPORT_NOTICE = (
    "Decision support only - not a diagnosis. Outputs must be reviewed by a qualified clinician; "
    "see each model card for intended use and limitations."
)
DECISION_SUPPORT_SHORT = "Decision support only - every output needs clinician review (F1: intended use)"
DEMO_NOTICE = "DEMO - synthetic patients, not for clinical use"
