"""IFC building models: read, validate and place IFC files in the city (see the issue tracker)."""
