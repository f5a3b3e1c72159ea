"""Delivery (G8): the plaintext package of a treated extract, its codebook and exports, and
the privacy scan every package passes before it is encrypted and sent.

:func:`build_package` writes the BagIt-compatible package (Parquet, Stata, CSV, codebook in
three renderings, README, SCRA report, spec digest, manifests) atomically and reproducibly;
:func:`verify_package` checks it against its manifests; :func:`scan_package` looks for
anything that identifies a person. Layout and choices: ``docs/delivery.md``.
"""

from sluis.deliver.codebook import Category, Codebook, DatasetDoc, VariableDoc, build_codebook
from sluis.deliver.package import (
    PackageInfo,
    build_package,
    package_name,
    read_bag_info,
    read_manifest,
    sha256_file,
    verify_package,
)
from sluis.deliver.scan import Finding, scan_package

__all__ = [
    "Category",
    "Codebook",
    "DatasetDoc",
    "Finding",
    "PackageInfo",
    "VariableDoc",
    "build_codebook",
    "build_package",
    "package_name",
    "read_bag_info",
    "read_manifest",
    "scan_package",
    "sha256_file",
    "verify_package",
]
