"""PDFs as PDF 1.5+ writers (qpdf, pikepdf, Acrobat, pdfTeX) save them: every dictionary packed into
FlateDecode object streams (``/Type /ObjStm``), found through a cross-reference stream (``/Type /XRef``), so
that no ``/Type /Page`` shows in the file's plain bytes; each page's content and image streams stay outside.

    packed_pdf(300)                                    # 300 pages, all in one object stream
    packed_pdf(25, fanout=4, per_stream=10)            # a nested page tree, spread over 8 object streams
    packed_pdf(1, image_bytes=5_000_000)               # a one-page scan: a 5 MB image
"""

from __future__ import annotations

import base64
import random
import struct
import zlib
from dataclasses import dataclass, field

#: The first object a page tree's nodes and pages may take: 1 is the catalog.
_FIRST_NODE = 2


@dataclass
class _Writer:
    """Objects numbered as they are added; each either plain (written as ``N 0 obj``) or packed."""

    compact: bool
    dictionaries: dict[int, bytes] = field(default_factory=dict)
    streams: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)

    def name(self, key: str, value: str) -> bytes:
        return f"/{key}/{value}".encode() if self.compact else f"/{key} /{value}".encode()

    def dictionary(self, *entries: bytes) -> bytes:
        return (b"<<" + b"".join(entries) + b">>") if self.compact else b"<< " + b" ".join(entries) + b" >>"


def packed_pdf(
    pages: int,
    *,
    fanout: int = 0,
    per_stream: int = 100,
    root_last: bool = False,
    compact: bool = False,
    image_bytes: int = 0,
    seed: int = 0,
) -> bytes:
    """A PDF of ``pages`` pages whose page tree is only inside object streams.

    ``fanout``: kids per page tree node (0: one flat root); ``per_stream``: objects an object stream holds
    (qpdf's default, 100); ``root_last``: the root node is written after the nodes under it (as pdfTeX does);
    ``compact``: ``/Type/Pages`` without spaces, and a node's keys sorted (``/Count`` before ``/Type``, as qpdf
    writes them);
    ``image_bytes``: each page shows an image of this many incompressible bytes (a scan).
    """
    writer = _Writer(compact)
    rng = random.Random(seed)
    leaves = list(range(_FIRST_NODE, _FIRST_NODE + pages))
    number = _FIRST_NODE + pages
    # The tree bottom-up: each level groups the one below into nodes of `fanout` kids.
    levels: list[list[tuple[int, list[int]]]] = []
    below = leaves
    while fanout and len(below) > fanout:
        groups = [below[i : i + fanout] for i in range(0, len(below), fanout)]
        levels.append([(number + i, kids) for i, kids in enumerate(groups)])
        number += len(groups)
        below = [node for node, _ in levels[-1]]
    root = number
    number += 1
    levels.append([(root, below)])
    parents = {kid: node for level in levels for node, kids in level for kid in kids}
    leaf_count = {leaf: 1 for leaf in leaves}
    for level in levels:
        for node, kids in level:
            leaf_count[node] = sum(leaf_count[kid] for kid in kids)
    writer.dictionaries[1] = writer.dictionary(writer.name("Type", "Catalog"), b"/Pages %d 0 R" % root)
    for leaf in leaves:
        content = number
        number += 1
        entries = [writer.name("Type", "Page"), b"/Parent %d 0 R" % parents[leaf], b"/Contents %d 0 R" % content]
        entries.append(b"/MediaBox [0 0 612 792]")
        text = b"BT /F1 12 Tf 72 720 Td (Page %d) Tj ET" % (leaf - _FIRST_NODE + 1)
        if image_bytes:
            image = number
            number += 1
            entries.append(b"/Resources << /XObject << /Im0 %d 0 R >> >>" % image)
            writer.streams[image] = (
                b"/Type /XObject /Subtype /Image /Width 1000 /Height 1000 /BitsPerComponent 8"
                b" /ColorSpace /DeviceGray /Filter /DCTDecode",
                rng.randbytes(image_bytes),
            )
            text += b" q 612 0 0 792 0 0 cm /Im0 Do Q"
        writer.dictionaries[leaf] = writer.dictionary(*entries)
        writer.streams[content] = (b"/Filter /FlateDecode", zlib.compress(text))
    for level in levels:
        for node, kids in level:
            entries = [
                b"/Count %d" % leaf_count[node],
                b"/Kids [" + b" ".join(b"%d 0 R" % kid for kid in kids) + b"]",
                *([b"/Parent %d 0 R" % parents[node]] if node in parents else []),
                writer.name("Type", "Pages"),
            ]
            writer.dictionaries[node] = writer.dictionary(*(entries if compact else [entries[-1], *entries[:-1]]))
    order = sorted(writer.dictionaries)
    if root_last:
        order = [n for n in order if n != root] + [root]
    return _serialize(writer, order, number, per_stream)


