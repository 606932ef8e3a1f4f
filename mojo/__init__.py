"""mojo: reproducible MuJoCo simulation studies on Snakemake."""

__version__ = "0.1.0"
