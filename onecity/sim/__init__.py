"""The living city: simulated time, actors that act in it, and the run's report.

Each part of OneCity adds actors (registry life events now; applicants, hotline callers,
sensors later) to the same simulation. Actors only use the parts' public service
functions, so a simulated day exercises exactly the code a real day does.
"""
