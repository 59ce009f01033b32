"""Attachments: images and PDFs, their types, limits, and each provider's wire format."""

from __future__ import annotations

import base64

import pytest

import codey
from codey import _attachments
from codey.testing import answer
from tests.helpers import RICH, kwargs_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(30)
GIF = b"GIF89a" + bytes(20)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class TestTypes:
    @pytest.mark.parametrize(
        ("data", "mime"),
        [
            (PNG, "image/png"),
            (JPEG, "image/jpeg"),
            (GIF, "image/gif"),
            (WEBP, "image/webp"),
            (PDF, "application/pdf"),
        ],
    )
    def test_the_content_says_the_type(self, tmp_path, data, mime):
        path = tmp_path / "no-suffix"
        path.write_bytes(data)
        attachment = codey.Attachment.from_path(path)
        assert attachment.mime == mime
        assert attachment.data == data
        assert attachment.name == "no-suffix"
        assert codey.Attachment.from_bytes(data).mime == mime

    def test_the_content_wins_over_the_suffix(self, tmp_path):
        path = tmp_path / "photo.jpg"
        path.write_bytes(PNG)
        assert codey.Attachment.from_path(path).mime == "image/png"

    def test_the_suffix_when_the_content_says_nothing(self, tmp_path):
        path = tmp_path / "scan.PDF"
        path.write_bytes(b"not quite a header")
        assert codey.Attachment.from_path(path).mime == "application/pdf"

    def test_an_unknown_type_is_a_clear_error(self, tmp_path):
        path = tmp_path / "notes.txt"
        path.write_text("hello")
        with pytest.raises(codey.AttachmentError, match=r"cannot tell what .*notes\.txt is"):
            codey.Attachment.from_path(path)
        with pytest.raises(codey.AttachmentError, match="image/bmp: codey attaches"):
            codey.Attachment.from_bytes(b"BM....", "image/bmp")
        # A configuration error (exit status 3 on the command line), also a ValueError.
        assert issubclass(codey.AttachmentError, codey.UnsupportedOptionError)
        assert issubclass(codey.AttachmentError, ValueError)

    def test_a_missing_file_is_the_os_error(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            codey.Attachment.from_path(tmp_path / "gone.png")

    def test_too_big_is_refused_before_reading(self, tmp_path):
        path = tmp_path / "huge.png"
        with open(path, "wb") as file:
            file.write(PNG)
            file.truncate(_attachments.MAX_SIZE + 1)  # sparse: nothing is really written
        with pytest.raises(codey.AttachmentError, match="too big to attach"):
            codey.Attachment.from_path(path)
        with pytest.raises(codey.AttachmentError, match="too big"):
            codey.Attachment.from_bytes(PNG + bytes(_attachments.MAX_SIZE))

    def test_urls(self):
        url = codey.Attachment.from_url("https://example.com/cat.webp?size=2")
        assert (url.mime, url.url, url.data) == (
            "image/webp",
            "https://example.com/cat.webp?size=2",
            None,
        )
        assert codey.Attachment.from_url("https://example.com/x", "image/png").mime == "image/png"
        with pytest.raises(codey.AttachmentError, match="cannot tell"):
            codey.Attachment.from_url("https://example.com/page")
        with pytest.raises(ValueError, match="http"):
            codey.Attachment.from_url("ftp://example.com/a.png")
        data = codey.Attachment.from_url(f"data:image/png;base64,{b64(PNG)}")
        assert (data.mime, data.data, data.url) == ("image/png", PNG, None)
        with pytest.raises(ValueError, match="base64"):
            codey.Attachment.from_url("data:image/png;base64,***")

    def test_the_repr_never_shows_the_bytes(self, tmp_path):
        path = tmp_path / "a.png"
        path.write_bytes(PNG)
        text = repr(codey.Attachment.from_path(path))
        assert "a.png" in text
        assert "image/png" in text
        assert "PNG" not in text.replace("image/png", "")
        assert (
            repr(codey.Attachment.from_bytes(PNG))
            == f"<codey.Attachment image/png {len(PNG)} bytes>"
        )

    def test_only_a_user_or_tool_message_has_attachments(self):
        image = codey.Attachment.from_bytes(PNG)
        assert codey.Message("user", "look", attachments=[image]).attachments == (image,)
        result = codey.Message("tool", "a dot", attachments=[image], tool_call_id="call_1")
        assert result.attachments == (image,)
        with pytest.raises(ValueError, match="user or tool message"):
            codey.Message("assistant", "x", attachments=[image])
        with pytest.raises(TypeError, match=r"codey\.Attachment"):
            codey.Message("user", "x", attachments=["a.png"])
        # The two-argument form is unchanged.
        assert codey.Message("user", "hi") == codey.Message("user", "hi", attachments=())


class TestWire:
    def image(self) -> codey.Attachment:
        return codey.Attachment.from_bytes(PNG, name="chart.png")

    @pytest.mark.parametrize("provider", ["openai", "xai"])
    def test_chat_completions_image_url(self, fake, provider):
        fake.push(answer("a chart"))
        text = codey.complete(
            "what is it?", attachments=[self.image()], **kwargs_for(fake, provider)
        )
        assert text == "a chart"
        message = fake.requests[-1].json["messages"][-1]
        assert message == {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is it?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
            ],
        }

    def test_chat_completions_image_by_url_and_pdf_as_file(self, fake):
        fake.push(answer("ok"))
        pdf = codey.Attachment.from_bytes(PDF, name="paper.pdf")
        url = codey.Attachment.from_url("https://example.com/cat.jpg")
        codey.complete("read", attachments=[url, pdf], **kwargs_for(fake, "openai"))
        parts = fake.requests[-1].json["messages"][-1]["content"]
        assert parts[1] == {
            "type": "image_url",
            "image_url": {"url": "https://example.com/cat.jpg"},
        }
        assert parts[2] == {
            "type": "file",
            "file": {
                "filename": "paper.pdf",
                "file_data": f"data:application/pdf;base64,{b64(PDF)}",
            },
        }

    def test_anthropic_image_and_document_blocks_before_the_text(self, fake):
        fake.push(answer("ok"))
        pdf = codey.Attachment.from_bytes(PDF)
        url = codey.Attachment.from_url("https://example.com/report.pdf")
        codey.complete(
            "read", attachments=[self.image(), pdf, url], **kwargs_for(fake, "anthropic")
        )
        content = fake.requests[-1].json["messages"][-1]["content"]
        assert content == [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)},
            },
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
            },
            {
                "type": "document",
                "source": {"type": "url", "url": "https://example.com/report.pdf"},
            },
            {"type": "text", "text": "read"},
        ]

    def test_attachments_join_the_last_user_message(self, fake):
        fake.push(answer("ok"))
        conversation = [
            codey.Message("user", "first"),
            codey.Message("assistant", "yes"),
            {"role": "user", "content": "and this?"},
        ]
        codey.complete(conversation, attachments=[self.image()], **kwargs_for(fake, "openai"))
        messages = fake.requests[-1].json["messages"]
        assert messages[0] == {"role": "user", "content": "first"}
        assert messages[2]["content"][0] == {"type": "text", "text": "and this?"}
        assert messages[2]["content"][1]["type"] == "image_url"

    def test_xai_takes_no_pdf_before_any_request(self, fake):
        pdf = codey.Attachment.from_bytes(PDF, name="paper.pdf")
        with pytest.raises(codey.UnsupportedOptionError, match="xai cannot take application/pdf"):
            codey.stream("read", attachments=[pdf], **kwargs_for(fake, "xai"))
        assert fake.requests == []

    def test_a_text_only_service_takes_no_attachments(self, fake):
        options = kwargs_for(
            fake, "openai", model="deepseek-chat", base_url=fake.base_url("openai")
        )
        with pytest.raises(codey.UnsupportedOptionError, match="deepseek takes no attachments"):
            codey.stream("look", attachments=[self.image()], **options)
        assert fake.requests == []

    def test_a_pdf_url_cannot_go_to_openai(self, fake):
        url = codey.Attachment.from_url("https://example.com/report.pdf")
        with pytest.raises(codey.UnsupportedOptionError, match="PDF as data"):
            codey.stream("read", attachments=[url], **kwargs_for(fake, "openai"))
        assert fake.requests == []

    @pytest.mark.parametrize("provider", RICH)
    def test_a_message_with_its_own_attachments(self, fake, provider):
        fake.push(answer("ok"))
        message = codey.Message("user", "", attachments=[self.image()])
        codey.complete([message], **kwargs_for(fake, provider))
        content = fake.requests[-1].json["messages"][-1]["content"]
        assert len(content) == 1  # no empty text part
        assert content[0]["type"] in ("image", "image_url")

    def test_bad_attachments_argument(self, fake):
        with pytest.raises(TypeError, match=r"list of codey\.Attachment"):
            codey.stream("x", attachments=["a.png"], **kwargs_for(fake, "openai"))
        with pytest.raises(TypeError, match=r"list of codey\.Attachment"):
            codey.stream("x", attachments=self.image(), **kwargs_for(fake, "openai"))
