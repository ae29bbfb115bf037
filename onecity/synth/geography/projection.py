"""A local equal-area plane for Shanghai, so that generated outlines have honest areas and shapes.

Longitude/latitude degrees are not square at 31° N (a degree of longitude is 15 % shorter
than a degree of latitude), so a Voronoi diagram drawn in degrees would stretch every cell,
and degree² is no area. The generator therefore works on the sinusoidal projection of the
authalic sphere centred on Shanghai's meridian: it is exactly equal-area (areas in km² are
true on that sphere, within 0.3 % of the WGS 84 ellipsoid at this latitude), its
distortion over the city's one degree of longitude is small, and its inverse is closed
form, so no projection library is needed. Coordinates are kilometres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

#: Radius (km) of the sphere with the same surface area as the WGS 84 ellipsoid.
AUTHALIC_RADIUS_KM = 6371.0072
#: Central meridian: through the middle of Shanghai, where the projection has no distortion.
CENTRAL_MERIDIAN = 121.45

_K = np.pi / 180.0 * AUTHALIC_RADIUS_KM

Coords = npt.NDArray[np.float64]


def forward_coords(lonlat: Coords) -> Coords:
    """(lon, lat) degrees → (x, y) km, for an (N, 2) array."""
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    x = (lon - CENTRAL_MERIDIAN) * _K * np.cos(np.radians(lat))
    y = lat * _K
    return np.column_stack([x, y])


def inverse_coords(xy: Coords) -> Coords:
    """(x, y) km → (lon, lat) degrees, for an (N, 2) array."""
    lat = xy[:, 1] / _K
    lon = CENTRAL_MERIDIAN + xy[:, 0] / (_K * np.cos(np.radians(lat)))
    return np.column_stack([lon, lat])


def to_plane(geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Geometries in lon/lat → the same geometries in the km plane."""
    return np.asarray(shapely.transform(geoms, forward_coords))


def to_lonlat(geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Geometries in the km plane → lon/lat. Shared vertices map to identical coordinates,
    so outlines that partition an area in the plane still partition it in lon/lat."""
    return np.asarray(shapely.transform(geoms, inverse_coords))
