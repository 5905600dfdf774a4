"""Sentry's profile processing as a Spark batch job over Delta Lake tables (see ARCHITECTURE.md).

Layers, imports running downwards only: `run` (the command line and a run over days) → `spark` (the
Spark and Delta wiring) → `stages` (SPEC Part II's per-profile stages) → `adapters` (object storage,
input objects, the symbol store, Symbolicator) → the root modules every layer shares (`config`, `work`,
`formats`, `crash_points`).
"""
