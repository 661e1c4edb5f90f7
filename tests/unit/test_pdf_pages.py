"""A PDF's pages: its page tree's root ``/Count``, else its page objects, in its plain bytes or its compressed
object streams; else one page per DOCUMENT_PAGE_BYTES. Each case goes through FileData's estimate."""

from __future__ import annotations

import base64
import random
import tracemalloc

import pytest

from tests.helpers import pdf
from tests.pdfs import data_url, object_stream, packed_pdf, plain_pdf, zip_bomb
from tiergate.pdf_pages import INFLATED_BYTES, page_count
from tiergate.wire import DOCUMENT_PAGE_BYTES, DOCUMENT_PAGE_TOKENS, FileData

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"


def pages(document: bytes) -> int:
    """The pages FileData counts ``document`` for: its estimate over 3,000 tokens a page."""
    tokens = FileData(file_data=data_url(document)).estimated_tokens()
    assert tokens % DOCUMENT_PAGE_TOKENS == 0
    return tokens // DOCUMENT_PAGE_TOKENS


def by_size(document: bytes) -> int:
    """The pages ``document`` counts for where it shows none: one per DOCUMENT_PAGE_BYTES."""
    return -(-len(document) // DOCUMENT_PAGE_BYTES)


def page_objects(numbers: range) -> dict[int, bytes]:
    return dict.fromkeys(numbers, PAGE)


def test_a_plain_pdf_counts_its_page_tree_else_its_page_objects() -> None:
    assert pages(base64.b64decode(pdf(7))) == 7
    shown = plain_pdf(*[b"%d 0 obj\n<</Type/Page/Parent 2 0 R>>\nendobj\n" % n for n in range(3, 6)])
    assert pages(shown) == 3
    # A hybrid file: its page tree in the plain bytes, its pages packed out of sight.
    root = b"2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 40 >>\nendobj\n"
    assert pages(plain_pdf(root, object_stream(50, page_objects(range(3, 43))))) == 40


def test_a_page_tree_packed_in_object_streams_counts_by_its_root() -> None:
    assert pages(packed_pdf(300)) == 300
    text = packed_pdf(300, image_bytes=6_300)  # 2 MB: 80 pages by its size
    assert (pages(text), by_size(text)) == (300, 80)
    scan = packed_pdf(1, image_bytes=4_990_000)  # 5 MB: 200 pages by its size
    assert (pages(scan), by_size(scan)) == (1, 200)


@pytest.mark.parametrize("root_last", [False, True], ids=["root-first", "root-last"])
@pytest.mark.parametrize("compact", [False, True], ids=["spaced", "compact"])
def test_a_nested_page_tree_counts_its_root_the_largest(root_last: bool, compact: bool) -> None:
    """25 pages under nodes of 4 kids (``/Count 4``, ``/Count 16``, ...), over object streams of 10 objects."""
    assert pages(packed_pdf(25, fanout=4, per_stream=10, root_last=root_last, compact=compact)) == 25
    assert pages(packed_pdf(1000, fanout=10, root_last=root_last, compact=compact)) == 1000


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        (b"<</Type/Pages/Kids[3 0 R]/Count 9>>", 9),
        (b"<<\r\n/Count\r\n9\r\n/Kids [3 0 R]\r\n/Type\r\n/Pages\r\n>>", 9),
        (b"<< /Type /Pages /Resources << /Font << /F1 7 0 R >> >> /Kids [3 0 R] /Count 9 >>", 9),
        # Not counts: a reference to another object, more pages than a PDF could hold. The page objects count.
        (b"<< /Type /Pages /Kids [3 0 R] /Count 9 0 R >>", 2),
        (b"<< /Type /Pages /Kids [3 0 R] /Count 99999999999 >>", 2),
    ],
)
def test_the_root_is_read_however_its_dictionary_is_spelt(root: bytes, expected: int) -> None:
    assert pages(plain_pdf(object_stream(8, {2: root, 3: PAGE, 4: b"<</Type/Page/Parent 2 0 R>>"}))) == expected


def test_an_object_stream_zlib_cannot_read_is_skipped() -> None:
    tree = object_stream(9, {2: b"<< /Type /Pages /Kids [3 0 R] /Count 12 >>"})
    assert pages(plain_pdf(object_stream(8, page_objects(range(3, 5)), data=b"not zlib data" * 9), tree)) == 12
    # A wrong /Length does not matter: a stream's data runs to its endstream.
    assert pages(plain_pdf(tree.replace(b"/Length ", b"/Length 9"))) == 12
    assert pages(plain_pdf(tree.replace(b"/Length ", b"/Length 0 R "))) == 12


@pytest.mark.parametrize(
    "filters",
    [b"/Filter [/ASCII85Decode /FlateDecode]", b"/Filter /FlateDecode /DecodeParms << /Predictor 12 >>", b""],
    ids=["a-filter-chain", "a-predictor", "no-filter"],
)
def test_an_object_stream_not_flate_alone_is_not_inflated(filters: bytes) -> None:
    """Its data is Flate here, but zlib alone would mis-read the real thing: the size counts instead."""
    document = plain_pdf(object_stream(9, {2: b"<< /Type /Pages /Count 12 >>"}, filters=filters))
    assert pages(document) == by_size(document) == 1


def test_a_zip_bomb_is_inflated_no_further_than_the_cap() -> None:
    """Streams past INFLATED_BYTES, all told, are not read: what was found before counts. The memory it
    takes is twice the cap at most (zlib joins the blocks it inflated into), not the bomb's 64 MiB."""
    before = object_stream(8, page_objects(range(3, 9)))
    after = object_stream(10, {2: b"<< /Type /Pages /Count 50 >>"})
    document = plain_pdf(before, object_stream(9, {}, data=zip_bomb(4 * INFLATED_BYTES)), after)
    tracemalloc.start()
    try:
        assert page_count(document) == 6
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * INFLATED_BYTES + (1 << 20)
    assert by_size(document) < 6


def test_inflating_stops_once_the_root_shows() -> None:
    document = packed_pdf(12) + object_stream(99, {}, data=zip_bomb(4 * INFLATED_BYTES))
    tracemalloc.start()
    try:
        assert page_count(document) == 12
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_a_pdf_that_shows_no_pages_counts_by_its_size() -> None:
    document = plain_pdf(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + b"\x00" * 2 * DOCUMENT_PAGE_BYTES)
    assert pages(document) == by_size(document) == 3
    assert page_count(b"") is None


def test_malformed_pdfs_never_raise() -> None:
    """Cut short, bytes changed or cut out: a count or None, never an error."""
    rng = random.Random(7)
    whole = packed_pdf(30, fanout=4, per_stream=8, root_last=True)
    for _ in range(1000):
        broken = bytearray(whole)
        cut = rng.randrange(len(broken))
        match rng.randrange(3):
            case 0:
                del broken[cut:]
            case 1:
                broken[cut : cut + 8] = rng.randbytes(8)
            case _:
                del broken[cut : cut + rng.randrange(1, 200)]
        assert page_count(bytes(broken)) in {None, *range(100)}
