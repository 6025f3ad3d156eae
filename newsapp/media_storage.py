"""Where uploads live, read from NEWSAPP_MEDIA_STORAGE (docs/scaling.md, "Media on object storage").

Empty: local files under MEDIA_ROOT (Django's FileSystemStorage). `s3://BUCKET?...`: a bucket on the
S3 API, through django-storages' S3 backend (newsapp.media_bucket.BucketStorage), so every app server
writes and links the same pictures. Parameters, all optional but region_name on AWS itself:

- endpoint_url: an S3-compatible server (MinIO, Ceph, R2, moto): http(s)://host[:port]. Objects are
  then addressed by path (ENDPOINT/BUCKET/KEY), which every such server understands.
- region_name: the bucket's region (required without endpoint_url: it names AWS's address).
- custom_domain: the address readers' browsers load pictures from (a CDN or the bucket behind its own
  name): host[:port][/path], or with http:// or https:// (https when none is given).
- querystring_auth: true for a private bucket (each link signed, valid for an hour); false, the
  default, for a bucket readers may read (links that never change, so cached pages stay valid).
- location: a folder inside the bucket (a prefix shared by every object).

Credentials are never in this value: boto3 reads them (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
or a role). This module only reads the value; it imports neither boto3 nor django-storages, so
settings stay quick to load and a bad value is refused before anything connects.
"""

import importlib.util
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

BACKEND = "newsapp.media_bucket.BucketStorage"
PARAMETERS = ("endpoint_url", "region_name", "custom_domain", "querystring_auth", "location")
EXAMPLE = "s3://newsapp-media?region_name=eu-west-1&custom_domain=media.example.org"
# Every object's name is new (a random name per upload; a picture's sizes are remade from it, never
# changed), so browsers and CDNs may keep them for good.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$")
_LOCATION = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class MediaBucket:
    """The storage Django is given (STORAGES["default"]) and the origins pictures load from."""

    options: dict
    origins: tuple[str, ...]

    @property
    def storage(self) -> dict:
        return {"BACKEND": BACKEND, "OPTIONS": self.options}


def _refuse(problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"NEWSAPP_MEDIA_STORAGE: {problem} (for example {EXAMPLE}).")


def _parameters(query: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise _refuse(f"the parameters after '?' cannot be read ({exc})") from None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            known = ", ".join(PARAMETERS)
            raise _refuse(f"unknown parameter {name!r}; the known ones are {known}")
        if name in found:
            raise _refuse(f"{name} is given twice")
        if not value.strip():
            raise _refuse(f"{name} is empty")
        found[name] = value.strip()
    return found


def _web_address(name: str, value: str) -> tuple[str, str, str]:
    """(scheme, host[:port], path) of an http(s) address with nothing else in it."""
    try:
        parts = urlsplit(value)
        port = parts.port  # reading it checks it
    except ValueError as exc:
        raise _refuse(f"{name} {value!r} is not an address ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(f"{name} {value!r} must be an http:// or https:// address")
    if parts.username is not None or parts.password is not None:
        raise _refuse(
            f"{name} must not hold credentials: boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if parts.query or parts.fragment:
        raise _refuse(f"{name} {value!r} must have no query or fragment")
    host = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # an IPv6 address keeps its brackets
        host = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    return parts.scheme, host, parts.path.rstrip("/")


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _refuse(f"{name} is {value!r}; say true or false")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def media_bucket(value: str) -> MediaBucket:
    """The bucket NEWSAPP_MEDIA_STORAGE names, checked whole; ImproperlyConfigured says what is wrong."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"it is not an address ({exc})") from None
    if parts.scheme != "s3":
        # Not repeated whole: a mistaken value may hold a secret.
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise _refuse(f"it starts with {scheme}, not s3:// (leave it empty for files under MEDIA_ROOT)")
    if parts.username is not None or parts.password is not None:
        raise _refuse(
            "credentials do not belong in it: boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    bucket = parts.netloc
    if port is not None or ":" in bucket:
        raise _refuse(f"{bucket!r} is not a bucket name (the server's address goes in endpoint_url)")
    if not _BUCKET.match(bucket) or ".." in bucket or _is_ip(bucket):
        raise _refuse(
            f"{bucket!r} is not a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit"
        )
    if parts.path not in ("", "/") or parts.fragment:
        raise _refuse("a folder inside the bucket goes in the location parameter, not in the path")
    found = _parameters(parts.query)
    if importlib.util.find_spec("storages") is None or importlib.util.find_spec("boto3") is None:
        raise ImproperlyConfigured(
            "NEWSAPP_MEDIA_STORAGE names a bucket, which needs django-storages and boto3: "
            "pip install -e '.[s3]'."
        )
    options = {
        "bucket_name": bucket,
        "querystring_auth": _flag("querystring_auth", found.get("querystring_auth", "false")),
        # Names are random (a new one per upload): a free name needs no request to the bucket.
        "file_overwrite": True,
    }
    if not options["querystring_auth"]:
        options["object_parameters"] = {"CacheControl": PUBLIC_CACHE_CONTROL}
    if "region_name" in found:
        if not _REGION.match(found["region_name"]):
            raise _refuse(f"region_name {found['region_name']!r} is not a region name (such as eu-west-1)")
        options["region_name"] = found["region_name"]
    if "location" in found:
        if not _LOCATION.match(found["location"]) or {".", ".."} & set(found["location"].split("/")):
            raise _refuse("location is a folder such as media or site/media (letters, digits, . _ - and /)")
        options["location"] = found["location"]
    origins = []
    if "endpoint_url" in found:
        scheme, host, path = _web_address("endpoint_url", found["endpoint_url"])
        if path:
            raise _refuse("endpoint_url is the server's address alone, with no path")
        options["endpoint_url"] = f"{scheme}://{host}"
        options["addressing_style"] = "path"  # ENDPOINT/BUCKET/KEY: what every S3-compatible server takes
        origins.append(f"{scheme}://{host}")
    else:
        if "region_name" not in options:
            raise _refuse(
                "region_name is needed for a bucket on AWS (or give endpoint_url for another server)"
            )
        if "." in bucket and "custom_domain" not in found:
            raise _refuse(
                f"{bucket!r} has dots, which AWS cannot serve over HTTPS under its own name: "
                "give custom_domain, or use a bucket name without dots"
            )
        # Virtual-hosted addresses: the regional one, and the global one boto3 gives in us-east-1.
        options["addressing_style"] = "virtual"
        origins += [
            f"https://{bucket}.s3.{options['region_name']}.amazonaws.com",
            f"https://{bucket}.s3.amazonaws.com",
        ]
    if "custom_domain" in found:
        domain = found["custom_domain"]
        if options["querystring_auth"]:
            raise _refuse("querystring_auth=true needs the bucket's own address: leave custom_domain out")
        scheme, host, path = _web_address("custom_domain", domain if "://" in domain else f"https://{domain}")
        options["custom_domain"] = f"{host}{path}"
        options["url_protocol"] = f"{scheme}:"
        origins = [f"{scheme}://{host}"]
    return MediaBucket(options=options, origins=tuple(origins))
