"""NEWSAPP_MEDIA_STORAGE read whole: a bucket's storage and the origins its pictures load from, or
ImproperlyConfigured saying what is wrong; local files when it is empty."""

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage

from newsapp.media_bucket import BucketStorage
from newsapp.media_storage import PUBLIC_CACHE_CONTROL, media_bucket
from tests.test_settings import ROOT, run

BAD = {
    "not s3": ("https://key:secret@bucket.example.org", "it starts with https://, not s3://"),
    "no scheme": ("newsapp-media", "it starts with no scheme, not s3://"),
    "no bucket": ("s3://?region_name=eu-west-1", "'' is not a bucket name"),
    "upper case": ("s3://Media?region_name=eu-west-1", "'Media' is not a bucket name: 3 to 63 lower-case"),
    "too short": ("s3://ab?region_name=eu-west-1", "'ab' is not a bucket name"),
    "an address": ("s3://10.0.0.1?region_name=eu-west-1", "'10.0.0.1' is not a bucket name"),
    "a port": ("s3://media:9000?region_name=eu-west-1", "'media:9000' is not a bucket name"),
    "credentials": ("s3://key:secret@media?region_name=eu-west-1", "credentials do not belong in it"),
    "a path": ("s3://media/uploads?region_name=eu-west-1", "goes in the location parameter"),
    "unknown": ("s3://media?region_name=eu-west-1&acl=public", "unknown parameter 'acl'; the known ones are"),
    "misspelt": ("s3://media?endpoint=http://127.0.0.1:9000", "unknown parameter 'endpoint'"),
    "twice": ("s3://media?region_name=eu-west-1&region_name=us-east-1", "region_name is given twice"),
    "empty": ("s3://media?region_name=", "region_name is empty"),
    "unreadable": ("s3://media?region_name", "the parameters after '?' cannot be read"),
    "no region on AWS": ("s3://media", "region_name is needed for a bucket on AWS"),
    "bad region": ("s3://media?region_name=EU%20West", "is not a region name"),
    "endpoint scheme": (
        "s3://media?endpoint_url=ftp://files.example",
        "must be an http:// or https:// address",
    ),
    "endpoint path": ("s3://media?endpoint_url=http://127.0.0.1:9000/s3", "with no path"),
    "endpoint port": ("s3://media?endpoint_url=http://127.0.0.1:99999", "is not an address"),
    "endpoint login": ("s3://media?endpoint_url=http://k:s@127.0.0.1:9000", "must not hold credentials"),
    "flag": ("s3://media?region_name=eu-west-1&querystring_auth=maybe", "querystring_auth is 'maybe'"),
    "signed on a CDN": (
        "s3://media?region_name=eu-west-1&querystring_auth=true&custom_domain=cdn.example.org",
        "querystring_auth=true needs the bucket's own address",
    ),
    "dots on AWS": ("s3://media.example.org?region_name=eu-west-1", "has dots, which AWS cannot serve"),
    "location": ("s3://media?region_name=eu-west-1&location=../up", "location is a folder"),
    "location dot": ("s3://media?region_name=eu-west-1&location=site/./media", "location is a folder"),
    "domain query": ("s3://media?region_name=eu-west-1&custom_domain=cdn.example.org%3Fx%3D1", "no query"),
}


