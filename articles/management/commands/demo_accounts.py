"""Create (or reset) the demo newsroom logins and print them: an Editor and a Writer.

For development only: it refuses to run with DJANGO_DEBUG off unless --force is given, so a
production site never gets accounts with printed passwords.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

ACCOUNTS = [("editor", "Editors", "Demo Editor"), ("writer", "Writers", "Demo Writer")]


class Command(BaseCommand):
    help = "Create or reset the demo 'editor' and 'writer' staff accounts and print their logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Use this password for both accounts, for scripted tests (default: a new random one each).",
        )
        parser.add_argument("--force", action="store_true", help="Run even when DJANGO_DEBUG is off.")

    @transaction.atomic
    def handle(self, *args, password, force, verbosity, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "demo_accounts is for development; DJANGO_DEBUG is off (use --force to insist)."
            )
        User = get_user_model()
        lines = []
        for username, group_name, full_name in ACCOUNTS:
            group = Group.objects.get(name=group_name)
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, _, user.last_name = full_name.partition(" ")
            user.is_staff = True
            user.is_active = True
            # One each: a password printed for the Writer must not also open the Editor's account.
            chosen = password or secrets.token_urlsafe(9)
            user.set_password(chosen)
            user.save()
            user.groups.set([group])
            lines.append(f"  {group_name[:-1]:<7} {username} / {chosen}")
        if verbosity:
            self.stdout.write(self.style.SUCCESS("Newsroom logins (admin at /admin/):"))
            self.stdout.write("\n".join(lines))
