"""Reusable widgets shared by the tabs (saliency maps, token and feature attributions)."""