def _serialize(writer: _Writer, order: list[int], number: int, per_stream: int) -> bytes:
    """The file: header, streams, object streams of the dictionaries in ``order``, the cross-reference stream."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    # Entry per object: (type, field 2, field 3): 1 is (offset, 0), 2 is (object stream, index in it).
    xref: dict[int, tuple[int, int, int]] = {0: (0, 0, 0xFFFF)}
    for n, (dictionary, data) in sorted(writer.streams.items()):
        xref[n] = (1, len(out), 0)
        out += b"%d 0 obj\n<< %s /Length %d >>\nstream\n" % (n, dictionary, len(data)) + data + b"\nendstream\nendobj\n"
    chunks = [order[i : i + per_stream] for i in range(0, len(order), per_stream)]
    for chunk in chunks:
        stream = number
        number += 1
        xref.update((n, (2, stream, index)) for index, n in enumerate(chunk))
        xref[stream] = (1, len(out), 0)
        out += object_stream(stream, {n: writer.dictionaries[n] for n in chunk})
    xref_number = number
    xref[xref_number] = (1, len(out), 0)
    rows = b"".join(struct.pack(">BIH", *xref.get(n, (0, 0, 0))) for n in range(xref_number + 1))
    data = zlib.compress(rows)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n" % (
        xref_number,
        xref_number + 1,
        len(data),
    )
    out += data + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref[xref_number][1]
    return bytes(out)


def object_stream(
    number: int, objects: dict[int, bytes], *, filters: bytes = b"/Filter /FlateDecode", data: bytes | None = None
) -> bytes:
    """Object ``number``, an object stream holding ``objects`` (number: dictionary) deflated, with ``filters``
    as its dictionary says them; ``data`` stands instead of the deflated objects (bad zlib data, a bomb).

        object_stream(9, {2: b"<< /Type /Pages /Count 3 /Kids [3 0 R 4 0 R 5 0 R] >>"})
    """
    header, body = bytearray(), bytearray()
    for n, dictionary in objects.items():
        header += b"%d %d " % (n, len(body))
        body += dictionary + b"\n"
    if data is None:
        data = zlib.compress(bytes(header + body))
    return (
        b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d %s /Length %d >>\nstream\n"
        % (number, len(objects), len(header), filters, len(data))
        + data
        + b"\nendstream\nendobj\n"
    )


def plain_pdf(*objects: bytes) -> bytes:
    """A PDF of these objects as written (``N 0 obj ... endobj``, object streams), with no cross-reference."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"".join(objects) + b"%%EOF\n"


def zip_bomb(size: int) -> bytes:
    """``size`` zero bytes deflated (about a thousandth of that), without holding them all at once."""
    deflate, block = zlib.compressobj(9), bytes(1 << 20)
    return b"".join(deflate.compress(block) for _ in range(size >> 20)) + deflate.flush()


def data_url(pdf: bytes) -> str:
    """``pdf`` as a PDF data URL, as FileData.file_data holds it."""
    return "data:application/pdf;base64," + base64.b64encode(pdf).decode()
