"""ctfp: city carbon total factor productivity, measured and explained (and any other panel study).

The notebook API (cheap to import: everything loads on first use):

    import ctfp
    study = ctfp.Study.load("my_study.toml")
    run = study.run("runs/me", bayes=False)        # or ctfp.open_run("runs/me")
    run.tables["replicas"]                         # DataFrames of tables/*.csv
    run.posterior("headline")                      # xarray.DataTree
    run.report_path

The subpackages are `ctfp.core`, `ctfp.data`, `ctfp.models`, `ctfp.inference`, `ctfp.reports`, `ctfp.studies`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctfp.notebook import Run, Study, open_run

__all__ = ["Run", "Study", "open_run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ctfp import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'ctfp' has no attribute {name!r}")
