"""Import outlets and stories from a JSON file in the newsroom import format (see DESIGN.md), or from
a .zip holding one (such as the admin's "Export the selected stories").

The whole file is checked first; on any error nothing is written and every problem is listed,
naming the item and the field. Image and logo paths are relative to the file. On a terminal the
checking and the writing each show a progress bar on stderr (--progress / --no-progress to choose).
"""

import shutil
import zipfile
from argparse import BooleanOptionalAction
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from articles.transfer.archives import unpacked
from articles.transfer.importing import ImportFailed, import_file

STAGES = {"check": ("Checking", "item"), "apply": ("Importing", "story")}


class _BarStream:
    """tqdm's output through the command's stderr, which appends newlines and colours by default."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text):
        self.wrapper.write(text, style_func=str, ending="")

    def flush(self):
        self.wrapper.flush()


class _Bars:
    """One bar per stage, opened when the stage reports first and closed when the next begins."""

    def __init__(self, stream):
        self.stream = stream
        self.stage = self.bar = None

    def __call__(self, stage, done, total):
        if stage != self.stage:
            self.close()
            desc, unit = STAGES[stage]
            self.stage = stage
            width = min(shutil.get_terminal_size().columns, 100)
            self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, ncols=width, mininterval=0.2)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Import outlets and stories from a JSON file (or a .zip exported from the admin); "
        "validated first, applied in one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the JSON document, or to a .zip holding articles.json.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would change; write nothing.",
        )
        parser.add_argument(
            "--progress",
            action=BooleanOptionalAction,
            default=None,
            help="Show progress bars on stderr (default: only when stderr is a terminal and verbosity >= 1).",
        )

    def handle(self, *args, file, dry_run, verbosity, progress, **options):
        show_bars = progress if progress is not None else verbosity >= 1 and self.stderr.isatty()
        bars = _Bars(_BarStream(self.stderr)) if show_bars else None

        def report(stage, done, total):
            if bars:
                bars(stage, done, total)
            elif stage == "apply" and verbosity >= 2 and (done % 50 == 0 or done == total):
                self.stdout.write(f"  {done}/{total} stories")

        try:
            result = self._import(Path(file), dry_run=dry_run, verbosity=verbosity, report=report)
        except ImportFailed as exc:
            count = len(exc.errors)
            listing = "\n".join(f"  - {error}" for error in exc.errors)
            raise CommandError(
                f"{file}: {count} problem{'s' if count != 1 else ''} found; nothing was imported.\n{listing}"
            ) from None
        finally:
            if bars:
                bars.close()
        prefix = "Dry run (nothing written): " if dry_run else ""
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"{prefix}{result}"))

    def _import(self, path: Path, *, dry_run, verbosity, report):
        if not (path.suffix.lower() == ".zip" or (path.is_file() and zipfile.is_zipfile(path))):
            return import_file(path, dry_run=dry_run, progress=report)
        with unpacked(path) as archive:
            if archive.signature == "invalid" and verbosity >= 1:
                self.stdout.write(
                    self.style.WARNING(
                        "The archive's signature does not match this site: its pictures are "
                        "checked and re-encoded like any upload."
                    )
                )
            try:
                return import_file(
                    archive.document,
                    dry_run=dry_run,
                    progress=report,
                    trusted_images=archive.trusted_images,
                )
            except ImportFailed as exc:
                raise ImportFailed([archive.relabel(error, path) for error in exc.errors]) from None
