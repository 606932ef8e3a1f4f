"""The results layer: tables, plots, provenance, and the ``mojo status``/``mojo show`` commands.

Reads what the trials layer wrote; imports the config and trials layers, never the workflow. The
two commands also read the optimiser's files, so they alone sit above :mod:`mojo.optimize` (see
``tests/test_layers.py``); nothing in a lower layer imports them.
"""
