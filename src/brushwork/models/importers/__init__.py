"""Importers of foreign weights files: every module here calls
:func:`brushwork.models.register_importer` (``brushwork models import FORMAT SOURCE -o DIR``).

The hub imports all of them the first time the importers are listed or one is looked up.
"""
