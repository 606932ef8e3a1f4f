"""The trials layer: planning, sampling, running and recording trials on disk.

``layout`` (every path of a study), ``files`` (the file schemas and atomic writes), ``sampling``,
``trial`` (plan and run one trial), ``batch`` (many trials in a forked worker), ``integrity``
(stamps and damaged files), ``targets`` (what the workflow's rules ask for), ``record`` (the study
record), ``progress`` and ``logs``. Imports only the config layer.
"""
