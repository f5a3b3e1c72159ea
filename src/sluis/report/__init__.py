"""Shared HTML rendering for every report sluis writes (X4): one base layout, Jinja2
templates shipped as package data, plots inlined as SVG so a report is one self-contained
file that opens offline (a steward's machine at a data provider has no internet)."""

from sluis.report.html import render_page, svg, write_page

__all__ = ["render_page", "svg", "write_page"]
