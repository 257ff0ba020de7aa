"""Explanations of model outputs: saliency maps for images (Grad-CAM, Integrated Gradients via
Captum) with a faithfulness score, so a clinician can judge how far to trust each map."""
