"""One module per main-window tab; each tab is built from an :class:`~medassist.ui.context.AppContext`."""
