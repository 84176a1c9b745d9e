"""City-base data: the seven levels, the Wuhan reference table and the synthetic demo city.

``cim`` turns city-base data into typed, validated WGS84 records. It knows nothing of the app.
"""
