"""Built-in exact reference processes: the Gaussian toy and H -> ZZ* -> 2e2mu."""

__all__: list[str] = [
    "GaussianToy",
    "GoldenChannel",
    "GoldenSample",
    "golden_setup",
    "simulate_golden",
    "simulate_toy",
]


def __getattr__(name: str):
    """Lazy exports, so that ``import columnminer.simulators`` stays cheap."""
    if name in ("GaussianToy", "simulate_toy"):
        from . import toy

        return getattr(toy, name)
    if name in ("GoldenChannel", "GoldenSample", "golden_setup", "simulate_golden"):
        from . import golden

        return getattr(golden, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
