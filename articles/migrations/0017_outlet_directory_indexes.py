"""The outlet directory (/sources/) reads its pages straight from an index, in name order, over every
outlet or over those of one lean today, with the id as the tie-breaker its order ends with."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0016_ratings_from_leans"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="source",
            index=models.Index(fields=["name", "id"], name="source_name_idx"),
        ),
        migrations.AddIndex(
            model_name="source",
            index=models.Index(fields=["bias", "name", "id"], name="source_lean_name_idx"),
        ),
    ]