@pytest.mark.parametrize("value, message", BAD.values(), ids=BAD.keys())
def test_a_bad_value_is_refused_with_what_is_wrong(value, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        media_bucket(value)
    assert str(refused.value).startswith("NEWSAPP_MEDIA_STORAGE: ")
    assert message in str(refused.value)
    assert "for example s3://" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_an_s3_compatible_server_is_addressed_by_path_with_links_that_never_change():
    bucket = media_bucket(
        "s3://newsapp-media?endpoint_url=http://127.0.0.1:9000/&region_name=us-east-1&location=site/media"
    )
    assert bucket.storage["BACKEND"] == "newsapp.media_bucket.BucketStorage"
    assert bucket.options == {
        "bucket_name": "newsapp-media",
        "querystring_auth": False,
        "file_overwrite": True,
        "object_parameters": {"CacheControl": PUBLIC_CACHE_CONTROL},
        "region_name": "us-east-1",
        "location": "site/media",
        "endpoint_url": "http://127.0.0.1:9000",
        "addressing_style": "path",
    }
    assert bucket.origins == ("http://127.0.0.1:9000",)


def test_a_custom_domain_is_where_pictures_load_from():
    bucket = media_bucket("s3://newsapp-media?region_name=eu-west-1&custom_domain=cdn.example.org/media")
    assert (bucket.options["custom_domain"], bucket.options["url_protocol"]) == (
        "cdn.example.org/media",
        "https:",
    )
    assert bucket.origins == ("https://cdn.example.org",)
    plain = media_bucket("s3://newsapp-media?region_name=eu-west-1&custom_domain=http://127.0.0.1:8080")
    assert (plain.options["custom_domain"], plain.options["url_protocol"]) == ("127.0.0.1:8080", "http:")


def test_a_private_bucket_gets_signed_links_and_no_public_cache_header():
    bucket = media_bucket("s3://newsapp-media?region_name=eu-west-1&querystring_auth=yes")
    assert bucket.options["querystring_auth"] is True
    assert "object_parameters" not in bucket.options


CONFIGURATIONS = [
    "s3://newsapp-media?endpoint_url=http://127.0.0.1:9000&region_name=us-east-1",
    "s3://newsapp-media?endpoint_url=http://localhost:9000&region_name=local",
    "s3://newsapp-media?endpoint_url=https://s3.example.org&region_name=auto&location=media",
    "s3://newsapp-media?endpoint_url=http://[::1]:9000&region_name=us-east-1",
    "s3://newsapp-media?region_name=eu-west-1",
    "s3://newsapp-media?region_name=us-east-1",
    "s3://newsapp-media?region_name=ap-southeast-2&location=site",
    "s3://newsapp-media?region_name=eu-west-1&querystring_auth=true",
    "s3://newsapp-media?region_name=us-east-1&querystring_auth=true",
    "s3://newsapp-media?endpoint_url=http://127.0.0.1:9000&region_name=us-east-1&querystring_auth=true",
    "s3://newsapp.media?region_name=eu-west-1&custom_domain=media.example.org",
    "s3://newsapp-media?endpoint_url=http://127.0.0.1:9000&region_name=x&custom_domain=http://cdn.local:8080/m",
]


@pytest.mark.parametrize("value", CONFIGURATIONS)
def test_the_policy_allows_the_address_boto3_links(value, aws_credentials):
    """The origins put in the CSP's img-src are those of the links the storage writes (no network)."""
    bucket = media_bucket(value)
    link = BucketStorage(**bucket.options).url("articles/2026/12/a b(1)é.jpg")
    assert "{0.scheme}://{0.netloc}".format(urlsplit(link)) in bucket.origins


@pytest.mark.parametrize("value", [v for v in CONFIGURATIONS if "custom_domain" not in v])
def test_public_links_are_botocores_own(value, aws_credentials):
    """BucketStorage builds a public link itself (botocore takes ~0.1 ms a link): the same one."""
    options = media_bucket(value).options
    ours, theirs = BucketStorage(**options), S3Storage(**options)
    for name in ("a.jpg", "articles/2026/12/0f3e_960.webp", "a b/é(x)!~'*+&=.jpg", "logos/x/../y.png"):
        if options["querystring_auth"]:
            assert ours.url(name).split("?")[0] == theirs.url(name).split("?")[0]
        else:
            assert ours.url(name) == theirs.url(name)


def test_the_settings_put_the_bucket_in_storages_and_the_policy(tmp_path):
    shown = run(
        tmp_path,
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.STORAGES['default']['BACKEND']); print(settings.SECURE_CSP['img-src'])",
        DJANGO_SECRET_KEY="x" * 50,
        NEWSAPP_MEDIA_STORAGE="s3://newsapp-media?region_name=eu-west-1&custom_domain=media.example.org",
    )
    assert shown.returncode == 0, shown.stderr
    backend, policy = shown.stdout.splitlines()
    assert backend == "newsapp.media_bucket.BucketStorage"
    assert "'https://media.example.org'" in policy


def test_without_it_uploads_stay_local_files(tmp_path):
    shown = run(
        tmp_path,
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.STORAGES['default']['BACKEND'])",
        DJANGO_SECRET_KEY="x" * 50,
        NEWSAPP_MEDIA_STORAGE="",
    )
    assert shown.stdout.strip() == "django.core.files.storage.FileSystemStorage", shown.stderr


def test_manage_py_refuses_to_start_with_a_bad_value_and_says_why(tmp_path):
    refused = run(
        tmp_path,
        str(ROOT / "manage.py"),
        "check",
        DJANGO_SECRET_KEY="x" * 50,
        NEWSAPP_MEDIA_STORAGE="s3://newsapp-media?endpoint=http://127.0.0.1:9000",
    )
    assert refused.returncode != 0
    assert "NEWSAPP_MEDIA_STORAGE: unknown parameter 'endpoint'" in refused.stderr
