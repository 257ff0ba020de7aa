"""Value types every layer shares, below everything that computes them: predictions and their
links to images, model inputs, the clinician's decisions, the task and explanation-method names,
and the one wording of a result. Nothing here imports a layer above (annotations only)."""
