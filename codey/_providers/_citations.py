"""Citations: the providers' citation and annotation objects as :class:`~codey.Citation`.

Each parser counts the text it has put out, so that it can place a citation's
span in the answer. A citation leaves the parser counted back from the end of the
text put out before it (``start`` and ``end`` at most 0 when it cites text that
has arrived); the stream that reads it places it in its own ``text`` (see
``Stream._pull``), whatever came before the request: the rounds of a tool loop,
the parts of a paused answer.
"""

from __future__ import annotations

from typing import Any, Optional

from codey._types import Citation

#: What each of Anthropic's citation location types cites:
#: https://platform.claude.com/docs/en/build-with-claude/citations (char_location,
#: page_location, content_block_location),
#: https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool
#: (web_search_result_location) and
#: https://platform.claude.com/docs/en/build-with-claude/search-results
#: (search_result_location).
_ANTHROPIC_KINDS = {
    "char_location": "document",
    "page_location": "page",
    "content_block_location": "content_block",
    "web_search_result_location": "web",
    "search_result_location": "search_result",
}


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def anthropic_citation(raw: Any, start: int, end: int) -> Optional[Citation]:
    """One of a text block's ``citations``, for the block's span ``start:end``, the
    end of the answer so far.

    Anthropic cites whole text blocks: the span is the block's text.
    """
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    index = raw.get("document_index", raw.get("search_result_index"))
    return Citation(
        start=start - end,
        end=0,
        url=_str(raw.get("url")) or _str(raw.get("source")),
        title=_str(raw.get("title")) or _str(raw.get("document_title")),
        cited_text=_str(raw.get("cited_text")),
        kind=_ANTHROPIC_KINDS.get(str(kind), str(kind or "unknown")),
        document_index=_int(index),
        page=_int(raw.get("start_page_number")),
        file_id=_str(raw.get("file_id")),
        raw=raw,
    )


def anthropic_citations(found: Any, start: int, end: int) -> list[Citation]:
    """A whole text block's ``citations``, the block spanning ``start:end``, the end
    of the answer so far."""
    if not isinstance(found, list):
        return []
    citations = (anthropic_citation(raw, start, end) for raw in found)
    return [citation for citation in citations if citation is not None]


def openai_citation(annotation: Any, base: int, here: int) -> Optional[Citation]:
    """An OpenAI annotation of a piece of text that begins at ``base`` in the answer,
    whose text so far is ``here`` long.

    The Responses API's ``output_text`` annotations (``url_citation``,
    ``file_citation``, ``container_file_citation``; offsets into that part's text:
    https://platform.openai.com/docs/api-reference/responses/object) and Chat
    Completions' (``{"type": "url_citation", "url_citation": {...}}``, offsets into
    the message's content: https://platform.openai.com/docs/guides/tools-web-search).
    A ``file_path`` (a link to a generated file) cites nothing: None.
    """
    if not isinstance(annotation, dict):
        return None
    kind = annotation.get("type")
    nested = annotation.get(kind)  # Chat Completions nests the fields under the type
    fields: dict[str, Any] = nested if isinstance(nested, dict) else annotation
    if kind == "file_citation":
        # A file search result, cited at one position of the text (``index``).
        index = _int(fields.get("index"))
        start = end = base + (index or 0)
    else:
        first, last = _int(fields.get("start_index")), _int(fields.get("end_index"))
        if kind != "url_citation" and kind != "container_file_citation" and first is None:
            return None
        start = base + (first or 0)
        end = base + (last if last is not None else first or 0)
    return Citation(
        start=start - here,
        end=max(start, end) - here,
        url=_str(fields.get("url")),
        title=_str(fields.get("title")) or _str(fields.get("filename")),
        # OpenAI quotes nothing; OpenRouter sends the passage as ``content``.
        cited_text=_str(fields.get("content")),
        kind="web" if kind == "url_citation" else "file" if "file" in str(kind) else str(kind),
        file_id=_str(fields.get("file_id")),
        raw=annotation,
    )


def openai_citations(annotations: Any, base: int, here: int) -> list[Citation]:
    """A whole text's ``annotations`` (the text begins at ``base`` in the answer,
    whose text so far is ``here`` long)."""
    if not isinstance(annotations, list):
        return []
    citations = (openai_citation(annotation, base, here) for annotation in annotations)
    return [citation for citation in citations if citation is not None]
