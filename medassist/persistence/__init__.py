"""Session files, autosave and crash recovery (Qt-free); their writes go through :mod:`medassist.atomic`."""
