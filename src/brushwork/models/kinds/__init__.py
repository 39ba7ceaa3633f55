"""Kinds of the model hub: every module here calls :func:`brushwork.models.register_kind`.

The hub imports all of them the first time it meets a kind it does not know, so a kind
registered here is found without its module being imported first.
"""
