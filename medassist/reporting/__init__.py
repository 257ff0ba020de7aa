"""The clinical PDF report (reportlab, headless): content from the session, optional
de-identification, layout, atomic write. Qt-free, so the CLI and the GUI make the same report."""
