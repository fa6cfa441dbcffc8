"""The images of the page: manifest, store, generation, responsive variants and placeholders.

The engine uses:

    catalog = ImageCatalog.load(root, report)
    catalog.publish(out_dir, base_path, report, allow_placeholders=not strict)
    catalog.view(id, lang, hero=False) / catalog.gallery(ids, lang) / catalog.comparison(set_id, lang)
    catalog.counts   # {"images": …, "placeholders": …}
    generate_missing(root, report)   # `zimage-site build --generate`

Nothing here imports torch or diffusers; generation (`zimage_site.images.generate`) imports them
only when it runs.
"""

from zimage_site.images.catalog import ImageCatalog, generate_missing

__all__ = ["ImageCatalog", "generate_missing"]
