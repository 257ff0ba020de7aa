"""The ``medassist`` command line: the same core the GUI uses, headless."""
