"""Real-dataset sources: CAS-PEAL-R1, RaFD, KDEF, generic folders and CSV manifests."""
