"""Outlet ratings in and out, with their provenance (articles.transfer.ratings):

    manage.py ratings export --format csv|json [-o FILE]
    manage.py ratings import FILE [--format csv|json] [--dry-run]

An import checks every row first; on any problem it lists them all with their rows, saves nothing
and exits with status 1.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.models import SourceRating
from articles.transfer import ratings
from articles.transfer.checks import ImportFailed


class Command(BaseCommand):
    help = "Export outlet ratings as CSV or JSON, or import them from such a file (checked whole first)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export,import}")
        export = actions.add_parser("export", help="Write every rating, by outlet then date.")
        export.add_argument("--format", choices=ratings.FORMATS, default="csv", dest="fmt")
        export.add_argument("-o", "--output", help="File to write (default: standard output).")
        imported = actions.add_parser("import", help="Read ratings from a CSV or JSON file.")
        imported.add_argument("file", help="The file; its format from its name (.json, else CSV).")
        imported.add_argument("--format", choices=ratings.FORMATS, default=None, dest="fmt")
        imported.add_argument("--dry-run", action="store_true", help="Check and report; save nothing.")

    def handle(self, *args, action, **options):
        if action == "export":
            return self._export(options["fmt"], options.get("output"))
        return self._import(Path(options["file"]), options["fmt"], options["dry_run"])

    def _export(self, fmt, output):
        text = ratings.export_ratings(fmt=fmt)
        if output in (None, "-"):
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{output}: cannot be written ({exc.strerror})") from None
        count = SourceRating.objects.count()
        self.stderr.write(f"Wrote {count} ratings to {output}.")

    def _import(self, path, fmt, dry_run):
        try:
            result = ratings.import_ratings_file(path, fmt=fmt, dry_run=dry_run)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(self.style.ERROR(error))
            raise CommandError(f"Nothing was imported: {len(exc.errors)} problems (listed above).") from None
        prefix = "Dry run, nothing saved: would have " if dry_run else "Imported "
        self.stdout.write(prefix + str(result))
