"""ctfp.reports: tables, ArviZ figures and the self-contained HTML report."""
