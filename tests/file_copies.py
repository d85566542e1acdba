"""Copies of an input file with other content (a store refuses the same events twice, so a test that uses one
real file as two samples gives each sample its own copy)."""

import gzip
from pathlib import Path


def distinct_copy(path, directory, tag: int) -> str:
    """A copy of ``path`` in ``directory`` whose bytes differ (trailing newlines, or another gzip mtime) while
    its events are the same."""
    path = Path(path)
    out = Path(directory) / f"copy{tag}-{path.name}"
    data = path.read_bytes()
    if path.suffix == ".gz":
        out.write_bytes(gzip.compress(gzip.decompress(data) + b"\n" * tag, mtime=tag))
    else:
        out.write_bytes(data + b"\n" * tag)
    return str(out)
