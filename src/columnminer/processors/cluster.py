"""Batch clusters for the processors: dask-jobqueue worker jobs (SLURM, HTCondor, ...) with our worker settings.

A batch cluster is a :class:`dask_jobqueue.JobQueueCluster`: the scheduler runs in the client's process and
every worker is a batch job (``sbatch`` on SLURM, ``condor_submit`` on HTCondor) running
``python -m distributed.cli.dask_worker`` with the client's Python. :func:`batch_cluster` fills in what the
processors need on every site: one thread per worker process, single-threaded BLAS, glibc's fixed mmap
threshold (:data:`~columnminer.processors.runner.DASK_WORKER_CONFIG`), the Python of this environment;
:func:`batch_executor` adds adaptive scaling and a coffea ``DaskExecutor`` around it. dask-jobqueue is an
optional dependency (``pip install dask-jobqueue``), imported only when a cluster is made.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import ProcessorError
from .runner import DASK_WORKER_CONFIG

__all__ = [
    "BATCH_SYSTEMS",
    "batch_cluster",
    "batch_executor",
    "batch_job_options",
    "job_script_prologue",
    "worker_environment",
]

logger = logging.getLogger(__name__)

#: ``system`` name -> the dask-jobqueue cluster class of that batch system (``"slurm"`` -> ``SLURMCluster``).
BATCH_SYSTEMS = {system.lower(): f"{system}Cluster" for system in ("SLURM", "HTCondor", "PBS", "LSF", "SGE")}
#: Thread-count variables of the numerical libraries (one thread per worker process: scale with processes).
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def worker_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables of a worker job: single-threaded BLAS/OpenMP/numba and glibc's mmap threshold.

    ``MALLOC_MMAP_THRESHOLD_`` is the value of :data:`~columnminer.processors.runner.DASK_WORKER_CONFIG`
    (32 MiB, in bytes): dask's nanny sets ``MALLOC_TRIM_THRESHOLD_``, which switches glibc's dynamic mmap
    threshold off and costs ~35 % of the throughput (``processors/README.md``). Single-threaded BLAS makes the
    sums bit-identical to the iterative executor run with ``OPENBLAS_NUM_THREADS=1``. ``extra`` is added last.

    Example:
        >>> env = worker_environment({"MY_SITE": "1"})
        >>> env["MALLOC_MMAP_THRESHOLD_"], env["OPENBLAS_NUM_THREADS"], env["MY_SITE"]
        ('33554432', '1', '1')
    """
    env = {name: "1" for name in _THREAD_VARIABLES}
    for key, value in DASK_WORKER_CONFIG.items():
        env[key.rsplit(".", 1)[-1]] = str(value)
    env.update(extra or {})
    return env


def job_script_prologue(environment: Mapping[str, str], setup: Sequence[str] = ()) -> list[str]:
    """The shell lines a worker job runs before the dask worker: ``setup`` (e.g. ``module load``), then one
    ``export NAME=value`` per variable (values shell-quoted).

    Example:
        >>> job_script_prologue({"OPENBLAS_NUM_THREADS": "1"}, ["module load gcc"])
        ['module load gcc', 'export OPENBLAS_NUM_THREADS=1']
    """
    import shlex

    return [*setup, *(f"export {name}={shlex.quote(str(value))}" for name, value in environment.items())]


def _cluster_class(system: str) -> type:
    if system not in BATCH_SYSTEMS:
        raise ProcessorError(f"unknown batch system {system!r} (known: {', '.join(sorted(BATCH_SYSTEMS))})")
    try:
        module = importlib.import_module("dask_jobqueue")
    except ImportError as err:  # an optional dependency
        raise ProcessorError("batch clusters need dask-jobqueue: pip install dask-jobqueue") from err
    return getattr(module, BATCH_SYSTEMS[system])


