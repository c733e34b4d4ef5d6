"""MongoDB: the clients and collection names, the indexes we declare, the health probes."""
