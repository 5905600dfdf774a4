"""Standard files of a call tree or a comparison: speedscope JSON, pprof, collapsed stacks."""
