"""The platform core: configuration, storage, identity, access policy, audit and the event bus.

Everything else in OneCity imports from here; nothing here imports from the domain parts.
"""
