"""The thin PySide6 layer: widgets and Qt models over the core, nothing else."""
