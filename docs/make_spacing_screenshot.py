"""Make the README's screenshot of the "voxel spacing" readout on an anisotropic volume.

docs/spacing_widget.png: the 256³ vessel sample's mask resampled to a 5×
coarser z (each slice the union of five: 5 × 1 × 1 µm voxels, as a
two-photon stack whose optical sections are thicker than its pixels),
its topological skeleton computed by the Reference skeleton widget with "use
voxel spacing" on (the thinning follows the spacing), drawn in 3D, seen down z,
over the faint mask, with the widget docked: the readout "voxel spacing: 5 × 1 × 1 µm
(z, y, x), from the layer's scale" and what the method does with it.

The script prints how many skeleton voxels the run gave, and how many the
same mask gives on the voxel grid (the switch off), for comparison.

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_spacing_screenshot.py
"""

import sys
from pathlib import Path

import napari
import numpy as np
from qtpy.QtCore import Qt

from make_screenshot import close_toasts, wait  # (this folder: run as a script)
from napari_soft_skeleton import skeletonize
from napari_soft_skeleton._napari._common import single_colour
from napari_soft_skeleton.palette import MASK_COLOUR
from napari_soft_skeleton.samples import load_sample

OUT = Path(__file__).with_name("spacing_widget.png")
SAMPLE = "vessel_256"
STEP = 5  # z-slices merged into one
NAME = f"{SAMPLE} mask, 5 µm slices"


def main():
    sample = load_sample(SAMPLE)
    assert sample.unit == "um" and tuple(sample.spacing) == (1.0, 1.0, 1.0), (sample.unit, sample.spacing)
    n = sample.mask.shape[0] // STEP * STEP
    mask = sample.mask[:n].reshape(n // STEP, STEP, *sample.mask.shape[1:]).any(axis=1).astype(np.uint8)
    spacing = (STEP * sample.spacing[0], *sample.spacing[1:])
    viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
    viewer.window._qt_window.resize(1600, 1000)
    layer = viewer.add_labels(mask, name=NAME, scale=spacing, units=("um",) * 3, opacity=0.4,
                              colormap=single_colour(MASK_COLOUR))
    dock, ref = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Reference skeleton")
    viewer.window._qt_window.resizeDocks([dock], [430], Qt.Orientation.Horizontal)
    ref.layer.value, ref.method.value = layer, "topological"
    assert ref.voxel_spacing.used, "'use voxel spacing' is on by default"
    assert "5 × 1 × 1 µm (z, y, x)" in ref.voxel_spacing.text, ref.voxel_spacing.text
    ref.run()
    wait(ref)
    (skel,) = ref.last_layers
    data = np.asarray(skel.data) != 0
    expected = skeletonize(mask, "topological", spacing=spacing)
    assert np.array_equal(data, expected), "the widget's skeleton is not skeletonize(..., spacing=...)"
    grid = skeletonize(mask, "topological")
    inside = bool(mask[data].all())
    print(f"{NAME}: {int(data.sum())} skeleton voxels with the spacing (all inside the mask: {inside}), "
          f"{int(grid.sum())} on the voxel grid; {int((data != grid).sum())} voxels differ")
    print("readout:", ref.voxel_spacing.text.replace("\n", " | "))
    viewer.layers.selection.active = skel
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.camera.angles = (0, 0, 0)  # looking down z, like a maximum projection: the skeleton inside the vessels
    close_toasts(viewer)
    viewer.screenshot(path=str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


if __name__ == "__main__":
    sys.exit(main())
