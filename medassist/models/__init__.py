"""Network definitions for the bundled models (registered in ``medassist.models.architectures``)."""
