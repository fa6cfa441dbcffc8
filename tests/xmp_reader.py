"""An XMP reader for the tests, independent of the code that writes the labels (and of the one
`zimage-site check` uses): it finds the packet where each format's specification puts it, walking
the file's structure (PNG chunks, RIFF chunks, JPEG segments, ISOBMFF boxes), and parses it with
the standard library's ElementTree.

    packet = xmp_packet(data)          # bytes of the packet, None when the format has none
    fields = xmp_fields(packet)        # {"AIGC": {...}, "DigitalSourceType": ..., ...}
"""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "TC260": "http://www.tc260.org.cn/ns/AIGC/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _png(data: bytes) -> bytes | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            if keyword == b"XML:com.adobe.xmp":
                compressed = rest[0]
                assert compressed == 0, "XMP in PNG must not be compressed"
                _lang, _, rest = rest[2:].partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                return text
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def _webp(data: bytes) -> bytes | None:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    pos = 12
    has_flag = False
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if kind == b"VP8X":
            has_flag = bool(data[pos + 8] & 0x04)  # the XMP flag of the extended header
        if kind == b"XMP ":
            assert has_flag, "WebP: an XMP chunk without the VP8X XMP flag"
            return data[pos + 8:pos + 8 + length]
        pos += 8 + length + (length & 1)
    return None


def _jpeg(data: bytes) -> bytes | None:
    header = b"http://ns.adobe.com/xap/1.0/\0"
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: no more metadata segments
            return None
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body.startswith(header):
            return body[len(header):]
        pos += 2 + length
    return None


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        yield kind, pos + header, pos + size
        pos += size


def _avif(data: bytes) -> bytes | None:
    """ISO/IEC 23008-12: an item of type 'mime' with content type application/rdf+xml, located by 'iloc'."""
    meta = next(((b, e) for k, b, e in _boxes(data, 0, len(data)) if k == b"meta"), None)
    assert meta is not None, "AVIF without a meta box"
    mb, me = meta[0] + 4, meta[1]  # a full box: version and flags first
    xmp_item = None
    locations: dict[int, tuple[int, int]] = {}
    for kind, b, e in _boxes(data, mb, me):
        if kind == b"iinf":
            version = data[b]
            first = b + 4 + (2 if version == 0 else 4)
            for k2, b2, e2 in _boxes(data, first, e):
                if k2 != b"infe":
                    continue
                v = data[b2]
                p = b2 + 4
                if v >= 3:
                    item_id = struct.unpack(">I", data[p:p + 4])[0]
                    p += 4
                else:
                    item_id = struct.unpack(">H", data[p:p + 2])[0]
                    p += 2
                p += 2  # protection index
                item_type = data[p:p + 4]
                p += 4
                _name, _, rest = data[p:e2].partition(b"\0")
                if item_type == b"mime" and rest.partition(b"\0")[0] == b"application/rdf+xml":
                    xmp_item = item_id
        elif kind == b"iloc":
            version = data[b]
            p = b + 4
            offset_size, length_size = data[p] >> 4, data[p] & 15
            base_size, index_size = data[p + 1] >> 4, (data[p + 1] & 15) if version in (1, 2) else 0
            p += 2
            count_fmt = ">H" if version < 2 else ">I"
            count = struct.unpack(count_fmt, data[p:p + struct.calcsize(count_fmt)])[0]
            p += struct.calcsize(count_fmt)

            def read(n: int) -> int:
                nonlocal p
                value = int.from_bytes(data[p:p + n], "big") if n else 0
                p += n
                return value

            for _ in range(count):
                item_id = read(2 if version < 2 else 4)
                method = read(2) & 15 if version in (1, 2) else 0
                read(2)  # data reference index
                base = read(base_size)
                extents = read(2)
                assert extents == 1 and method == 0, "one extent in the file itself"
                read(index_size)
                offset, length = read(offset_size), read(length_size)
                locations[item_id] = (base + offset, length)
    if xmp_item is None:
        return None
    offset, length = locations[xmp_item]
    return data[offset:offset + length]


def xmp_packet(data: bytes) -> bytes | None:
    """The XMP packet of a PNG, WebP, JPEG or AVIF file, found through the file's structure."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data.startswith(b"RIFF"):
        return _webp(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data[4:12] == b"ftypavif":
        return _avif(data)
    raise AssertionError(f"not an image format the reader knows: {data[:12]!r}")


def xmp_fields(packet: bytes) -> dict:
    """The labels of a packet: the AIGC JSON (parsed), IPTC's source type and AI fields, dc:description."""
    root = ET.fromstring(packet)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    desc = root.find("rdf:RDF/rdf:Description", NS)
    assert desc is not None
    out: dict = {}
    aigc = desc.find("TC260:AIGC", NS)
    out["AIGC"] = json.loads(aigc.text) if aigc is not None else None
    dst = desc.find("Iptc4xmpExt:DigitalSourceType", NS)
    out["DigitalSourceType"] = dst.text if dst is not None else None
    for name in ("AISystemUsed", "AISystemVersionUsed", "AIPromptInformation"):
        out[name] = desc.get(f"{{{NS['Iptc4xmpExt']}}}{name}")
        if out[name] is None:
            el = desc.find(f"Iptc4xmpExt:{name}", NS)
            out[name] = el.text if el is not None else None
    li = desc.find("dc:description/rdf:Alt/rdf:li", NS)
    out["description"] = li.text if li is not None else None
    return out
