"""The stages of SPEC Part II §4 as plain functions over profile dicts, free of Spark.

`pipeline.py` runs them in order: `envelope` (§2, §4.1 to §4.3) opens a message; then `symbolication`
(§4.5), `deobfuscation` (§4.6), `js_profile` (§4.7), `normalize` (§4.8), `frame_platform` (§4.9),
`stacktrace_rules` (§4.10), `metrics_dsn` (§4.11) and `vroom` (§4.12); `outcomes` (§4.13, §5) says
what each profile counts as.
"""
