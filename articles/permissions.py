"""Who may do what in the newsroom, beyond Django's model permissions: the Editors' one right."""

PUBLISH_PERMISSION = "articles.publish_article"


def can_publish(user) -> bool:
    """Editors publish, unpublish, change live stories, correct them and share previews."""
    return bool(user and user.has_perm(PUBLISH_PERMISSION))
