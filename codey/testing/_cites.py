"""The citations of a :class:`~codey.testing.Text` piece in each provider's form.

Sources: https://platform.claude.com/docs/en/build-with-claude/citations (the
location types, ``citations_delta``),
https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool
(``web_search_result_location``) and
https://platform.openai.com/docs/guides/tools-web-search (``url_citation``, in the
Responses API and Chat Completions).
"""

from __future__ import annotations

from typing import Any

from codey.testing._steps import Source


def anthropic_citation(source: Source) -> dict[str, Any]:
    """A Messages citation of ``source``."""
    text = source.cited_text
    if source.kind == "web":
        return {
            "type": "web_search_result_location",
            "cited_text": text,
            "url": source.url,
            "title": source.title,
            "encrypted_index": "RmFrZSBlbmNyeXB0ZWQgaW5kZXg=",
        }
    if source.kind == "search_result":
        return {
            "type": "search_result_location",
            "cited_text": text,
            "source": source.url,
            "title": source.title,
            "search_result_index": source.document_index,
            "start_block_index": 0,
            "end_block_index": 1,
        }
    where: dict[str, Any] = {
        "cited_text": text,
        "document_index": source.document_index,
        "document_title": source.title,
    }
    if source.kind == "page":
        pages = {"start_page_number": source.page, "end_page_number": source.page + 1}
        return {"type": "page_location", **where, **pages}
    if source.kind == "content_block":
        blocks = {"start_block_index": 0, "end_block_index": 1}
        return {"type": "content_block_location", **where, **blocks}
    return {"type": "char_location", **where, "start_char_index": 0, "end_char_index": len(text)}


def responses_annotation(source: Source, start: int, end: int) -> dict[str, Any]:
    """A Responses ``output_text`` annotation of ``source`` for ``start:end`` of the part."""
    if source.kind == "web":
        span = {"start_index": start, "end_index": end}
        return {"type": "url_citation", **span, "url": source.url, "title": source.title}
    return {
        "type": "file_citation",
        "file_id": source.file_id,
        "filename": source.title,
        "index": end,
    }


def chat_annotations(sources: tuple[Source, ...], start: int, end: int) -> list[dict[str, Any]]:
    """The Chat Completions annotations of ``sources`` (``start:end`` of the content):
    Chat Completions cites only URLs, so only the ``"web"`` sources have one."""
    return [
        {
            "type": "url_citation",
            "url_citation": {
                "start_index": start,
                "end_index": end,
                "url": source.url,
                "title": source.title,
            },
        }
        for source in sources
        if source.kind == "web"
    ]
