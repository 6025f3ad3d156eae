"""`manage.py demo_accounts` (run by `make run`): an Editor and a Writer, each with a password of its own."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def printed_logins(capsys) -> dict[str, str]:
    """username -> password, as the command prints them ("  Editor  editor / s3cret")."""
    return dict(re.findall(r"^  \w+ +(\w+) / (\S+)$", capsys.readouterr().out, re.M))


def test_the_editor_and_the_writer_get_passwords_of_their_own(settings, capsys):
    settings.DEBUG = True
    call_command("demo_accounts")
    logins = printed_logins(capsys)
    assert set(logins) == {"editor", "writer"}
    assert logins["editor"] != logins["writer"]
    users = {user.username: user for user in get_user_model().objects.all()}
    assert users["editor"].check_password(logins["editor"])
    assert users["writer"].check_password(logins["writer"])
    assert not users["editor"].check_password(logins["writer"])  # the Writer's cannot open the Editor's
    assert [g.name for g in users["editor"].groups.all()] == ["Editors"]
    assert [g.name for g in users["writer"].groups.all()] == ["Writers"]

    call_command("demo_accounts")  # every run: new passwords
    again = printed_logins(capsys)
    assert again["editor"] not in (logins["editor"], again["writer"])


def test_a_given_password_is_for_both_accounts(settings, capsys):
    settings.DEBUG = True
    call_command("demo_accounts", "--password", "harbour-lights-7")
    assert printed_logins(capsys) == {"editor": "harbour-lights-7", "writer": "harbour-lights-7"}


def test_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="for development"):
        call_command("demo_accounts")
    assert not get_user_model().objects.exists()
