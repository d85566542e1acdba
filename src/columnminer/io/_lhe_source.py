"""Byte access to LHE files: plain or gzip, block by block, with optional background decompression."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import queue
import re
import threading
import zlib

from ..errors import LHEFormatError
from ._lhe_header import LHEHeader, parse_header_text

__all__ = [
    "DEFAULT_BLOCK",
    "EVENT_TAG",
    "PREFETCH_MIN_BYTES",
    "WHOLE_MAX_BYTES",
    "ByteSource",
    "InflateFallback",
    "available_cpus",
    "fast_inflate_available",
    "read_header",
]

EVENT_TAG = re.compile(rb"<event[\s>]")
DEFAULT_BLOCK = 2 << 20
PREFETCH_MIN_BYTES = 1 << 20  # smaller files are read without a decompression thread
WHOLE_MAX_BYTES = 256 << 20  # whole-file reads of larger (decompressed) files stream instead


def available_cpus() -> int:
    """CPUs this process may run on (the default number of threads of the LHE reader and writer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _load_libdeflate():
    """The system's libdeflate (about 3x faster than zlib at inflating), or None when absent."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("deflate") or "libdeflate.so.0")
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
        size_p = ctypes.POINTER(ctypes.c_size_t)
        lib.libdeflate_gzip_decompress_ex.argtypes = [
            *(ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t),
            *(size_p, size_p),
        ]
        return lib
    except (OSError, AttributeError):
        return None


_LIBDEFLATE = _load_libdeflate()


def _load_isal():
    """python-isal's ``isal_zlib`` (Intel ISA-L inflate, 2-4x zlib's speed, GIL released), or None."""
    try:
        from isal import isal_zlib
    except ImportError:
        return None
    return isal_zlib


_ISAL = _load_isal()


def fast_inflate_available() -> bool:
    """True when ``ByteSource(..., fast_inflate=True)`` inflates with ISA-L (python-isal is importable)."""
    return _ISAL is not None


class InflateFallback(Exception):
    """ISA-L refused a gzip stream: the caller re-reads the file with zlib, whose errors are the reference."""


def _read_whole(fh, gzip: bool) -> bytes | bytearray | None:
    """All decompressed bytes of an open file in one go, or None where block-wise reading must do.

    Plain files up to WHOLE_MAX_BYTES are read at once. Single-member gzip files are inflated by
    libdeflate into a buffer sized from the gzip trailer; anything unusual (no libdeflate, several
    members, a size that does not fit, a corrupt or truncated stream) returns None so that the
    zlib stream reader handles it, with its error messages.
    """
    size = os.fstat(fh.fileno()).st_size
    if not gzip:
        return fh.read() if size <= WHOLE_MAX_BYTES else None
    if _LIBDEFLATE is None or size < 18:
        return None
    raw = fh.read()
    fh.seek(0)
    isize = int.from_bytes(raw[-4:], "little")
    if isize == 0 or isize > WHOLE_MAX_BYTES or isize > 1100 * len(raw):
        return None
    out = bytearray(isize)
    used_in, used_out = ctypes.c_size_t(), ctypes.c_size_t()
    dec = _LIBDEFLATE.libdeflate_alloc_decompressor()
    if not dec:
        return None
    try:
        target = (ctypes.c_char * isize).from_buffer(out)
        status = _LIBDEFLATE.libdeflate_gzip_decompress_ex(
            dec, raw, len(raw), ctypes.addressof(target), isize, ctypes.byref(used_in), ctypes.byref(used_out)
        )
        del target
    finally:
        _LIBDEFLATE.libdeflate_free_decompressor(dec)
    if status != 0 or used_in.value != len(raw) or used_out.value != isize:
        return None
    return out


class ByteSource:
    """Decompressed bytes of a plain or gzip file, about ``block`` bytes at a time.

    With ``prefetch=True`` a background thread reads and decompresses the next blocks (zlib releases
    the GIL) while the caller parses the current one; at most two blocks wait in the queue.
    ``fast_inflate=True`` inflates with ISA-L where python-isal is installed (the same bytes, 2-4x faster);
    a stream it refuses raises :class:`InflateFallback` instead of an error, so that the caller can read
    the file again with zlib and report zlib's error.

    ``mapped=True`` maps a plain file into memory instead (one :meth:`read` hands out the whole
    ``mmap``, private and writable as numpy and the kernel want it, its pages those of the page cache: no
    copy of the text); the caller may drop the pages it is done with (``madvise``).

    At most ``queue_size`` decompressed blocks wait (0: no limit, for texts that are kept whole anyway, so
    that the thread inflates on while the caller is busy).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        block: int = DEFAULT_BLOCK,
        prefetch: bool = False,
        whole: bool = False,
        fast_inflate: bool = False,
        queue_size: int = 2,
        mapped: bool = False,
    ) -> None:
        self.path = str(path)
        self.block = int(block)
        self._fh = open(self.path, "rb")
        self._gzip = self._fh.read(2) == b"\x1f\x8b"
        self._fh.seek(0)
        self._inflate = _ISAL if fast_inflate and _ISAL is not None else zlib
        self._dec = self._inflate.decompressobj(31) if self._gzip else None
        self.truncated_gzip = False
        self.eof = False
        self._pending = b""
        self._left: bytes | bytearray = b""  # decompressed bytes not yet handed out by readinto
        self._left_pos = 0
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self._whole = _read_whole(self._fh, self._gzip) if whole else None
        if mapped and not self._gzip and os.fstat(self._fh.fileno()).st_size:
            self._whole = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_COPY)
        if self._whole is not None:
            self._fh.seek(0, os.SEEK_END)  # everything is in memory: later reads see the end
            return
        if prefetch:
            self._queue = queue.Queue(maxsize=queue_size)
            self._thread = threading.Thread(target=self._fill, daemon=True)
            self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._read()
                while not self._stop.is_set():
                    try:
                        self._queue.put((data, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if not data:
                    return
        except BaseException as exc:  # handed to the consumer
            self._queue.put((b"", exc))

    def read(self) -> bytes:
        """The next block of decompressed bytes; ``b""`` at the end."""
        if self._whole is not None:
            data, self._whole = self._whole, b""
            self.eof = True
            return data
        if self._queue is None:
            return self._read()
        data, exc = self._queue.get()
        if exc is not None:
            raise exc
        if not data:
            self._queue.put((b"", None))  # stay at the end for later calls
        return data

    @property
    def in_memory(self) -> bool:
        """True when the file was decompressed whole and :meth:`read` has handed it out."""
        return self._whole is not None and self.eof

    def readinto(self, out) -> int:
        """Fill the writable buffer ``out`` (a memoryview or uint8 array) with the next decompressed bytes,
        as many as it holds unless the file ends first; the number written (0 at the end).

        Plain files without a prefetch thread are read straight into ``out`` (no intermediate copy); gzip
        blocks are copied in from the decompressed block, keeping what does not fit for the next call.
        """
        out = memoryview(out).cast("B")
        if self._queue is None and not self._gzip and self._whole is None:
            if self.eof:
                return 0
            total = 0
            while total < len(out):  # a regular file fills the buffer but at its end
                k = self._fh.readinto(out[total:])
                if not k:
                    self.eof = True
                    break
                total += k
            return total
        total = 0
        while total < len(out):
            if self._left_pos >= len(self._left):
                self._left, self._left_pos = self.read(), 0
                if not self._left:
                    break
            take = min(len(out) - total, len(self._left) - self._left_pos)
            out[total : total + take] = memoryview(self._left)[self._left_pos : self._left_pos + take]
            total += take
            self._left_pos += take
        return total

    def _read(self) -> bytes:
        if not self._gzip:
            raw = b"" if self.eof else self._fh.read(self.block)
            self.eof = not raw
            return raw
        while not self.eof:
            if self._pending:  # compressed bytes left over from the previous call
                raw, self._pending = self._pending, b""
            else:
                # the first read small: the header and the first events come out early (the parse waits)
                raw = self._fh.read(max(self.block // 4, 1 << 16) if self._fh.tell() else 1 << 16)
            if not raw:
                self.eof = True
                out = self._dec.flush()
                if not self._dec.eof:
                    if self._inflate is not zlib:
                        raise InflateFallback(f"{self.path}: gzip stream ends early")
                    self.truncated_gzip = True
                return out
            try:
                out = self._dec.decompress(raw, self.block)  # at most one block of output
            except Exception as exc:
                if self._inflate is not zlib:
                    raise InflateFallback(f"{self.path}: {exc}") from exc
                if not isinstance(exc, zlib.error):
                    raise
                raise LHEFormatError(f"{self.path}: corrupt gzip stream: {exc}", path=self.path) from exc
            self._pending = self._dec.unconsumed_tail
            if self._dec.eof and self._dec.unused_data:  # another gzip member follows
                self._pending = self._dec.unused_data
                self._dec = self._inflate.decompressobj(31)
            if out:
                return out
        return b""

    def close(self) -> None:
        """Stop the prefetch thread (if any) and close the file."""
        self._stop.set()
        self._whole = None
        if self._queue is not None:
            self._thread.join()
        self._fh.close()


def read_header(source: ByteSource) -> tuple[LHEHeader, bytes, int]:
    """Read up to the first ``<event`` tag: (parsed header, bytes read so far, offset of that tag).

    The returned bytes start at the beginning of the file (nothing is copied to cut the header off).
    """
    buf = b""
    while True:
        m = EVENT_TAG.search(buf)
        if m is not None:
            break
        new = source.read()
        if not new:
            break
        buf = new if not buf else buf + new
    path = source.path
    if not buf or (m is None and buf[:].isspace()):  # (buf[:]: bytes of an mmap)
        raise LHEFormatError(
            f"{path}: event 0 (line 1): empty file; 0 complete events",
            path=path,
            event=0,
            line=1,
            n_complete_events=0,
        )
    cut = m.start() if m is not None else len(buf)
    if b"\x00" in buf[: min(cut, 4096)]:
        raise LHEFormatError(f"{path}: not a Les Houches Event file (binary content)", path=path, line=1)
    header = parse_header_text(bytes(buf[:cut]).decode("utf-8", errors="replace"), path)
    return header, buf, cut
