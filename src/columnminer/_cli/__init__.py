"""The subcommands of the ``columnminer`` command line, one module per command group.

Every command module has ``register(commands)``, which adds its subparser(s) to the ``columnminer`` parser
and sets a ``run_<command>(args)`` function returning the exit code. :mod:`columnminer.cli` puts them
together and turns columnminer errors into exit code 1 with a one-line message.
"""

__all__: list[str] = []
