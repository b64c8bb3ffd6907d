"""ctfp.inference: running things (sampling, gates, contrasts, validation, pipeline, command line)."""
