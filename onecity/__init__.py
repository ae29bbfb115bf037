"""OneCity: an open platform for city digital governance.

Three parts stand on a small ``core`` that every part uses and that uses none of them:

* ``onecity.hub`` – the municipal data hub (geography, base registries, catalogue, sharing);
* ``onecity.services`` – government services (一网通办);
* ``onecity.operations`` – urban operations (一网统管).
"""

__version__ = "0.1.0"
