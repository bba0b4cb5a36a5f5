"""The bundled example models, each defined once per framework; scripts/export_models.py writes them."""
