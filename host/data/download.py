"""Download a file from a list of mirrors, verified by SHA-256, written atomically.

Each mirror is a base URL (``https://...``, ``http://...`` or ``file:///...``); the file's URL is
the base joined with its name. A download goes to a temporary file beside the target
(:func:`erbp.fileio.open_atomic`), is verified, and only then renamed over the target (so an
interrupted or bad download never leaves a file under the final name). On any failure (network
error, HTTP error, checksum mismatch) the next mirror is tried; when all fail,
:class:`DownloadError` lists what each mirror did.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ErbpError
from ..fileio import open_atomic

CHUNK = 1 << 16


class DownloadError(ErbpError, RuntimeError):
    """No mirror delivered a verified file; the message says what each mirror did."""


class _Rejected(Exception):
    """A download that arrived but failed verification (the message says why)."""


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def parse_mirrors(text: str) -> list[str]:
    """Mirror base URLs from a comma- or whitespace-separated string (empty entries dropped)."""
    return [m for m in text.replace(",", " ").split() if m]


def join_url(base: str, name: str) -> str:
    """``base`` + ``/`` + ``name``, with exactly one slash between them."""
    return base.rstrip("/") + "/" + name


def fetch(name: str, dest_dir: str | os.PathLike, mirrors: Sequence[str], sha256: str, *,
          digest: Callable[[Path], str] = sha256_file, timeout: float = 60.0,
          log: Callable[[str], None] | None = None) -> Path:
    """Download ``name`` into ``dest_dir`` from the first mirror that delivers a verified copy.

    ``digest(path)`` computes the hex SHA-256 that must equal ``sha256`` (by default that of the
    file's bytes; a caller may hash a decompressed form instead). ``timeout`` is in seconds per
    network operation; ``log(message)``, if given, is told of each attempt. Returns the final
    path. Raises DownloadError if every mirror fails; no partial or unverified file is left.
    """
    if not mirrors:
        raise DownloadError(f"cannot download {name}: the mirror list is empty")
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create {dest_dir}: {e.strerror}") from e
    target = dest_dir / name
    failures: list[str] = []
    for base in mirrors:
        url = join_url(base, name)
        if log is not None:
            log(f"downloading {url}")
        try:
            with open_atomic(target) as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                out.flush()
                got = digest(Path(out.name))
                if got != sha256:  # leaves the block: the download is thrown away
                    raise _Rejected(f"{url}: SHA-256 mismatch (got {got[:16]}..., expected "
                                    f"{sha256[:16]}...)")
            return target
        except _Rejected as e:
            failures.append(str(e))
        except urllib.error.HTTPError as e:
            failures.append(f"{url}: HTTP {e.code} {e.reason}")
        except urllib.error.URLError as e:
            failures.append(f"{url}: {e.reason}")
        except (OSError, ValueError) as e:  # timeouts, resets, bad URLs, corrupt content
            failures.append(f"{url}: {e}")
    raise DownloadError(f"could not download {name} from any mirror: " + "; ".join(failures))
