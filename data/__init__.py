"""ctfp.data: the panel before any estimation.

City facts, the variable dictionary and validation, readers, derived variables, the synthetic
"paper-world" panel and the paper's published tables as data.
"""
