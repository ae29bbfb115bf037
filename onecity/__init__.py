"""OneCity: an open platform for city digital governance.

Its parts stand on a small ``core`` that every part uses and that uses none of them:

* ``onecity.hub`` – the municipal data hub (geography, base registries, catalogue, sharing);
* ``onecity.services`` – government services (一网通办);
* ``onecity.ops`` – urban operations (一网统管);
* ``onecity.sensing`` – city sensors (OGC SensorThings) and their alerts;
* ``onecity.credentials`` – verifiable certificates and their status lists;
* ``onecity.documents`` – reading scanned documents and checking them against the registries.

``api`` and ``web`` serve them, ``sim`` simulates a city to run them on, and ``cli`` is the
``onecity`` command. Which part may import which is written in pyproject.toml's import contracts.
"""

__version__ = "0.1.0"
