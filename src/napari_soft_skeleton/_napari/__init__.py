"""The napari side: widgets, sample data and the npe2 manifest (napari.yaml).

Everything that imports napari or Qt lives here; the core library below never
does.
"""
