"""Treatment recommendations: guideline rules, a safety layer, and a learned ranker that only orders.

``knowledge`` loads the versioned tables in ``resources/knowledge``; ``patient`` adds the patient's
drugs and allergies (as ingredients) to the clinical picture; ``criteria`` evaluates the tables' criteria
on it; ``engine`` builds the plan (pillars, current-therapy actions, ranked options, exclusions, warnings,
questions); ``learned`` runs the bundled recommender model through the model runtime.
"""
