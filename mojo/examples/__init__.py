"""Example models bundled with mojo; each module holds a generator and its metrics."""
