"""Built-in exact reference processes: the Gaussian toy and H -> ZZ* -> 2e2mu."""

__all__: list[str] = []
