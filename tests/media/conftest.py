"""A bucket per test on a local S3 server (tests/media/s3server.py), set as the media storage."""

import json
import logging
import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config

from newsapp.media_storage import media_bucket
from tests.media.s3server import LocalS3, Seen


@pytest.fixture(scope="session")
def local_s3():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    server = LocalS3().start()
    yield server
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch, tmp_path):
    """Made-up credentials, and no AWS configuration file or instance metadata looked up."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def public_read(bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


@dataclass
class Bucket:
    name: str
    setting: str  # the NEWSAPP_MEDIA_STORAGE value
    server: LocalS3
    client: object  # boto3's client, straight to moto (bypassing the counting proxy)

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=key)

    @property
    def seen(self) -> list[Seen]:
        """Every request the site made to the S3 server since the last forget()."""
        return list(self.server.proxy.seen)

    def forget(self):
        self.server.proxy.seen.clear()


def use_bucket(settings, setting: str, **options):
    """NEWSAPP_MEDIA_STORAGE=`setting` as the settings would apply it; `options` added to the storage's."""
    bucket = media_bucket(setting)
    settings.NEWSAPP_MEDIA_STORAGE = setting
    settings.STORAGES = {**settings.STORAGES, "default": {**bucket.storage}}
    settings.STORAGES["default"]["OPTIONS"] = {**bucket.options, **options}
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "img-src": [*settings.SECURE_CSP["img-src"], *bucket.origins],
    }
    return bucket


@pytest.fixture
def bucket(local_s3, aws_credentials, settings):
    """An empty bucket of its own on the local S3 server, reached through the counting proxy and
    configured as NEWSAPP_MEDIA_STORAGE would (a failing request is tried once, not three times)."""
    name = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=local_s3.direct_url,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket=name)
    # What docs/scaling.md asks of a public bucket: anyone may read its objects (not list them).
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read(name)))
    setting = f"s3://{name}?endpoint_url={local_s3.proxy.url}&region_name=us-east-1"
    use_bucket(settings, setting, max_attempts=1)
    local_s3.proxy.fail = None
    local_s3.proxy.seen.clear()
    yield Bucket(name=name, setting=setting, server=local_s3, client=client)
    local_s3.proxy.fail = None
