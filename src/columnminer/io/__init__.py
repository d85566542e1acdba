"""Readers and writers: LHE, Delphes ROOT, and the zarr event store."""

__all__: list[str] = []
