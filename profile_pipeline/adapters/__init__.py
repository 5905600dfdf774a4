"""Storage and service clients: object storage, input objects, reference data, the symbol store and its
tools, the per-worker caches, and Symbolicator (in-process or over HTTP)."""
