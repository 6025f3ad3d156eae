"""The five sections of the site. Home is not a section: it is the front page over all of them."""

from django.db import migrations

SECTIONS = [
    ("World", "world", 1, "What is happening beyond our borders, and how each side reports it."),
    (
        "Politics",
        "politics",
        2,
        "Parliaments, elections and policy, with the coverage from left, center and right.",
    ),
    ("Crypto", "crypto", 3, "Digital assets, exchanges and the rules being written for them."),
    ("Business", "business", 4, "Companies, markets, work and the economy."),
    ("Sports", "sports", 5, "Results, transfers and the business of sport."),
]


def create_sections(apps, schema_editor):
    Category = apps.get_model("articles", "Category")
    for name, slug, position, description in SECTIONS:
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "position": position, "description": description}
        )


def remove_sections(apps, schema_editor):
    Category = apps.get_model("articles", "Category")
    Category.objects.filter(slug__in=[slug for _, slug, _, _ in SECTIONS], articles__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("articles", "0001_initial")]
    operations = [migrations.RunPython(create_sections, remove_sections)]
