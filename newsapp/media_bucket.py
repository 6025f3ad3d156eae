"""The media bucket's storage: django-storages' S3 backend, speaking Django's storage contract.

Three differences from storages.backends.s3.S3Storage, each for the code written against Django's
Storage API (articles.images, the admin, the importer, the newsdesk):

- A failure of the bucket (unreachable, missing, refusing) is an OSError, as a full disk is for
  FileSystemStorage: callers that turn OSError into a form error or an import problem, and remove
  what they wrote, do so for the bucket too (boto3 raises its own exceptions, which they would not
  catch: an editor would see a 500 and could be left with half a picture stored).
- A bucket that does not answer costs seconds, not minutes: short connect and read timeouts and a few
  retries (boto3's defaults are 60 s each, retried up to five times).
- A public link (no signature, no custom_domain) is the bucket's address and the object's name put
  together, without asking botocore to build one each time: a page of cards links dozens of files,
  and botocore takes about 0.1 ms per link (0.2 s for a thread's first). The address itself comes
  from botocore once, so it is the one botocore would give.
"""

from functools import wraps
from urllib.parse import quote

from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

_PROBE = "probe"


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message') or exc}"
    return str(exc) or type(exc).__name__


def _as_oserror(method):
    """The method, with boto3's failures raised as OSError (FileNotFoundError for a missing object)."""

    @wraps(method)
    def translated(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            kind = FileNotFoundError if status == 404 and method.__name__ != "_save" else OSError
            raise kind(f"the media bucket {self.bucket_name}: {_reason(exc)}") from exc

    return translated


class BucketStorage(S3Storage):
    """See the module's docstring. Extra OPTIONS: connect_timeout, read_timeout (seconds) and
    max_attempts (tries of one request, the first included)."""

    def get_default_settings(self):
        return {**super().get_default_settings(), "connect_timeout": 3, "read_timeout": 20, "max_attempts": 3}

    def __init__(self, **settings):
        super().__init__(**settings)
        self.client_config = self.client_config.merge(
            Config(
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"mode": "standard", "max_attempts": self.max_attempts},
            )
        )
        self._public_base = None

    @_as_oserror
    def _open(self, name, mode="rb"):
        file = super()._open(name, mode)
        if "r" in mode:
            # Read now, while a failure is still the storage's to translate (S3File reads lazily).
            file.file  # noqa: B018
        return file

    _save = _as_oserror(S3Storage._save)
    delete = _as_oserror(S3Storage.delete)
    exists = _as_oserror(S3Storage.exists)
    listdir = _as_oserror(S3Storage.listdir)
    size = _as_oserror(S3Storage.size)
    get_modified_time = _as_oserror(S3Storage.get_modified_time)

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.querystring_auth or self.custom_domain or parameters or http_method:
            return super().url(name, parameters, expire, http_method)
        if self._public_base is None:
            probe = super().url(_PROBE)
            key = quote(self._normalize_name(_PROBE), safe="/~")
            # An address of another shape than ADDRESS/KEY (none is known): botocore's, every time.
            self._public_base = probe[: -len(key)] if probe.endswith(key) else ""
        if not self._public_base:
            return super().url(name)
        return self._public_base + quote(self._normalize_name(clean_name(name)), safe="/~")
