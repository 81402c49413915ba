"""Make the README's screenshot of a chunk-by-chunk run on a multiscale OME-Zarr volume.

docs/lazy_widget.png: the 256³ vessel sample's mask written as a two-level
OME-Zarr pyramid (256³ and 128³, 64³ chunks) in a temporary folder, opened
lazily (a dask array per level: nothing is loaded whole), and the Soft
skeleton widget running on it chunk by chunk, caught half way (the script
holds the writes back once half the chunks are written, until the picture is
taken: under Xvfb the software-drawn window is far slower than the run): the
result
layer "… (computing)" is a multiscale layer over the run's temporary store,
already showing the chunks that are done, seen from the side (z runs down
the picture: the upper half, the chunks done first, has its skeleton; the
lower half only the faint mask).  In 3D napari draws the coarser level, a
maximum over 2×2×2 voxels of the skeleton.  The activity dock counts chunks
(its bar; the count beside it is napari's, updated less often).

The run is then left to finish, and the script checks that the result equals
the in-memory soft skeleton of the mask, bit for bit, and that removing the
layer deletes the temporary store.

Run:  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_lazy_screenshot.py
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask.array as da
import napari
import numpy as np
import zarr
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from make_screenshot import close_toasts, wait  # (this folder: run as a script)
from napari_soft_skeleton import skeletonize
from napari_soft_skeleton._napari import _lazy_compute
from napari_soft_skeleton._napari._lazy_store import store_of
from napari_soft_skeleton.samples import load_sample

OUT = Path(__file__).with_name("lazy_widget.png")
SAMPLE = "vessel_256"
ITERATIONS = 10
CHUNK = 64


def write_ome_zarr(folder: Path, mask: np.ndarray, spacing) -> Path:
    """A two-level NGFF 0.4 pyramid (the second level: the maximum over 2×2×2 voxels)."""
    path = folder / f"{SAMPLE}.ome.zarr"
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    level, datasets = mask.astype(np.uint8), []
    for i in range(2):
        root.create_array(str(i), shape=level.shape, chunks=(CHUNK,) * 3, dtype=level.dtype)[...] = level
        datasets.append({"path": str(i), "coordinateTransformations": [
            {"type": "scale", "scale": [s * 2 ** i for s in spacing]}]})
        level = level.reshape(level.shape[0] // 2, 2, level.shape[1] // 2, 2, level.shape[2] // 2, 2).max(axis=(1, 3, 5))
    root.attrs["multiscales"] = [{"version": "0.4", "name": SAMPLE, "datasets": datasets,
                                  "axes": [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]}]
    return path


def open_ome_zarr(path: Path):
    """The pyramid as napari takes it: one dask array per level, and level 0's scale."""
    root = zarr.open_group(str(path), mode="r")
    (multiscale,) = root.attrs["multiscales"]
    levels = [da.from_zarr(root[d["path"]]) for d in multiscale["datasets"]]
    scale = multiscale["datasets"][0]["coordinateTransformations"][0]["scale"]
    return levels, tuple(scale)


def hold_back_after(count: int) -> threading.Event:
    """Make the run's chunk writes wait, after the first ``count``, until the returned event is set."""
    resume, written, lock, write = threading.Event(), [0], threading.Lock(), _lazy_compute._write

    def held(*args, **kwargs):
        with lock:
            written[0] += 1
            wait = written[0] > count
        if wait:
            resume.wait()
        return write(*args, **kwargs)

    _lazy_compute._write = held
    return resume


def main():
    sample = load_sample(SAMPLE)
    with tempfile.TemporaryDirectory() as folder:
        path = write_ome_zarr(Path(folder), sample.mask, sample.spacing)
        levels, scale = open_ome_zarr(path)
        viewer = napari.Viewer(show=True, title="napari-soft-skeleton")
        viewer.window._qt_window.resize(1600, 1000)
        source = viewer.add_image(levels, multiscale=True, name=f"{SAMPLE} (OME-Zarr, 2 levels)", scale=scale,
                                  units=("um",) * 3, colormap="gray", opacity=0.25, blending="additive",
                                  contrast_limits=(0, 1))
        dock, soft = viewer.window.add_plugin_dock_widget("napari-soft-skeleton", "Soft skeleton")
        viewer.window._qt_window.resizeDocks([dock], [430], Qt.Orientation.Horizontal)
        soft.layer.value, soft.iterations.value = source, ITERATIONS
        viewer.dims.set_point(0, 128)
        chunks = (sample.mask.shape[0] // CHUNK) ** 3
        resume = hold_back_after(chunks // 2)
        t0 = time.perf_counter()
        soft.run()
        run, app = soft.lazy_run, QApplication.instance()
        while soft.job.running and run.done < chunks // 2:
            app.processEvents()
            time.sleep(0.01)
        (layer,) = run.layers
        # (drawn in 3D only now: under Xvfb, software OpenGL draws a 3D view so slowly that it holds up the run)
        viewer.dims.ndisplay = 3
        viewer.reset_view()
        viewer.camera.angles = (0, 0, 0)  # from the side: z runs down the picture, as the chunks are done
        activity = viewer.window._qt_window._activity_dialog  # the progress bar, counting chunks
        activity.resize(640, activity.height())
        activity.move_to_bottom_right()
        activity.show()
        for _ in range(30):  # let the refresh that follows the last chunks land
            app.processEvents()
            time.sleep(0.02)
        close_toasts(viewer)
        viewer.screenshot(path=str(OUT), canvas_only=False)
        print(f"wrote {OUT} at {run.done} of {run.total} chunks ('{layer.name}')")
        viewer.dims.ndisplay = 2
        viewer.window._qt_window._activity_dialog.hide()
        resume.set()
        wait(soft)
        print(f"the run took {time.perf_counter() - t0:.1f} s; status: {soft.status.value!r}")
        expected = skeletonize(sample.mask, "soft", iterations=ITERATIONS)
        got = np.asarray(layer.data[0]) != 0
        assert layer.name == f"{source.name} soft skeleton (k={ITERATIONS})", layer.name
        assert np.array_equal(got, expected), "the chunk-by-chunk skeleton is not the in-memory one"
        print(f"equal to the in-memory soft skeleton: {int(got.sum())} voxels")
        store = store_of(layer).path
        viewer.layers.remove(layer)
        assert not os.path.exists(store), store
        print("removing the layer deleted its temporary store")
        viewer.close()


if __name__ == "__main__":
    sys.exit(main())
