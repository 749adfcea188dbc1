"""Routing: the pure vehicle-routing solver (solver.py), its independent checker and benchmark."""
