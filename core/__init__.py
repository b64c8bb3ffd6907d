"""ctfp.core: shared plumbing every layer uses (errors, atomic I/O, expressions, the study model)."""
