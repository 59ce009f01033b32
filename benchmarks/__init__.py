"""codey's performance benchmarks: ``python -m benchmarks`` (see ``run.py``) and ``soak.py``."""
