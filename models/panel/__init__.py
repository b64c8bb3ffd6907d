"""ctfp.models.panel: frequentist panel estimators: FWL core, vcov, FE/2SLS, KP diagnostics, group differences."""
