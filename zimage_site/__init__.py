"""zimage-site: the static-site generator of the bilingual Z-Image (造相) landing page."""

__version__ = "0.1.0"
