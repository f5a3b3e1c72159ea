"""The derivation registry (:mod:`.registry`) and the requirement items (:mod:`.requirements`).

Nothing is imported here, so that the spec check can read the items (plain data) without
loading the engine the derivations' builders use.
"""
