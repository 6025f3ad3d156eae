"""Import outlets and stories from a JSON file in the newsroom import format (see DESIGN.md).

The whole file is checked first; on any error nothing is written and every problem is listed,
naming the item and the field. Image and logo paths are relative to the file.
"""

from django.core.management.base import BaseCommand, CommandError

from articles.importers import ImportFailed, import_file


class Command(BaseCommand):
    help = "Import outlets and stories from a JSON file; validated first, applied in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the JSON document.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and report what would change; write nothing.",
        )

    def handle(self, *args, file, dry_run, verbosity, **options):
        def progress(done, total):
            if verbosity >= 2 and (done % 50 == 0 or done == total):
                self.stdout.write(f"  {done}/{total} stories")

        try:
            result = import_file(file, dry_run=dry_run, progress=progress)
        except ImportFailed as exc:
            count = len(exc.errors)
            listing = "\n".join(f"  - {error}" for error in exc.errors)
            raise CommandError(
                f"{file}: {count} problem{'s' if count != 1 else ''} found; nothing was imported.\n{listing}"
            ) from None
        prefix = "Dry run (nothing written): " if dry_run else ""
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"{prefix}{result}"))
