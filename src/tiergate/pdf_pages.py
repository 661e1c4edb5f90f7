"""How many pages a PDF says it has, read from its bytes without a PDF library or parsing one.

The page tree's root says it: its ``/Count`` is every page (a node counts the pages under it, so the root's
is the largest, and the root is the node without a ``/Parent``). Older writers leave it in the file's plain
bytes; PDF 1.5 writers pack every dictionary into compressed object streams (``/Type /ObjStm``), which are
inflated, one after another, until the root shows. Where no page tree node shows, the page objects
(``/Type /Page``) are counted instead. A few regular expressions find what is needed, so a malformed PDF
(bad zlib data, a wrong ``/Length``, a truncated file) yields a rougher count or none, never an error.

    page_count(pdf_bytes)   # 312; None when the PDF shows neither a page tree nor a page
"""

from __future__ import annotations

import bisect
import itertools
import re
import zlib
from collections.abc import Iterator

#: Bytes all of a PDF's object streams may inflate to, together. An object stream holds dictionaries and
#: arrays only (streams stay outside it): a few hundred bytes a page, and a tagged PDF's structure tree, so a
#: 10,000-page PDF's inflate to a few MB. Past this is a zip bomb (zeros deflate 1,000 to 1), which costs no
#: more than twice this memory (while zlib joins its output) and the ~60 ms it takes to inflate and search it;
#: the count then falls back.
INFLATED_BYTES = 16 * 1024 * 1024
#: Bytes an object stream's dictionary may span: its ``obj`` before ``/Type /ObjStm``, its ``stream`` after.
_STREAM_DICTIONARY_BYTES = 1024
#: Bytes an object stream's header (its objects' numbers and offsets) may take: 20,000 objects' worth, where
#: writers pack 100 to 200 objects a stream; a longer one is a bomb, not split into millions of numbers.
_HEADER_BYTES = 256 * 1024

_SPACE = rb"[\x00\t\n\x0c\r ]"
#: After a name: a delimiter or white space (``/Page`` is not ``/Pages``, ``/Type/Page/Parent`` is a page).
_NAME_END = rb"(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"
_PAGES = re.compile(rb"/Type" + _SPACE + rb"*/Pages" + _NAME_END)
_PAGE = re.compile(rb"/Type" + _SPACE + rb"*/Page" + _NAME_END)
#: A direct count (``/Count 12 0 R`` refers to another object); nine digits, so that a lie stays an int64.
_COUNT = re.compile(rb"/Count" + _SPACE + rb"+(\d{1,9})(?!\d)(?!" + _SPACE + rb"+\d+" + _SPACE + rb"+R)")
_PARENT = re.compile(rb"/Parent" + _NAME_END)
_ENDOBJ = re.compile(rb"endobj")
_OBJECT_STREAM = re.compile(rb"/Type" + _SPACE + rb"*/ObjStm" + _NAME_END)
#: Flate alone: a filter chain, or parameters (a predictor), would need more than zlib to decode.
_FLATE = re.compile(
    rb"/Filter" + _SPACE + rb"*(?:/FlateDecode" + _NAME_END + rb"|\[" + _SPACE + rb"*/FlateDecode" + _SPACE + rb"*\])"
)
_DECODE_PARMS = re.compile(rb"/DecodeParms" + _NAME_END)
_FIRST = re.compile(rb"/First" + _SPACE + rb"+(\d{1,9})(?!\d)")
_STREAM = re.compile(rb"(?<![a-z])stream(?:\r\n|\n|\r)")


def page_count(pdf: bytes) -> int | None:
    """The root page tree node's ``/Count``, else the page objects, in the plain bytes and then in each
    object stream until the root shows; None when neither shows."""
    counts: list[int] = []
    pages = 0  # in the object streams, which are not kept; the plain bytes' are counted if need be
    for text, starts in itertools.chain([(pdf, None)], _object_streams(pdf)):
        nodes = list(_page_tree_nodes(text, starts))
        counts += [count for count, _ in nodes]
        if any(root for _, root in nodes):
            return max(counts)
        if starts is not None:
            pages += len(_PAGE.findall(text))
    return max(counts, default=0) or pages + len(_PAGE.findall(pdf)) or None


def _page_tree_nodes(text: bytes, starts: list[int] | None) -> Iterator[tuple[int, bool]]:
    """Each page tree node's ``/Count``, and whether it is the root. ``starts`` are where an object stream's
    objects begin; in the plain bytes (None), each object ends at its ``endobj``. An object is searched
    once, for its first ``/Type /Pages``, so that no text is searched twice."""
    bounds = starts
    searched = -1
    for match in _PAGES.finditer(text):
        if bounds is None:
            bounds = [found.end() for found in _ENDOBJ.finditer(text)]
        if not bounds:
            return
        index = bisect.bisect_right(bounds, match.start())
        if index == searched:
            continue
        searched = index
        begin = bounds[index - 1] if index else 0
        end = bounds[index] if index < len(bounds) else len(text)
        count = _COUNT.search(text, begin, end)
        if count is not None:
            yield int(count[1]), _PARENT.search(text, begin, end) is None


def _object_streams(pdf: bytes) -> Iterator[tuple[bytes, list[int]]]:
    """Each object stream that is Flate alone, inflated, with where its objects begin, while
    :data:`INFLATED_BYTES` lasts. A stream's data runs to its ``endstream`` (zlib stops at the end of its own
    data, so a wrong ``/Length`` does not matter); a stream zlib cannot read is skipped."""
    budget = INFLATED_BYTES
    for match in _OBJECT_STREAM.finditer(pdf):
        if budget <= 0:
            return
        begin = pdf.rfind(b"obj", max(0, match.start() - _STREAM_DICTIONARY_BYTES), match.start())
        stream = _STREAM.search(pdf, match.end(), match.end() + _STREAM_DICTIONARY_BYTES)
        if begin < 0 or stream is None:
            continue
        first = _FIRST.search(pdf, begin, stream.start())
        if first is None or not _FLATE.search(pdf, begin, stream.start()):
            continue
        if _DECODE_PARMS.search(pdf, begin, stream.start()):
            continue
        end = pdf.find(b"endstream", stream.end())
        data = memoryview(pdf)[stream.end() : end if end >= 0 else len(pdf)]
        try:
            text = zlib.decompressobj().decompress(data, budget)
        except zlib.error:
            continue
        budget -= len(text)
        yield text, _object_starts(text, int(first[1]))


def _object_starts(text: bytes, first: int) -> list[int]:
    """Where an inflated object stream's objects begin: its header is ``number offset`` pairs, the offsets
    from ``/First``. Empty where the header is not that (a truncated stream, a bomb)."""
    if first > min(len(text), _HEADER_BYTES):
        return []
    header = text[:first].split()
    if len(header) % 2 or not all(field.isdigit() for field in header):
        return []
    return sorted(first + int(offset) for offset in header[1::2])
