"""The newsdesk in the admin: one module per concern, each registering its models. Writers and
Editors work the story desk (migration 0002 gives them the rights); Editors look after the feeds."""

from newsdesk.admin import candidates, feeds, pieces, summaries  # noqa: F401
