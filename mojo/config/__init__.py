"""The config layer: what a study asks for, validated before any job exists.

``study`` (the study config and its loader), ``distributions`` (parameter distributions),
``optimize`` (the ``optimize:`` section), ``numbers`` (finite, typed numbers), ``codepath``
(user functions named ``module:function``), ``base`` (the frozen base of every config model and
file schema), ``schema`` (the config's JSON schema, ``python -m mojo.config.schema``). Nothing
here imports the layers above it.
"""
