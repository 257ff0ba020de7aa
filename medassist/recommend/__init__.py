"""Treatment recommendations: guideline rules, a safety layer, and a learned ranker that only orders.

``knowledge`` loads the versioned tables in ``resources/knowledge``; ``patient`` gathers what the
safety checks need from the records; ``engine`` builds ranked options, exclusions, warnings and
questions; ``learned`` runs the bundled recommender model through the model runtime.
"""
