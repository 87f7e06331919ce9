"""Fleet simulator: a road network, traffic, trucks, GPS devices and site yards, by seed.

The model parts (network, traffic, trucks, gps, yard, fleet) are pure: plain data in, plain
data out, no database and no HTTP. `history` writes their output to the database and
`live` posts it to a running server.
"""
