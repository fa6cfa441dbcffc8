"""The labels a generated image carries in its own file: one small XMP packet.

China's 《人工智能生成合成内容标识办法》 (in force since 2025-09-01) asks that AI-generated images
carry an implicit label in their metadata; the national standard GB 45438-2025 defines it for
images as the XMP property `AIGC` in the namespace http://www.tc260.org.cn/ns/AIGC/1.0/ (prefix
TC260), whose value is a JSON object:

    Label              "1": the content is AI-generated
    ContentProducer    who generated it (site.yaml `aigc.producer`)
    ProduceID          the producer's number for the content: the image's store key, a SHA-256 of
                       everything that made its pixels (prompt, seed, size, steps, guidance, model,
                       revision, dtype), the same for the master PNG and every published variant
    ReservedCode1      reserved for the producer's own integrity data; left empty
    ContentPropagator  who publishes it (site.yaml `aigc.propagator`); empty in the master PNG
    PropagateID        the propagator's number for the file: its path in the published site
                       (`img/<id>.<sha256[:10]>.<width>.<ext>`); empty in the master PNG
    ReservedCode2      reserved for the propagator's own integrity data; left empty

The same packet holds IPTC's digital source type `trainedAlgorithmicMedia` and, from the IPTC Photo
Metadata Standard 2025.1, `AISystemUsed` (the model), `AISystemVersionUsed` (its revision) and
`AIPromptInformation` (the prompt), with seed, steps and guidance in `dc:description`.

Every value is XML-escaped (and characters XML cannot hold are replaced), so a prompt cannot
change the packet's structure. The packet has no padding and no `<?xpacket?>` wrapper (Pillow
stores it in the format's own place: a PNG iTXt chunk, WebP's XMP chunk, an AVIF metadata item,
a JPEG APP1 segment), about 1 KB with a long Chinese prompt.

`find_packet()` and `read_label()` read a packet back from a file's bytes (`zimage-site check`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from xml.sax.saxutils import escape

AIGC_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DC_NS = "http://purl.org/dc/elements/1.1/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X_NS = "adobe:ns:meta/"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# The fields of the AIGC JSON, in the order GB 45438-2025 lists them.
AIGC_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
               "ReservedCode2")
# Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_PACKET = 64 * 1024  # a reader refuses larger packets (ours are about 1 KB)


def _text(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _attr(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)), {'"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


def _number(value: float) -> str:
    return f"{float(value):g}"


@dataclass(frozen=True)
class ImageLabel:
    """What the labels say about one generated image (one stored PNG), before a file name is known."""

    image_id: str
    key: str            # the store key (ProduceID)
    model: str
    model_revision: str | None
    prompt: str
    seed: int
    steps: int
    guidance: float
    producer: str
    propagator: str = ""

    @classmethod
    def from_provenance(cls, prov: dict, producer: str, propagator: str = "") -> "ImageLabel":
        return cls(image_id=str(prov["id"]), key=str(prov["key"]), model=str(prov["model"]),
                   model_revision=None if prov.get("model_revision") is None else str(prov["model_revision"]),
                   prompt=str(prov["prompt"]), seed=int(prov["seed"]), steps=int(prov["steps"]),
                   guidance=float(prov["guidance_scale"]), producer=producer, propagator=propagator)

    @property
    def digest(self) -> str:
        """A digest of everything the label holds except the file name (part of the variant cache key)."""
        data = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(data).hexdigest()

    def aigc(self, published: str = "") -> dict:
        """The GB 45438-2025 JSON of a file published as `published` ("" for the master PNG)."""
        return {"Label": "1", "ContentProducer": self.producer, "ProduceID": self.key, "ReservedCode1": "",
                "ContentPropagator": self.propagator if published else "",
                "PropagateID": published, "ReservedCode2": ""}

    def description(self) -> str:
        return f"AI-generated: seed {self.seed}, {self.steps} steps, guidance {_number(self.guidance)}"

    def packet(self, published: str = "") -> bytes:
        """The XMP packet (UTF-8) of the master PNG (published="") or of a published file."""
        aigc = json.dumps(self.aigc(published), ensure_ascii=False, separators=(",", ":"))
        # The two labels are elements (as the TC260 practice guide's tools write them); the AI
        # fields are attributes of rdf:Description (RDF's short form: the same data, fewer bytes).
        ai = f' Iptc4xmpExt:AISystemUsed="{_attr(self.model)}"'
        if self.model_revision:
            ai += f' Iptc4xmpExt:AISystemVersionUsed="{_attr(self.model_revision)}"'
        ai += f' Iptc4xmpExt:AIPromptInformation="{_attr(self.prompt)}"'
        parts = [
            f'<x:xmpmeta xmlns:x="{X_NS}"><rdf:RDF xmlns:rdf="{RDF_NS}">',
            f'<rdf:Description rdf:about="" xmlns:TC260="{AIGC_NS}" xmlns:Iptc4xmpExt="{IPTC_EXT_NS}" '
            f'xmlns:dc="{DC_NS}"{ai}>',
            f"<TC260:AIGC>{_text(aigc)}</TC260:AIGC>",
            f"<Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>",
            f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_text(self.description())}</rdf:li>'
            "</rdf:Alt></dc:description>",
            "</rdf:Description></rdf:RDF></x:xmpmeta>",
        ]
        return "".join(parts).encode("utf-8")


# --------------------------------------------------------------------------- reading

def find_packet(data: bytes) -> bytes | None:
    """The XMP packet (`<x:xmpmeta>…</x:xmpmeta>`) in a file's bytes, None when there is none. All
    four formats store XMP uncompressed, so a scan of the bytes finds it wherever the format keeps it."""
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return None
    end = data.find(b"</x:xmpmeta>", start, start + MAX_PACKET)
    if end < 0:
        return None
    return data[start:end + len(b"</x:xmpmeta>")]


@dataclass
class ReadLabel:
    """The labels read back from a packet; `problems` says what is missing or wrong."""

    aigc: dict | None
    source_type: str | None
    problems: list[str]


def read_label(packet: bytes | None) -> ReadLabel:
    """Parse a packet (lxml, no entities, no network) and check the labels a generated image must
    carry: the AIGC JSON with Label "1" and every field present (producer and propagator not
    empty), and IPTC's trainedAlgorithmicMedia."""
    if packet is None:
        return ReadLabel(None, None, ["no XMP metadata"])
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(packet, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return ReadLabel(None, None, [f"the XMP metadata is not well-formed XML ({exc})"])
    problems: list[str] = []
    aigc_el = root.find(f".//{{{AIGC_NS}}}AIGC")
    if aigc_el is None:  # the property may also be written as an attribute of rdf:Description
        for desc in root.iter(f"{{{RDF_NS}}}Description"):
            if f"{{{AIGC_NS}}}AIGC" in desc.attrib:
                aigc_text = desc.attrib[f"{{{AIGC_NS}}}AIGC"]
                break
        else:
            aigc_text = None
    else:
        aigc_text = aigc_el.text or ""
    aigc: dict | None = None
    if aigc_text is None:
        problems.append("no GB 45438-2025 label (TC260:AIGC)")
    else:
        try:
            value = json.loads(aigc_text)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            problems.append("the TC260:AIGC label is not a JSON object")
        else:
            aigc = value
            missing = [f for f in AIGC_FIELDS if not isinstance(value.get(f), str)]
            if missing:
                problems.append("the TC260:AIGC label lacks " + ", ".join(missing))
            elif value["Label"] != "1":
                problems.append(f'the TC260:AIGC label says Label {value["Label"]!r}, not "1" (generated)')
            else:
                empty = [f for f in ("ContentProducer", "ProduceID", "ContentPropagator", "PropagateID")
                         if not value[f].strip()]
                if empty:
                    problems.append("the TC260:AIGC label has an empty " + ", ".join(empty))
    dst = root.find(f".//{{{IPTC_EXT_NS}}}DigitalSourceType")
    source_type = None
    if dst is not None:
        source_type = (dst.text or "").strip()
    else:
        for desc in root.iter(f"{{{RDF_NS}}}Description"):
            if f"{{{IPTC_EXT_NS}}}DigitalSourceType" in desc.attrib:
                source_type = desc.attrib[f"{{{IPTC_EXT_NS}}}DigitalSourceType"].strip()
    if source_type != TRAINED_ALGORITHMIC_MEDIA:
        problems.append("no IPTC DigitalSourceType trainedAlgorithmicMedia"
                        + (f" (it says {source_type!r})" if source_type else ""))
    return ReadLabel(aigc, source_type, problems)
