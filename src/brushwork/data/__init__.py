"""Data sources: image folders and zips (``files``); datasets for training live beside it."""