def batch_job_options(
    *,
    cores: int = 1,
    memory: str = "2GB",
    walltime: str | None = "01:00:00",
    processes: int | None = None,
    python: str | None = None,
    environment: Mapping[str, str] | None = None,
    setup: Sequence[str] = (),
    log_directory: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """The keyword arguments of a dask-jobqueue cluster whose worker jobs run the processors.

    ``cores`` worker processes of one thread each per job (``processes`` defaults to ``cores``), ``memory``
    per job (shared by its processes; ~0.45 GB per process plus ~4 kB per event of a chunk,
    ``processors/README.md``), ``walltime`` (``HH:MM:SS``; SLURM counts whole minutes; HTCondor gets it as
    ``+MaxRuntime`` unless ``+JobFlavour`` is given; ``None``: the site's default), the Python of this
    environment (``python``, default ``sys.executable``: the workers need columnminer and coffea, and the input
    files on a shared file system) and :func:`worker_environment` plus ``environment`` exported in the job
    script after the ``setup`` lines; ``kwargs`` (``queue``, ``account``, ``job_extra_directives``, HTCondor's
    ``disk`` ...) are passed on unchanged and win.

    Example:
        >>> options = batch_job_options(cores=2, memory="4GB", walltime="00:30:00", python="/venv/bin/python")
        >>> options["processes"], options["python"], options["job_script_prologue"][-1]
        (2, '/venv/bin/python', 'export MALLOC_MMAP_THRESHOLD_=33554432')
    """
    options: dict[str, Any] = {
        "cores": cores,
        "processes": processes or cores,
        "memory": memory,
        "python": python or sys.executable,
        "job_script_prologue": job_script_prologue(worker_environment(environment), setup),
        "scheduler_options": {"dashboard_address": None},
    }
    if walltime is not None:
        options["walltime"] = walltime
    if log_directory is not None:
        options["log_directory"] = os.fspath(log_directory)
    options.update(kwargs)
    return options


def _seconds(walltime: str) -> int:
    """``[[DD-]HH:]MM:SS`` -> seconds (``"01:30:00"`` -> 5400)."""
    days, _, clock = walltime.rpartition("-")
    seconds = 0
    for part in clock.split(":"):
        seconds = 60 * seconds + int(part)
    return seconds + 86400 * int(days or 0)


def batch_cluster(system: str = "slurm", **options: Any) -> Any:
    """A dask-jobqueue cluster of ``system`` (:data:`BATCH_SYSTEMS`: ``"slurm"`` -> ``SLURMCluster``,
    ``"htcondor"`` -> ``HTCondorCluster`` ...) made with :func:`batch_job_options` ``(**options)``. Its
    scheduler runs in this process; no job is submitted until the cluster is scaled (``cluster.scale(jobs=n)``,
    ``cluster.adapt(...)``, or :func:`batch_executor`).

    Example (the job script is written without submitting anything):
        >>> cluster = batch_cluster("slurm", cores=1, memory="2GB", walltime="00:10:00")  # doctest: +SKIP
        >>> "export MALLOC_MMAP_THRESHOLD_=33554432" in cluster.job_script()  # doctest: +SKIP
        True
        >>> batch_cluster("torque")
        Traceback (most recent call last):
        ...
        columnminer.errors.ProcessorError: unknown batch system 'torque' (known: htcondor, lsf, pbs, sge, slurm)
    """
    cls = _cluster_class(system)
    kwargs = batch_job_options(**options)
    if system == "htcondor" and "walltime" in kwargs:  # no such option: the job ad's +MaxRuntime (s)
        directives = dict(kwargs.get("job_extra_directives") or {})
        walltime = kwargs.pop("walltime")
        if not {"+MaxRuntime", "+JobFlavour"} & set(directives):
            directives["+MaxRuntime"] = str(_seconds(walltime))
        kwargs["job_extra_directives"] = directives
    cluster = cls(**kwargs)
    logger.info("%s: jobs of %s cores, %s", cls.__name__, kwargs["cores"], kwargs["memory"])
    return cluster


@contextlib.contextmanager
def batch_executor(
    system: str = "slurm",
    *,
    minimum_jobs: int = 0,
    maximum_jobs: int = 4,
    wait_for_workers: int = 0,
    timeout: float = 300.0,
    status: bool = False,
    **cluster_options: Any,
) -> Iterator[Any]:
    """A coffea ``DaskExecutor`` on an adaptively scaled :func:`batch_cluster` (between ``minimum_jobs`` and
    ``maximum_jobs`` worker jobs; dask submits jobs while tasks wait and cancels idle ones). Waits for
    ``wait_for_workers`` workers (at most ``timeout`` s) before yielding; the cluster (``executor.client
    .cluster``) and its jobs end with the ``with`` block. Jobs that die (``scancel``, walltime, pre-emption)
    are replaced by the adaptive scaling and their running chunks rerun elsewhere.

    Example (needs a batch system; ``processors/slurm/local-slurm.sh start`` makes a local one):
        >>> with batch_executor("slurm", maximum_jobs=2, walltime="00:10:00") as executor:  # doctest: +SKIP
        ...     summary = analyse_fileset("fileset.json", analysis, store, executor)
        >>> callable(batch_executor)
        True
    """
    import distributed
    from coffea.processor import DaskExecutor

    cluster = batch_cluster(system, **cluster_options)
    with cluster, distributed.Client(cluster, timeout=timeout, set_as_default=False) as client:
        cluster.adapt(minimum_jobs=minimum_jobs, maximum_jobs=maximum_jobs)
        if wait_for_workers:
            client.wait_for_workers(wait_for_workers, timeout=timeout)
        yield DaskExecutor(client=client, status=status)
