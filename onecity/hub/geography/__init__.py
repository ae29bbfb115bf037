"""Administrative geography below the reference divisions: outlines, communities, villages, unit grids."""
