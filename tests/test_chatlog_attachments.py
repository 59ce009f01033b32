"""Chat logs that attach files: ``![attachment](TARGET)`` lines in user messages."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import codey
from codey._chatlog import ChatSettings, Escaper, escape_delimiters, format_chat, mark_interrupted
from tests.test_attachments import PDF, PNG


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "photo.png").write_bytes(PNG)
    (tmp_path / "my paper (v2).pdf").write_bytes(PDF)
    return tmp_path


class TestParse:
    def test_a_reference_line_becomes_an_attachment(self, folder: Path) -> None:
        text = "what is this?\n\n![attachment](photo.png)\n\n# === ASSISTANT ===\n\nA cat."
        chat = codey.parse_chat(text, base_dir=str(folder))
        first = chat.messages[0]
        assert first.content == "what is this?"
        [image] = first.attachments
        assert (image.mime, image.data, image.path) == ("image/png", PNG, "photo.png")
        assert chat.messages[1] == codey.Message("assistant", "A cat.")

    def test_angle_brackets_labels_urls_and_data(self, folder: Path) -> None:
        data = base64.b64encode(PNG).decode()
        text = (
            "read these\n"
            "![attachment: the paper](<my paper (v2).pdf>)\n"
            "![attachment](https://example.com/cat.jpg)\n"
            f"![attachment](data:image/png;base64,{data})\n"
            "and tell me"
        )
        [message] = codey.parse_chat(text, base_dir=str(folder)).messages
        assert message.content == "read these\nand tell me"
        paper, cat, inline = message.attachments
        assert (paper.mime, paper.path) == ("application/pdf", "my paper (v2).pdf")
        assert (cat.url, cat.data) == ("https://example.com/cat.jpg", None)
        assert (inline.data, inline.path) == (PNG, None)

    def test_a_message_of_attachments_only_is_kept(self, folder: Path) -> None:
        text = "# === USER ===\n\n![attachment](photo.png)\n"
        [message] = codey.parse_chat(text, base_dir=str(folder)).messages
        assert message.content == ""
        assert len(message.attachments) == 1

    def test_only_user_messages_attach(self, folder: Path) -> None:
        text = "hi\n\n# === ASSISTANT ===\n\n![attachment](photo.png)\n"
        chat = codey.parse_chat(text, base_dir=str(folder))
        assert chat.messages[1] == codey.Message("assistant", "![attachment](photo.png)")

    def test_an_ordinary_image_or_an_inline_reference_is_text(self, folder: Path) -> None:
        text = "see ![diagram](photo.png) and ![attachment](photo.png) inline\n![logo](photo.png)"
        [message] = codey.parse_chat(text, base_dir=str(folder)).messages
        assert message.attachments == ()
        assert message.content == text

    def test_paths_are_relative_to_base_dir_else_the_current_directory(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with pytest.raises(FileNotFoundError):
            codey.parse_chat("x\n![attachment](photo.png)")
        monkeypatch.chdir(folder)
        assert codey.parse_chat("x\n![attachment](photo.png)").messages[0].attachments

    def test_a_missing_or_unsupported_file_is_an_error(self, folder: Path) -> None:
        (folder / "notes.txt").write_text("plain")
        with pytest.raises(FileNotFoundError, match=r"gone\.png"):
            codey.parse_chat("x\n![attachment](gone.png)", base_dir=str(folder))
        with pytest.raises(codey.AttachmentError, match=r"notes\.txt"):
            codey.parse_chat("x\n![attachment](notes.txt)", base_dir=str(folder))

    def test_mark_interrupted_keeps_them(self, folder: Path) -> None:
        chat = mark_interrupted("look\n![attachment](photo.png)", base_dir=str(folder))
        assert chat.messages[0].attachments[0].path == "photo.png"


class TestWrite:
    def test_round_trip(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(folder)
        messages = [
            codey.Message(
                "user",
                "compare",
                attachments=[
                    codey.Attachment.from_path("photo.png"),
                    codey.Attachment.from_path("my paper (v2).pdf"),
                    codey.Attachment.from_url("https://example.com/cat.jpg"),
                ],
            ),
            codey.Message("assistant", "Alike."),
            codey.Message("user", "", attachments=[codey.Attachment.from_bytes(PNG)]),
        ]
        text = format_chat(messages)
        assert "![attachment](photo.png)\n![attachment](<my paper (v2).pdf>)\n" in text
        assert "![attachment](data:image/png;base64," in text
        assert codey.parse_chat(text).messages == messages

    def test_paths_are_written_relative_to_the_log(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        logs = folder / "logs"
        logs.mkdir()
        monkeypatch.chdir(folder)
        message = codey.Message("user", "x", attachments=[codey.Attachment.from_path("photo.png")])
        text = format_chat([message], base_dir=str(logs))
        assert text == "x\n\n![attachment](../photo.png)"
        # Outside the log's folder: read back only where allowed.
        [back] = codey.parse_chat(text, base_dir=str(logs), attach_from=[str(folder)]).messages
        assert back.attachments[0].data == PNG

    def test_a_text_line_that_looks_like_a_reference_is_escaped(self, folder: Path) -> None:
        content = "write this line:\n![attachment](photo.png)\n\\![attachment](x)"
        text = escape_delimiters(content)
        assert text == "write this line:\n\\![attachment](photo.png)\n\\\\![attachment](x)"
        [message] = codey.parse_chat(text, base_dir=str(folder)).messages
        assert message.content == content
        assert message.attachments == ()

    def test_the_streaming_escaper_holds_a_possible_lead(self) -> None:
        escaper = Escaper(ChatSettings())
        written = escaper.feed("ok\n![att")
        assert written == "ok\n"
        written += escaper.feed("achment](a.png)\n!nope\n")
        written += escaper.flush()
        assert written == "ok\n\\![attachment](a.png)\n!nope\n"


class TestAllowedFolders:
    """A log attaches only files inside base_dir or attach_from, symlinks resolved."""

    @pytest.fixture
    def logs(self, folder: Path) -> Path:
        logs = folder / "logs"
        logs.mkdir()
        (logs / "inside.png").write_bytes(PNG)
        (logs / "leak.png").symlink_to(folder / "photo.png")
        return logs

    @pytest.mark.parametrize(
        "target", ["../photo.png", "leak.png", "ABSOLUTE", "sub/../../photo.png"]
    )
    def test_outside_is_refused(self, logs: Path, target: str) -> None:
        if target == "ABSOLUTE":
            target = str(logs.parent / "photo.png")
        with pytest.raises(codey.AttachmentError, match="outside the chat log's folder") as caught:
            codey.parse_chat(f"q\n![attachment]({target})", base_dir=str(logs))
        assert str(caught.value).startswith(target)

    def test_inside_and_allowed(self, logs: Path) -> None:
        text = "q\n![attachment](inside.png)\n![attachment](leak.png)"
        chat = codey.parse_chat(text, base_dir=str(logs), attach_from=[str(logs.parent)])
        assert [a.path for a in chat.messages[0].attachments] == ["inside.png", "leak.png"]

    def test_the_current_folder_without_base_dir(
        self, logs: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(logs)
        assert codey.parse_chat("q\n![attachment](inside.png)").messages[0].attachments
        with pytest.raises(codey.AttachmentError, match="the current folder"):
            codey.parse_chat("q\n![attachment](../photo.png)")
