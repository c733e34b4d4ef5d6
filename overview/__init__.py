"""What spans the whole system (top floor, may import the apps): probes, the metrics scrape, dashboard and graph."""
