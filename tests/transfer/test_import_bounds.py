"""Pictures within bounds and malformed documents, through `manage.py import_articles` (issue 10,
point 3): every problem in the usual list, by item and field, from a folder or a .zip, with or without
--dry-run; never a traceback, and nothing written."""

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.newsroom.test_locking import failing_storage
from tests.pictures import decoding, out_of_bounds, picture
from tests.transfer.test_importer import snapshot

pytestmark = pytest.mark.django_db

WEBP_FAILURE = "encoding error 5: Image size exceeds WebP limit of 16383 pixels"
WAYS = [
    pytest.param("folder", False, id="folder"),
    pytest.param("folder", True, id="folder-dry-run"),
    pytest.param("zip", False, id="zip"),
    pytest.param("zip", True, id="zip-dry-run"),
]


def draft(title, image=None):
    story = {"title": title, "section": "world", "summary": "Words."}
    return story | ({"image": image} if image else {})


def outlet(domain, logo=None):
    entry = {"name": domain.split(".")[0].title(), "domain": domain, "homepage": f"https://{domain}/"}
    return entry | ({"logo": logo} if logo else {})


def packed(tmp_path, way: str, document, files: dict[str, bytes]) -> tuple[Path, str]:
    """The document and its pictures as an import folder's JSON file or as a .zip; returns the path
    to import and the name problems with the document itself are reported under."""
    text = document if isinstance(document, str) else json.dumps(document)
    if way == "zip":
        archive = tmp_path / "stories.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("articles.json", text)
            for name, data in files.items():
                zf.writestr(name, data)
        return archive, f"{archive}/articles.json"
    folder = tmp_path / "import"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    folder.mkdir(exist_ok=True)
    path = folder / "import.json"
    path.write_text(text, encoding="utf-8")
    return path, str(path)


def problems(path, dry_run: bool) -> list[str]:
    """The problems the command lists (it must refuse the file)."""
    args = ["--dry-run"] if dry_run else []
    with pytest.raises(CommandError) as excinfo:
        call_command("import_articles", str(path), *args, stdout=StringIO(), stderr=StringIO())
    head, *listed = str(excinfo.value).split("\n")
    count = len(listed)
    assert head.endswith(f"{count} problem{'s' if count != 1 else ''} found; nothing was imported."), head
    return [line.removeprefix("  - ") for line in listed]


@pytest.fixture
def unchanged(media_files):
    """Asserts, after the test, that no row and no file was written."""
    before = snapshot()
    yield
    assert snapshot() == before
    assert media_files() == []


# --- Pictures out of bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize(("way", "dry_run"), WAYS)
def test_every_picture_out_of_bounds_is_listed_by_item_and_field_before_decoding(
    tmp_path, unchanged, way, dry_run
):
    files, expected = {}, []
    document = {"sources": [], "articles": [draft("Fine", "images/fine.jpg")]}
    files["images/fine.jpg"] = picture("RGB", (600, 300), "JPEG")
    for n, case in enumerate(["png-800x20000", "png-1000x39000", "jpeg-1440x17000"], 1):
        data, message = out_of_bounds(case)
        name = f"images/{case}.{case.split('-')[0]}"
        files[name] = data
        document["articles"].append(draft(f"Story {n}", name))
        expected.append(f"articles[{n}] \"Story {n}\": field 'image': '{name}': {message}")
    data, message = out_of_bounds("png-39000000x1")
    files["logos/strip.png"] = data
    document["sources"].append(outlet("strip.example", "logos/strip.png"))
    expected.insert(0, f"sources[0] \"strip.example\": field 'logo': 'logos/strip.png': {message}")
    files["logos/wide.png"] = picture("L", (12_000, 1000))
    document["sources"].append(outlet("wide.example", "logos/wide.png"))
    expected.insert(
        1,
        "sources[1] \"wide.example\": field 'logo': 'logos/wide.png': The picture is 12000×1000 pixels, "
        "12.0 times as wide as it is tall; the longest side may be at most 10 times the shortest.",
    )
    path, _name = packed(tmp_path, way, document, files)
    with decoding() as decoded_sizes:
        assert problems(path, dry_run) == expected
    assert set(decoded_sizes) == {(600, 300)}  # the one picture within bounds, and only it


