"""What a model does (its card's ``task``) and how an output is explained, named once.

Both are ``StrEnum``: a card's task string, a saved session's method name and a JSON line
compare equal to the members, so reading old files needs no conversion. Aliases that users
type on the command line (``ig``, ``grad-cam``) are resolved here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum

from medassist.errors import InputError


class Task(StrEnum):
    """Every task a model card may name: a card naming another is refused."""

    IMAGE = "image-classification"
    TEXT = "text-classification"
    RECORD = "tabular-classification"
    RECOMMENDATION = "recommendation"  # the learned tie-break ranker (medassist.recommend.learned)


class Method(StrEnum):
    GRADCAM = "gradcam"
    INTEGRATED_GRADIENTS = "integrated_gradients"
    ATTENTION_ROLLOUT = "attention_rollout"
    EVIDENCE = "evidence"

    @property
    def display_name(self) -> str:
        return _DISPLAY[self]

    @classmethod
    def parse(cls, name: str) -> Method:
        """A method from its name or a common alias; an unknown name is an ``InputError`` listing the known ones."""
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise InputError(f"unknown explanation method '{name}' (known: {known}; aliases: ig, grad-cam)") from None


_DISPLAY = {
    Method.GRADCAM: "Grad-CAM",
    Method.INTEGRATED_GRADIENTS: "Integrated Gradients",
    Method.ATTENTION_ROLLOUT: "Attention rollout",
    Method.EVIDENCE: "Evidence",
}
_ALIASES = {
    "grad-cam": "gradcam", "grad_cam": "gradcam",
    "ig": "integrated_gradients", "integrated-gradients": "integrated_gradients",
    "attention": "attention_rollout", "rollout": "attention_rollout", "attention-rollout": "attention_rollout",
}


def unsupported_method(model: str, method: Method, supported: tuple[Method, ...]) -> InputError:
    """The one message for asking a model for an explanation it does not give."""
    return InputError(f"{model} explains with {', '.join(m.value for m in supported)}, not '{method.value}'")


def method_name(method: str) -> str:
    """A stored method name in the user's words (an unknown one as it is)."""
    try:
        return Method(method).display_name
    except ValueError:
        return method
