"""Session files, autosave and crash recovery, and atomic writes (Qt-free)."""
