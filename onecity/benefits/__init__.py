"""Proactive benefits (免申即享): benefit policies as decision tables over the registries, found set-wise."""
