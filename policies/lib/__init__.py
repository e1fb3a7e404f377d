"""Shared by the packs: the rule model (``rules``), input helpers (``props``), type tokens (``types``) and the
CLI-format pack configuration reader (``packconfig``)."""
