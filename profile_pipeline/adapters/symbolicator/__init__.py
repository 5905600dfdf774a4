"""Symbolicator's three endpoints (`/symbolicate`, `/symbolicate-js`, `/symbolicate-jvm`), answered
in-process with `symbolic` (`embedded`, `embedded_jvm`) or by a Symbolicator service (`client`)."""
