"""Attachments: images and PDFs sent with a prompt.

An :class:`Attachment` holds either the bytes (from a file, from bytes, or
from a ``data:`` URL) or an ``http(s)`` URL the provider fetches itself. Its
type comes from the content (the magic bytes of PNG, JPEG, GIF, WEBP and
PDF), falling back to the file's suffix; anything else is an
:class:`~codey.AttachmentError` at once, as is a file over :data:`MAX_SIZE`.
Whether a provider takes the type is its :class:`~codey._providers._base.Service`'s
``attachments``, checked when the request is built, before anything is sent.

In a chat log, a user message refers to an attachment with a line of its
own, ``![attachment](photo.png)`` (``<...>`` around a path with spaces or
parentheses; a path is relative to the log's directory; ``http(s)`` and
``data:`` URLs too): :func:`read_references` and :func:`reference`. A log
attaches only files inside its own folder, or inside the folders it is
allowed (``attach_from``): a log is data, and may come from anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Optional, Union

import attrs

from codey._errors import AttachmentError

__all__ = [
    "IMAGE_TYPES",
    "KNOWN_TYPES",
    "MAX_SIZE",
    "PDF",
    "REFERENCE_LEAD",
    "Attachment",
    "check_inside",
    "read_references",
    "reference",
    "sniff",
]

#: The most bytes one attachment may hold (the providers' own limits are lower for some).
MAX_SIZE = 20 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF = "application/pdf"
KNOWN_TYPES = (*IMAGE_TYPES, PDF)
_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": PDF,
}
_KINDS = "an image (PNG, JPEG, GIF, WEBP) or a PDF"


def sniff(data: bytes) -> Optional[str]:
    """The type the first bytes say (PNG, JPEG, GIF, WEBP or PDF), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in data[:1024]:  # the header may follow some junk (PDF 1.7, annex H)
        return PDF
    return None


def _from_suffix(name: str) -> Optional[str]:
    path = name.split("?", 1)[0].split("#", 1)[0]
    return _SUFFIXES.get(os.path.splitext(path)[1].lower())


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB"


def _check_size(count: int, what: str) -> None:
    if count > MAX_SIZE:
        shown = _size(count)
        if shown == _size(MAX_SIZE):  # just over, or read only up to the limit (/dev/zero)
            shown = "more than that"
        raise AttachmentError(
            f"{what} is too big to attach: the most is {_size(MAX_SIZE)}, and it is {shown}"
        )


def _check_mime(mime: Optional[str], what: str) -> str:
    if mime is None:
        raise AttachmentError(f"cannot tell what {what} is: attach {_KINDS}")
    mime = mime.lower()
    if mime not in KNOWN_TYPES:
        raise AttachmentError(f"{what} is {mime}: codey attaches {_KINDS}")
    return mime


def _describe(instance: Attachment) -> str:
    return instance.name or instance.path or "the attachment"


