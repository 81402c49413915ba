"""The ``soft-skeleton`` argument parser (no heavy imports: ``--help`` is instant)."""

from __future__ import annotations

import argparse

from ._calibration import add_calibration_options
from ._common import (
    MAX_CANDIDATES,
    PROG,
    UsageError,
    finite_float_type,
    index_type,
    iterations_type,
    levels_type,
    memory_type,
    positive_float_type,
    positive_int_type,
    tolerance_type,
    unit_interval_type,
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that raises instead of printing usage and exiting, so
    that every error is reported as one line by :func:`main`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.endswith("required: COMMAND"):
            message = "missing command: choose 'skeletonize', 'compare', 'graph' or 'demo' (see soft-skeleton --help)"
        raise UsageError(message)


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("napari-soft-skeleton")
    except (ImportError, PackageNotFoundError):  # pragma: no cover
        from .. import __version__

        return str(__version__)


def _sample_names() -> list[str]:
    from ..samples import list_samples  # NumPy and tifffile only

    return list_samples()


def _add_choosers(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--series", type=index_type, default=None, metavar="N",
        help=f"read image series N (0, 1, ...) of a TIFF file that holds several; {what}",
    )
    parser.add_argument(
        "--channel", type=index_type, default=None, metavar="N",
        help=f"read channel N (0, 1, ...) of an RGB(A) or multi-channel TIFF; {what}",
    )


def add_fill_holes_option(parser: argparse.ArgumentParser) -> None:
    """``--fill-holes`` (``args.fill_holes``): ``skeletonize(..., fill_holes=True)``, for any command
    that skeletonizes."""
    parser.add_argument(
        "--fill-holes", action="store_true",
        help="fill the cavities of every object before skeletonizing it, so that a hollow object gives "
        "a tree instead of a closed surface around each cavity (tunnels stay loops); in a label image "
        "each label on its own, a label wholly enclosed by another being absorbed into it, as "
        "kimimaro's fill_holes does; with --per-slice the holes of each 2D slice",
    )


def _add_graph_command(sub, common: argparse.ArgumentParser) -> None:
    """``soft-skeleton graph INPUT``: the skeleton's graph, summarized and exported."""
    gr = sub.add_parser(
        "graph",
        parents=[common],
        help="branches, junctions and end points of a skeleton; CSV, SWC, GraphML",
        description=(
            "Build the graph of a skeleton - its branches, junctions, end points and loops, per object - "
            "print a summary (with cable length and, from a mask, mean radius) and write it as CSV, SWC "
            "or GraphML. INPUT is a skeleton, a mask or a label image: a skeleton (almost no interior "
            "voxels) is used as is, anything else is skeletonized first with --method, and the mask "
            "gives the radii. Lengths and radii are in the unit of the voxel spacing (the file's, or --spacing and "
            "--unit), shown in the table, the JSON ('unit') and the CSV files' 'unit' column; in voxels without one."
        ),
    )
    gr.add_argument("input", metavar="INPUT", help="skeleton, mask or label image (.tif, .tiff or .npy)")
    gr.add_argument(
        "--method", choices=("soft", "topological", "lee"), default=None,
        help="how a mask or label image is skeletonized first: 'topological' (default: keeps every "
        "object, loop and cavity), 'lee' (scikit-image) or 'soft' (clDice soft skeleton, iterated "
        "until it stops changing)",
    )
    add_fill_holes_option(gr)
    prune = gr.add_mutually_exclusive_group()
    prune.add_argument(
        "--prune", type=positive_float_type, default=None, metavar="LENGTH",
        help="remove terminal branches shorter than LENGTH (in the spacing's unit), repeatedly; loops, "
        "objects and junction voxels stay",
    )
    prune.add_argument(
        "--prune-radius", type=positive_float_type, default=None, metavar="K",
        help="remove terminal branches shorter than K times the radius at their junction (needs a "
        "mask, not a skeleton, as INPUT)",
    )
    gr.add_argument("--csv", dest="csv_path", metavar="OUT.csv", default=None,
                    help="write the branch table (one row per branch) as CSV")
    gr.add_argument("--summary-csv", dest="summary_csv_path", metavar="OUT.csv", default=None,
                    help="write the per-object summary as CSV")
    gr.add_argument("--swc", dest="swc_path", metavar="OUT.swc", default=None,
                    help="write the skeleton as SWC (one tree per connected component, physical units)")
    gr.add_argument("--graphml", dest="graphml_path", metavar="OUT.graphml", default=None,
                    help="write the graph (end points and junctions as nodes, branches as edges) as GraphML")
    add_calibration_options(gr)
    gr.add_argument("--json", action="store_true",
                    help="print the summary (and per-object rows) as JSON instead of a table")
    _add_choosers(gr, "required when the file holds several")
    gr.add_argument("-q", "--quiet", action="store_true", help="do not show a progress bar")
    gr.set_defaults(command_module="_graph")


def build_parser() -> argparse.ArgumentParser:
    """The ``soft-skeleton`` argument parser."""
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of unexpected errors")

    parser = _Parser(
        prog=PROG,
        description=(
            "Soft (clDice) and topology-preserving skeletons of tubular structures in "
            "2D and 3D images (.tif, .tiff, .npy), and skeleton comparison."
        ),
        epilog="Run 'soft-skeleton COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    sk = sub.add_parser(
        "skeletonize",
        parents=[common],
        help="skeletonize a 2D/3D image",
        description=(
            "Skeletonize a 2D or 3D image and write the skeleton with the input's voxel "
            "spacing, unit and format (OME-TIFF in, OME-TIFF out; ImageJ in, ImageJ out), or --spacing and "
            "--unit. Boolean images and integer images with one nonzero value are masks; "
            "integer images with several values are label images (each label is skeletonized "
            "on its own and keeps its id); floating-point images are probability maps in "
            "[0, 1]. With --normalize, any non-boolean image is an intensity image rescaled "
            "to [0, 1] (use it for probability maps stored as 0-255 integers)."
        ),
    )
    sk.add_argument("input", metavar="INPUT", help="input image (.tif, .tiff or .npy)")
    sk.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                    help="output file (.tif, .tiff or .npy); replaced if it exists")
    sk.add_argument(
        "--method", choices=("soft", "topological", "lee", "zhang"), default="soft",
        help="'soft': clDice soft skeleton (default); 'topological': topology-preserving "
        "thinning that keeps every object; 'lee': scikit-image's thinning (Lee et al. 1994); "
        "'zhang': scikit-image's 2D thinning",
    )
    sk.add_argument(
        "--iterations", type=iterations_type, default=10, metavar="N|auto",
        help="number of soft-skeleton iterations, or 'auto' to iterate until the skeleton at the "
        "threshold cannot change any more (default: 10)",
    )
    thr = sk.add_mutually_exclusive_group()
    thr.add_argument(
        "--threshold", type=unit_interval_type, default=None, metavar="T",
        help="a number in [0, 1]: the soft skeleton is binarized as value > T, and a probability-map "
        "input is binarized the same way before every other method (topological, lee, zhang) "
        "thins it (default: 0.5)",
    )
    thr.add_argument(
        "--no-threshold", action="store_true",
        help="write the soft skeleton as floating-point values instead of binarizing it "
        "(masks and probability maps only)",
    )
    sk.add_argument("--per-slice", action="store_true",
                    help="skeletonize each 2D slice along axis 0 of a 3D image separately "
                    "(no effect on 2D images)")
    add_fill_holes_option(sk)
    sk.add_argument("--keep-spurs", action="store_true",
                    help="--method topological: keep the short branches that surface bumps grow (default: "
                    "prune them, keeping the topology)")
    sk.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
        help="torch device for the soft and topological skeletons (default: auto: CUDA, then MPS, then the CPU)",
    )
    sk.add_argument(
        "--normalize", action="store_true",
        help="treat the input as an intensity image and rescale it linearly to [0, 1] "
        "(min to 0, max to 1): for integer probability maps (0-255) and float images "
        "outside [0, 1]",
    )
    add_calibration_options(sk)
    _add_choosers(sk, "required when the file holds several")
    cluster = sk.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=positive_int_type, default=None, metavar="N",
                         help="Zarr in and out only: compute the chunks on a local dask.distributed cluster of "
                         "N single-threaded worker processes (default: dask's threads in this process)")
    cluster.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="Zarr in and out only: compute the chunks on the running dask.distributed "
                         "cluster at ADDRESS (e.g. tcp://10.0.0.5:8786); its workers must reach both stores")
    sk.add_argument("--levels", type=levels_type, default=None, metavar="N|auto",
                    help="Zarr output: the OME-Zarr pyramid's coarser levels, each 2x smaller (max of each "
                    "2x block, so thin lines stay visible); 'auto' (default): until every axis is 256 or less; "
                    "0: level 0 only")
    sk.add_argument("--zarr-format", type=int, choices=(2, 3), default=2,
                    help="Zarr output: 2 (OME-Zarr 0.4, default: the most widely read) or 3 (OME-Zarr 0.5)")
    sk.add_argument("--memory-limit", type=memory_type, default=None, metavar="SIZE",
                    help="Zarr in and out only: the memory the run may use, e.g. 2GB or 500MB (task sizes "
                    "and each --workers worker's limit follow it; default: no limit)")
    sk.add_argument("-q", "--quiet", action="store_true", help="do not show a progress bar")
    sk.set_defaults(command_module="_skeletonize")

    cmp_ = sub.add_parser(
        "compare",
        parents=[common],
        help="compare two skeletons",
        description=(
            "Compare skeleton B (candidate) with skeleton A (reference): precision (share "
            "of B within the tolerance of A), recall (share of A within the tolerance of "
            "B), F1, Betti numbers and per-slice statistics along axis 0. Several candidates "
            "(B C ...) are each compared with A and shown side by side in one table and one "
            "figure. Nonzero voxels are skeleton voxels; floating-point files must contain "
            "only 0 and 1. A may be an SWC file: its tree, clipped to the volume, is the reference "
            "(recall is then the share of its cable length near B), and cable length, tips, branch "
            "points and branches are compared too. Distances and lengths are in A's spacing unit (or B's "
            "for an SWC A); a candidate whose spacing is in another unit (nm vs µm) is converted to it."
        ),
    )
    cmp_.add_argument("a", metavar="A", help="reference skeleton (.tif, .tiff or .npy), or a traced tree (.swc: "
                      "then also cable length, tips, branch points and branches; see --swc-scale)")
    cmp_.add_argument(
        "b", metavar="B", nargs="+",
        help="candidate skeleton, same shape as A; give several (e.g. the soft and the topological "
        f"skeleton, at most {MAX_CANDIDATES}) to compare each with A and see them side by side",
    )
    cmp_.add_argument("--mask", metavar="M", default=None,
                      help="region of interest (same shape); only voxels where M is nonzero count")
    cmp_.add_argument(
        "--tolerance", type=tolerance_type, default=None, metavar="T",
        help="matching distance, in the unit of A's voxel spacing (A's file's, or --spacing and --unit) "
        "when there is one, else in voxels (default: 1.5 times the largest voxel spacing, i.e. 1.5 voxels "
        "on isotropic data and one step along the coarsest axis on anisotropic data)",
    )
    cmp_.add_argument("--json", dest="json_path", metavar="OUT.json", default=None,
                      help="write all results (including per-slice arrays) as JSON")
    cmp_.add_argument(
        "--figure", dest="figure_path", metavar="OUT.png", default=None,
        help="draw projections, each candidate's difference with A at the tolerance and per-slice "
        "curves (.png, .pdf or .svg)",
    )
    cmp_.add_argument(
        "--swc-scale", type=positive_float_type, default=None, metavar="S",
        help="with a .swc reference A: multiply its coordinates by S (after --swc-origin) to reach the "
        "candidates' spacing units, e.g. 0.008 for 8 nm voxels in µm (default: 1; an SWC's x, y, z "
        "are voxel index (z, y, x) times the spacing)",
    )
    cmp_.add_argument(
        "--swc-origin", type=finite_float_type, nargs=3, default=None, metavar=("X", "Y", "Z"),
        help="with a .swc reference A: the SWC coordinates of voxel (0, 0, 0), subtracted first",
    )
    add_calibration_options(cmp_, "every file's")
    _add_choosers(cmp_, "the same for every file")
    cmp_.set_defaults(command_module="_compare")
    _add_graph_command(sub, common)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="open napari on a sample with the widgets (or, without a display, run the CLI on it)",
        description=(
            "Open napari on a sample volume with the plugin's widgets docked. On a machine "
            "without a display, skeletonize the sample with the soft, Lee and topological "
            "methods and compare them instead, writing the results to --out. "
            f"Samples: {', '.join(_sample_names())}."
        ),
    )
    demo.add_argument("--sample", default="vessel_256", metavar="NAME",
                      help=f"sample name, one of: {', '.join(_sample_names())} (default: vessel_256)")
    demo.add_argument("--out", default="out", help="output folder without a display (default: out)")
    demo.add_argument("--no-gui", action="store_true", help="run the command-line job even with a display")
    demo.add_argument("-q", "--quiet", action="store_true", help="do not show progress bars")
    demo.set_defaults(command_module="_demo")
    return parser


