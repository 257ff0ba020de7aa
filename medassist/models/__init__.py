"""Network definitions for the bundled models (registered in ``medassist.inference.architectures``)."""
