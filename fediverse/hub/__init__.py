"""The national hub: following libraries, mirroring their polls, national totals.

A hub is the same software with `role = "hub"`. The library side of the
relationship (reporting counts to the hubs, adopting a national poll) lives
here too, so that everything between hub and libraries is in one package.
"""
