"""The live city: settings, the demo build, the loaded city and the ``twin`` command line."""
