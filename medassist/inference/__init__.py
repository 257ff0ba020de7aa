"""Model runtime: model cards, the registry of model folders, loading, devices and prediction."""
