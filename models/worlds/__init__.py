"""Worlds: data-generating processes with known truths, for recovery tests and design analyses.

A world is a model (it states how the data arise), so it lives in the models layer, pure and seeded:

- `paper` (`paper_dgp`, `paper_frontier`): the SYNTHETIC paper world of Shen & Chao (2025): every raw series of
  the 78-city panel, with CTFP placed by the package's own DEA engine; the true AI effect is settable.
- `bootstrap`: a parametric bootstrap of a user's study from its fitted two-way FE column.

Worlds are found by name through the `ctfp.worlds` entry-point group (pyproject.toml), so the data layer's
preset reaches the paper world's generator without importing the models layer (see
`ctfp.data.presets.world_generator`).
"""
