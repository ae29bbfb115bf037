"""The city data hub (大数据中心): geography, base registries, the data catalogue and governed sharing.

Every other part reads the city from here, and every agency's access to personal data
goes through :mod:`onecity.hub.sharing`.
"""
