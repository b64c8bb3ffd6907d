"""ctfp.models: pure model definitions (DEA, frequentist panel estimators, PyMC builders)."""
