"""coffea processors over columnminer kernels: analysis, histograms at many thetas, cross sections, Fisher info.

The processors are ordinary ``coffea.processor.ProcessorABC`` classes, importable by dask workers on any
cluster; the physics is columnminer's own (the kernels of :func:`~columnminer.samples.analyse_samples`, the
morphing of :mod:`columnminer.weights`, the Fisher kernels of :mod:`columnminer.inference.fisher`), so a run
on one core, on a LocalCluster and on a batch cluster gives the same numbers. The runner script and its notes
live in the top-level ``processors/`` folder of the repository.

Typical use::

    plan = FilesetPlan.build(fileset, analysis, setup)      # once, on the client
    histograms = {"m4l": hist.axis.Regular(40, 110, 140, name="m4l")}
    out = run_fileset(fileset, HistogramProcessor(plan, thetas, histograms),
                      executor=DaskExecutor(client=client), chunksize=100_000)
    summary = analyse_fileset(fileset, analysis, store, executor=DaskExecutor(client=client))
"""

from .accumulators import ChunkKey, ChunkResults
from .analysis import AnalysisOutput, AnalysisProcessor
from .base import ChunkProcessor, CombinedProcessor
from .cluster import batch_cluster, batch_executor
from .fileset import AnalysedChunk, FilesetPlan, chunk_metadata, normalize_fileset
from .fisher import CrossSectionOutput, CrossSectionProcessor, FisherOutput, FisherProcessor
from .histograms import HistogramOutput, HistogramProcessor
from .morphed import MorphedWeights
from .runner import DASK_WORKER_CONFIG, run_fileset, run_work_items, work_items
from .store import StoreRun, StoreSink, analyse_fileset

__all__ = [
    "DASK_WORKER_CONFIG",
    "AnalysedChunk",
    "AnalysisOutput",
    "AnalysisProcessor",
    "ChunkKey",
    "ChunkProcessor",
    "ChunkResults",
    "CombinedProcessor",
    "CrossSectionOutput",
    "CrossSectionProcessor",
    "FilesetPlan",
    "FisherOutput",
    "FisherProcessor",
    "HistogramOutput",
    "HistogramProcessor",
    "MorphedWeights",
    "StoreRun",
    "StoreSink",
    "analyse_fileset",
    "batch_cluster",
    "batch_executor",
    "chunk_metadata",
    "normalize_fileset",
    "run_fileset",
    "run_work_items",
    "work_items",
]
