"""The images of the page: manifest, store, generation, responsive variants and placeholders.

The engine uses:

    catalog = ImageCatalog.load(root, report)   # the manifest and the stored images it finds
    catalog.counts   # {"images": …, "placeholders": …}
    images = catalog.prepare(base_path, report, allow_placeholders=not strict)   # the images phase
    images.files     # what the writer puts in the output folder
    images.view(id, lang, hero=False, layout=…) / images.gallery(ids, lang, layout) / images.comparison(set_id, lang, layout)
    generate_missing(root, report)   # `zimage-site build --generate`

Nothing here imports torch or diffusers; generation (`zimage_site.images.generate`) imports them
only when it runs.
"""

from zimage_site.images.catalog import ImageCatalog, generate_missing

__all__ = ["ImageCatalog", "generate_missing"]