@attrs.frozen(repr=False)
class Attachment:
    """An image or a PDF to send with a message.

    Make one with :meth:`from_path`, :meth:`from_url` or :meth:`from_bytes`.
    ``data`` holds the bytes, or ``url`` the ``http(s)`` address the provider
    fetches (exactly one of them is set); ``mime`` is the type, ``name`` a
    file name for the provider, ``path`` the path it was read from, as given
    (a chat log writes it back). The repr never shows the bytes.
    """

    mime: str
    data: Optional[bytes] = None
    url: Optional[str] = None
    name: Optional[str] = None
    path: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("an Attachment holds either data or a url")
        what = _describe(self)
        object.__setattr__(self, "mime", _check_mime(self.mime, what))
        if self.data is not None:
            if not isinstance(self.data, bytes):
                raise TypeError(f"attachment data must be bytes, not {type(self.data).__name__}")
            _check_size(len(self.data), what)
        elif not self.url.startswith(("http://", "https://")):  # type: ignore[union-attr]
            raise ValueError(f"an attachment URL must be http(s) or data:, not {self.url!r}")

    def __repr__(self) -> str:
        where = self.url or self.path or self.name or f"{len(self.data or b'')} bytes"
        return f"<codey.Attachment {self.mime} {where}>"

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @classmethod
    def from_path(
        cls, path: Union[str, os.PathLike[str]], mime: Optional[str] = None
    ) -> Attachment:
        """A file's bytes; the type from its content, else its suffix (or ``mime``).

        :raises OSError: the file cannot be read (``FileNotFoundError``...).
        :raises AttachmentError: not an image or a PDF, or too big.
        """
        path = os.fspath(path)
        with open(path, "rb") as file:
            _check_size(os.fstat(file.fileno()).st_size, path)
            data = file.read(MAX_SIZE + 1)
        _check_size(len(data), path)
        mime = mime or sniff(data) or _from_suffix(path)
        return cls(mime=_check_mime(mime, path), data=data, name=os.path.basename(path), path=path)

    @classmethod
    def from_url(cls, url: str, mime: Optional[str] = None) -> Attachment:
        """An ``http(s)`` URL the provider fetches (type from ``mime``, else the URL's
        suffix), or a ``data:`` URL, decoded here."""
        if url.startswith("data:"):
            return _from_data_url(cls, url)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"an attachment URL must be http(s) or data:, not {url!r}")
        return cls(mime=_check_mime(mime or _from_suffix(url), url), url=url)

    @classmethod
    def from_bytes(
        cls, data: bytes, mime: Optional[str] = None, name: Optional[str] = None
    ) -> Attachment:
        """Bytes in memory; the type is ``mime``, else what the content says."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"attachment data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        what = name or "the attached bytes"
        _check_size(len(data), what)
        return cls(mime=_check_mime(mime or sniff(data), what), data=data, name=name)

    def base64(self) -> str:
        """The bytes, base64-encoded (an ``http(s)`` attachment has none: ValueError)."""
        if self.data is None:
            raise ValueError(f"{_describe(self)} is a URL, not data")
        import base64

        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        """``data:MIME;base64,...``, or the ``http(s)`` URL itself."""
        if self.url is not None:
            return self.url
        return f"data:{self.mime};base64,{self.base64()}"


def _from_data_url(cls: type[Attachment], url: str) -> Attachment:
    head, comma, payload = url[5:].partition(",")
    parts = head.split(";")
    if not comma or parts[-1].lower() != "base64":
        raise ValueError("a data: URL attachment must be base64 (data:MIME;base64,...)")
    import base64
    import binascii

    _check_size(len(payload) * 3 // 4, "the data: URL")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data: URL attachment is not valid base64") from None
    return cls.from_bytes(data, parts[0] or None)


# -- in chat logs: a line ``![attachment](TARGET)`` in a user message ---------------

#: How a reference line starts (a message line that starts so is escaped: ``\![attachment``).
REFERENCE_LEAD = "![attachment"
_REFERENCE_RE = re.compile(
    r"^!\[attachment(?::[^\]\n]*)?\]\((?:<([^<>\n]+)>|([^\s<>()]+))\)[ \t]*(?:\n|$)",
    re.MULTILINE,
)


def read_references(
    text: str, base_dir: Optional[str] = None, attach_from: Sequence[str] = ()
) -> tuple[str, tuple[Attachment, ...]]:
    """A user message's text without its reference lines, and what they attach.

    A path is read relative to ``base_dir`` (default: the current directory);
    the attachment keeps the path as written. Only a file inside ``base_dir``
    or one of ``attach_from`` (folders, or files) may be read, symlinks
    resolved: anything else is an :class:`~codey.AttachmentError` naming it.
    ``http(s)`` and ``data:`` URLs are attachments by URL.
    """
    if REFERENCE_LEAD not in text:
        return text, ()
    attachments = []
    for match in _REFERENCE_RE.finditer(text):
        target = match.group(1) or match.group(2)
        if target.startswith(("http://", "https://", "data:")):
            attachments.append(Attachment.from_url(target))
            continue
        path = os.path.join(base_dir, target) if base_dir else target
        check_inside(path, target, base_dir or os.curdir, attach_from)
        attachments.append(attrs.evolve(Attachment.from_path(path), path=target))
    return _REFERENCE_RE.sub("", text).strip(), tuple(attachments)


def check_inside(path: str, target: str, folder: str, attach_from: Sequence[str] = ()) -> None:
    """Refuse ``path`` (``target`` as the chat log wrote it) unless, symlinks
    resolved, it is inside ``folder`` or one of ``attach_from``."""
    real = os.path.realpath(path)
    for root in (folder, *attach_from):
        root = os.path.realpath(root)
        try:
            if os.path.commonpath([real, root]) == root:
                return
        except ValueError:  # another drive (Windows)
            continue
    where = "the current folder" if folder == os.curdir else os.path.abspath(folder)
    raise AttachmentError(
        f"{target}: outside the chat log's folder ({where}), where its attachments must be "
        "(--attach-from DIR, or attach_from=, allows another folder)"
    )


def reference(attachment: Attachment, base_dir: Optional[str] = None) -> str:
    """The chat-log line for ``attachment``: its URL, its path relative to
    ``base_dir`` (default: the current directory), or its bytes as a ``data:`` URL."""
    if attachment.url is not None:
        target = attachment.url
    elif attachment.path is not None:
        target = attachment.path
        if base_dir is not None and not os.path.isabs(target):
            try:
                target = os.path.relpath(os.path.abspath(target), base_dir)
            except ValueError:  # another drive (Windows)
                target = os.path.abspath(target)
    else:
        target = attachment.data_url()
    if re.search(r"[<>\n]", target):
        raise ValueError(f"cannot name {target!r} in a chat log (it holds <, > or a newline)")
    if re.search(r"[\s()]", target):
        target = f"<{target}>"
    return f"![attachment]({target})"