@pytest.mark.parametrize(("way", "dry_run"), WAYS)
def test_sizes_that_cannot_be_made_are_a_problem_of_the_story_not_a_traceback(
    tmp_path, settings, unchanged, way, dry_run
):
    """With the side and aspect caps lifted (as before issue 10), the WebP encoder itself refuses a
    rendition while the import is applied: still a listed problem, and everything rolled back."""
    settings.NEWSAPP_MAX_IMAGE_SIDE, settings.NEWSAPP_MAX_IMAGE_ASPECT = 30_000, 100
    data, _message = out_of_bounds("png-800x20000")
    document = {"articles": [draft("Fine", "images/fine.jpg"), draft("Tall", "images/tall.png")]}
    files = {"images/fine.jpg": picture("RGB", (600, 300), "JPEG"), "images/tall.png": data}
    path, _name = packed(tmp_path, way, document, files)
    assert problems(path, dry_run) == [
        f"articles[1] \"Tall\": field 'image': the sizes readers see could not be made of the picture "
        f"({WEBP_FAILURE})"
    ]


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize(
    ("from_call", "expected"),
    [
        (1, "sources[0] \"logo.example\": field 'logo'"),  # the logo's original
        (2, "sources[0] \"logo.example\": field 'logo'"),  # its small PNG
        (4, "articles[0] \"Pictured\": field 'image'"),  # the lead image's original
        (6, "articles[0] \"Pictured\": field 'image'"),  # one of its sizes
    ],
)
def test_a_storage_error_is_a_problem_of_the_item_and_field(
    tmp_path, unchanged, dry_run, from_call, expected
):
    document = {
        "sources": [outlet("logo.example", "logos/logo.png")],
        "articles": [draft("Pictured", "images/lead.jpg")],
    }
    files = {
        "logos/logo.png": picture(size=(300, 100)),
        "images/lead.jpg": picture("RGB", (600, 300), "JPEG"),
    }
    path, _name = packed(tmp_path, "folder", document, files)
    patch, calls = failing_storage(from_call)
    with patch:
        listed = problems(path, dry_run)
    assert len(calls) == from_call
    assert listed == [f"{expected}: the picture could not be stored (No space left on device)"]


# --- Malformed documents -------------------------------------------------------------------------------


def nested(levels: int):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


MALFORMED = {
    "nested-200000-deep": (
        "[" * 200_000 + "]" * 200_000,
        ["{name}: nested more than 32 levels deep (at line 1 column 33)"],
    ),
    "nested-too-deep-in-a-story": (
        # document (1), articles (2), the story (3), then 30 lists: 33 levels
        {"articles": [draft("Deep") | {"bias": nested(30)}]},
        ["articles[0] \"Deep\": field 'bias' is nested more than 32 levels deep"],
    ),
    "invalid-json": ('{"articles": [,]}', ["{name}: not valid JSON: Expecting value at line 1 column 15"]),
    "number-too-long": (
        '{"articles": [{"title": "Long", "featured": ' + "9" * 5000 + "}]}",
        [
            "{name}: a number in it cannot be read (Exceeds the limit (4300 digits) for integer string "
            "conversion: value has 5000 digits)"
        ],
    ),
    "lone-surrogate": (
        '{"articles": [{"title": "Harbour \\ud800", "section": "world", "summary": "Words."}]}',
        [
            "articles[0] \"Harbour \\ud800\": field 'title' holds a lone surrogate (\\ud800 to \\udfff), "
            "which is not text"
        ],
    ),
    "too-large": (
        '{"articles": [], "padding": "' + "x" * 40_000_000 + '"}',
        ["{name}: the document is 40.0 MB; the limit is 32 MB: split it into several files"],
    ),
}


@pytest.mark.parametrize(("way", "dry_run"), WAYS)
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_document_is_a_listed_problem(tmp_path, unchanged, way, dry_run, case):
    document, expected = MALFORMED[case]
    path, name = packed(tmp_path, way, document, {})
    assert problems(path, dry_run) == [line.format(name=name) for line in expected]


def test_nesting_up_to_the_limit_is_judged_on_its_content(tmp_path, unchanged):
    document = {"articles": [draft("Deep") | {"bias": nested(29)}]}  # 32 levels: within the limit
    path, _name = packed(tmp_path, "folder", document, {})
    assert problems(path, dry_run=False) == [
        "articles[0] \"Deep\": field 'bias' must be an object with exactly left, center and right"
    ]
