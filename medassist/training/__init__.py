"""The scripts that make the bundled models (``python -m medassist.training.<script>``), the one
metrics module they report with and the one bundle writer they write through (card validated as the
app admits a model, framework versions recorded, every file written atomically)."""
