"""A .zip import (such as the admin's export) unpacked safely into a temporary folder.

Nothing in the archive is trusted: every member is checked before a byte is written (a plain
relative path with no `..`, no links or other special files, no encryption, at most MAX_MEMBERS
members and MAX_TOTAL_BYTES unpacked), and the bytes are counted again while unpacking, so a
forged size cannot fill the disk. The folder is removed when the import is done.
"""

import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core import signing

from articles.transfer.exporting import DOCUMENT_NAME, MAX_TOTAL_BYTES, SIGNATURE_NAME, SIGNING_SALT
from articles.transfer.importing import ImportFailed

MAX_MEMBERS = 5000
CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Unpacked:
    folder: Path
    document: Path
    trusted_images: frozenset[str]
    signature: str  # "valid", "invalid" (made by another site or altered) or "absent"

    def relabel(self, message: str, archive: Path) -> str:
        """An importer message with the temporary folder replaced by the archive's name."""
        return message.replace(str(self.folder), str(archive))


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    path = PurePosixPath(name)
    if "\x00" in name or "\\" in name:
        return "has a name with a backslash or NUL character"
    if name.startswith("/") or _DRIVE.match(name):
        return "has an absolute path"
    if any(part == ".." for part in path.parts):
        return "points outside the archive (..)"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no file type
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is not a plain file or folder"
    if info.flag_bits & 0x1:
        return "is encrypted"
    return None


def _check(archive: Path, infos: list[zipfile.ZipInfo]) -> list[str]:
    if len(infos) > MAX_MEMBERS:
        return [f"{archive}: holds {len(infos)} files; the limit is {MAX_MEMBERS}"]
    problems, seen = [], set()
    for info in infos:
        problem = _member_problem(info)
        if problem is None and info.filename.rstrip("/") in seen:
            problem = "appears twice"
        seen.add(info.filename.rstrip("/"))
        if problem:
            problems.append(f"{archive}: {info.filename!r} {problem}")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_TOTAL_BYTES:
        problems.append(
            f"{archive}: unpacks to {declared / 1e9:.1f} GB; the limit is {MAX_TOTAL_BYTES / 1e9:.1f} GB"
        )
    if DOCUMENT_NAME not in seen:
        problems.append(f"{archive}: no {DOCUMENT_NAME} at the top of the archive")
    return problems


def _unpack(zf: zipfile.ZipFile, archive: Path, folder: Path) -> None:
    written = 0
    for info in zf.infolist():
        target = folder.joinpath(*PurePosixPath(info.filename).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(info) as src, target.open("xb") as dst:
                while chunk := src.read(CHUNK):
                    written += len(chunk)
                    if written > MAX_TOTAL_BYTES:
                        limit = f"{MAX_TOTAL_BYTES / 1e9:.1f} GB"
                        raise ImportFailed([f"{archive}: unpacks to more than {limit}, the limit"])
                    dst.write(chunk)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise ImportFailed([f"{archive}: {info.filename!r} is damaged ({exc})"]) from None
        except NotImplementedError as exc:
            raise ImportFailed([f"{archive}: {info.filename!r} cannot be unpacked ({exc})"]) from None
        except FileExistsError:
            raise ImportFailed([f"{archive}: {info.filename!r} clashes with another file"]) from None


def _trusted(folder: Path) -> tuple[frozenset[str], str]:
    path = folder / SIGNATURE_NAME
    if not path.is_file():
        return frozenset(), "absent"
    try:
        payload = signing.loads(path.read_text(encoding="ascii").strip(), salt=SIGNING_SALT)
        digests = frozenset(payload["files"].values())
    except (signing.BadSignature, UnicodeDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return frozenset(), "invalid"
    if not all(isinstance(d, str) and len(d) == 64 for d in digests):
        return frozenset(), "invalid"
    return digests, "valid"


@contextmanager
def unpacked(archive: Path | str) -> Iterator[Unpacked]:
    """Check and unpack `archive`; raises ImportFailed (nothing unpacked, nothing imported) on any
    problem. The temporary folder is removed on leaving the block."""
    archive = Path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except FileNotFoundError:
        raise ImportFailed([f"{archive}: file not found"]) from None
    except zipfile.BadZipFile:
        raise ImportFailed([f"{archive}: not a .zip archive we can read"]) from None
    except OSError as exc:
        raise ImportFailed([f"{archive}: cannot be read ({exc.strerror})"]) from None
    with zf, tempfile.TemporaryDirectory(prefix="newsapp-import-") as tmp:
        folder = Path(tmp)
        if problems := _check(archive, zf.infolist()):
            raise ImportFailed(problems)
        try:
            _unpack(zf, archive, folder)
        except OSError as exc:
            raise ImportFailed([f"{archive}: cannot be unpacked ({exc.strerror or exc})"]) from None
        digests, signature = _trusted(folder)
        yield Unpacked(folder, folder / DOCUMENT_NAME, digests, signature)
