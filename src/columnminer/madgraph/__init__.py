"""Steering MadGraph 5 (installed separately) as MadMiner does: cards per benchmark, runs, batch scripts.

See ``docs/madgraph.md`` for the whole chain: setup -> cards -> :func:`run` / :func:`run_multiple` (or the
scripts they prepare) -> ``Events/<run>/unweighted_events.lhe.gz`` -> :func:`columnminer.samples.analyse_samples`.
"""

from .execute import build_command, call_madgraph, madgraph_environment, require_madgraph
from .param_card import card_number, param_card, set_param_card_entries, write_param_card
from .process import (
    NOMINAL_WEIGHT,
    benchmark_weight_mapping,
    card_destination,
    event_file,
    event_file_name,
    find_event_files,
    is_process_directory,
    launch_commands,
    launch_switches,
    run_directories,
)
from .record import MadGraphRun, default_steering_directory, load_runs
from .reweight import existing_weight_ids, reweight_existing_sample
from .reweight_card import check_weight_name, reweight_card, write_reweight_card
from .run import run, run_multiple
from .run_card import (
    edit_run_card,
    run_card_settings,
    set_run_card_entries,
    set_shower_card_entries,
    systematics_arguments,
)
from .scripts import master_script, process_script, reweight_script, run_script

__all__ = [
    "NOMINAL_WEIGHT",
    "MadGraphRun",
    "benchmark_weight_mapping",
    "build_command",
    "call_madgraph",
    "card_destination",
    "card_number",
    "check_weight_name",
    "default_steering_directory",
    "edit_run_card",
    "event_file",
    "event_file_name",
    "existing_weight_ids",
    "find_event_files",
    "is_process_directory",
    "launch_commands",
    "launch_switches",
    "load_runs",
    "madgraph_environment",
    "master_script",
    "param_card",
    "process_script",
    "require_madgraph",
    "reweight_card",
    "reweight_existing_sample",
    "reweight_script",
    "run",
    "run_card_settings",
    "run_directories",
    "run_multiple",
    "run_script",
    "set_param_card_entries",
    "set_run_card_entries",
    "set_shower_card_entries",
    "systematics_arguments",
    "write_param_card",
    "write_reweight_card",
]
