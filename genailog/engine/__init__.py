"""Distributed runs: fan the per-file (per-partition) work of ``summarize``,
``diff-prompts`` and ``drift`` out to an engine's workers, merge the partial results, and
finish them, with the same answer as the single-machine path.

Layer: above analysis and the api facade, below the CLI. The engine itself (Dask's
``distributed``) is an optional extra, ``pip install 'genailog[dask]'``: nothing here
imports it until a run asks for it (:mod:`genailog.engine.runner`), so the single-machine
path gains an import guard and nothing else. docs/scale.md says why Dask.

Must not: compute statistics (the partials of :mod:`genailog.analysis` do), or print.
"""

from genailog.engine.plan import Unit, plan
from genailog.engine.run import run_diff, run_drift, run_summary
from genailog.engine.runner import ENGINES, EngineSpec, parse_engine

__all__ = ["ENGINES", "EngineSpec", "Unit", "parse_engine", "plan", "run_diff", "run_drift",
           "run_summary"]
