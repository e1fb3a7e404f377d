"""CrossGuard policy packs of the ML platform (security, patching, governance): each pack's source folder, their shared
rule library (``policies.lib``), the build that assembles each into a self-contained pack folder (``policies.build``),
the analyzer-protocol harness (``policies.harness``) and the catalogue generator (``policies.catalogue``)."""
