"""ctfp.models.bayes: PyMC model builders: designs, likelihoods, two-way, IV, simulated panels."""
