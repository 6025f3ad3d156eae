"""A request's Content-Type header, read without failing while the request object is built.

Django 6.1 reads the header as it builds the request, before any middleware, so what it raises there
escapes its own error handling and the WSGI server answers a bare 500 (found by tests/test_fuzz.py):

- a header it cannot parse (over 10,000 characters, or an RFC 2231 parameter in an unknown charset)
  raises BadRequest;
- a charset Python has a codec for but that decodes no text (rot13, base64, "undefined") is taken,
  and decoding the query string with it raises LookupError or UnicodeError;
- setting the charset asks `hasattr(request, "GET")`, which parses the query string there and then,
  so 1,001 query parameters with any charset raise TooManyFieldsSent.

install() (from NewsappConfig.ready) mends all three on HttpRequest, so WSGI, ASGI and the test
client behave alike: an unreadable header leaves a POST body unread (reading its fields is a 400),
a charset that decodes no text is ignored as Django ignores an unknown one, and the query string is
parsed on first use, where Django's handler turns its errors into 400 pages.
"""

import functools

from django.core.exceptions import BadRequest
from django.http import HttpRequest

_UNREADABLE = "_newsapp_unreadable_content_type"


def decodes_text(charset: str) -> bool:
    """Whether `charset` names a text encoding that works: rot13 and base64 are codecs of bytes or
    of str alone (LookupError), "undefined" refuses everything (UnicodeError). Python decodes empty
    input without asking the codec, hence a letter."""
    try:
        "a".encode(charset).decode(charset)
    except (LookupError, UnicodeError):
        return False
    return True


def _set_encoding(request, value):
    """Django's setter, keeping only a charset that decodes text, and dropping GET and POST to be
    built again with it without building them first."""
    request._encoding = value if value is None or decodes_text(value) else None
    request.__dict__.pop("GET", None)
    request.__dict__.pop("_post", None)


def install() -> None:
    if getattr(HttpRequest, _UNREADABLE, None) is not None:
        return  # installed already
    read_header, load_body = HttpRequest._set_content_type_params, HttpRequest._load_post_and_files

    @functools.wraps(read_header)
    def set_content_type_params(self, meta):
        try:
            read_header(self, meta)
        except BadRequest as exc:
            self.content_type, self.content_params = "", {}
            setattr(self, _UNREADABLE, exc)

    @functools.wraps(load_body)
    def load_post_and_files(self):
        error = getattr(self, _UNREADABLE)
        if error is not None and self.method == "POST":
            self._mark_post_parse_error()  # as Django does, so the error page finds empty fields
            raise error
        return load_body(self)

    setattr(HttpRequest, _UNREADABLE, None)
    HttpRequest.encoding = HttpRequest.encoding.setter(_set_encoding)
    HttpRequest._set_content_type_params = set_content_type_params
    HttpRequest._load_post_and_files = load_post_and_files
